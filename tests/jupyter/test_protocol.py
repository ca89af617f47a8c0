"""Both framings of the kernel websocket, decoded and encoded without a server."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mobu.storage.jupyter import JupyterProtocolError, strip_ansi
from mobu.storage.jupyter.protocol import (
    KernelMessage,
    decode_message,
    encode_message,
    execute_request,
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=10,
)


@given(
    channel=st.sampled_from(["shell", "iopub", "control", "stdin"]),
    content=st.dictionaries(st.text(), json_values, max_size=4),
    buffers=st.lists(st.binary(max_size=20), max_size=2),
    binary=st.booleans(),
)
def test_round_trip(
    channel: str, content: dict[str, object], buffers: list[bytes], binary: bool
) -> None:
    """Any kernel message survives encoding and decoding in both framings."""
    message = KernelMessage(
        channel=channel,
        header={"msg_id": "a", "msg_type": "t"},
        parent_header={"msg_id": "p"},
        metadata={},
        content=content,
        buffers=buffers if binary else [],
    )
    decoded = decode_message(encode_message(message, binary=binary))
    assert decoded == message
    assert decoded.parent_id == "p"


def test_v1_frame_with_trailing_end_offset() -> None:
    """A v1 binary frame with a trailing end offset decodes."""
    parts = [b"iopub", *(json.dumps(x).encode() for x in ({"msg_type": "s"}, {}, {}, {"a": 1}))]
    offsets = [8 * (len(parts) + 2)]
    for part in parts:
        offsets.append(offsets[-1] + len(part))
    frame = b"".join(n.to_bytes(8, "little") for n in [len(offsets), *offsets]) + b"".join(parts)
    message = decode_message(frame)
    assert (message.channel, message.msg_type, message.content, message.buffers) == (
        "iopub",
        "s",
        {"a": 1},
        [],
    )


@pytest.mark.parametrize(
    "frame",
    [b"", b"\x01" + b"\x00" * 7, (100).to_bytes(8, "little") + b"x" * 16, "not json", "[1, 2]"],
)
def test_garbage_is_a_protocol_error(frame: bytes | str) -> None:
    """An unparsable frame raises JupyterProtocolError."""
    with pytest.raises(JupyterProtocolError, match="Unparsable"):
        decode_message(frame)


def test_execute_request_fields() -> None:
    """An execute_request has the shell channel, session and code, and no stdin."""
    request = execute_request("print(1)", "sess", "bot-mobu-x")
    assert request.channel == "shell"
    assert request.header["msg_type"] == "execute_request"
    assert request.header["session"] == "sess"
    assert request.content["code"] == "print(1)"
    assert request.content["allow_stdin"] is False


def test_strip_ansi() -> None:
    """strip_ansi removes terminal colour codes."""
    coloured = "\x1b[0;31mZeroDivisionError\x1b[0m: division by zero\x1b[39m"
    assert strip_ansi(coloured) == "ZeroDivisionError: division by zero"
