"""Jupyter messaging protocol over the kernel websocket: messages and both framings.

Two wire formats exist for ``/api/kernels/<id>/channels``:

* ``v1.kernel.websocket.jupyter.org`` (negotiated as a websocket subprotocol): binary frames
  made of a little-endian u64 count ``n``, ``n`` u64 offsets, then the channel name, the header,
  parent header, metadata and content as JSON, then any binary buffers;
* the legacy protocol (no subprotocol): one JSON text frame per message with a ``channel`` key.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from mobu.storage.jupyter.errors import JupyterProtocolError

__all__ = [
    "V1_SUBPROTOCOL",
    "KernelMessage",
    "decode_message",
    "encode_message",
    "execute_request",
]

V1_SUBPROTOCOL = "v1.kernel.websocket.jupyter.org"
"""Websocket subprotocol of the binary framing."""

_PARTS = ("header", "parent_header", "metadata", "content")
_U64 = 8


@dataclass(slots=True)
class KernelMessage:
    """One Jupyter message as seen on the websocket."""

    channel: str
    header: dict[str, Any]
    parent_header: dict[str, Any]
    metadata: dict[str, Any] = field(default_factory=dict)
    content: dict[str, Any] = field(default_factory=dict)
    buffers: list[bytes] = field(default_factory=list)

    @property
    def msg_type(self) -> str:
        """Type of the message (``stream``, ``execute_reply``, ...)."""
        return str(self.header.get("msg_type", ""))

    @property
    def parent_id(self) -> str | None:
        """``msg_id`` of the request this message answers, if any."""
        value = self.parent_header.get("msg_id") if self.parent_header else None
        return str(value) if value is not None else None


def execute_request(code: str, session: str, username: str) -> KernelMessage:
    """Build an ``execute_request`` for the shell channel (protocol version 5.4)."""
    return KernelMessage(
        channel="shell",
        header={
            "msg_id": uuid.uuid4().hex,
            "msg_type": "execute_request",
            "session": session,
            "username": username,
            "version": "5.4",
            "date": datetime.now(tz=UTC).isoformat(),
        },
        parent_header={},
        metadata={},
        content={
            "code": code,
            "silent": False,
            "store_history": False,
            "user_expressions": {},
            "allow_stdin": False,
            "stop_on_error": False,  # one request at a time: nothing queued to abort
        },
    )


def encode_message(message: KernelMessage, *, binary: bool) -> bytes | str:
    """Encode ``message`` as a v1 binary frame or a legacy JSON text frame."""
    if not binary:
        return json.dumps(
            {
                "channel": message.channel,
                "header": message.header,
                "parent_header": message.parent_header,
                "metadata": message.metadata,
                "content": message.content,
                "buffers": [],
            }
        )
    parts = [message.channel.encode()]
    parts.extend(json.dumps(getattr(message, name)).encode() for name in _PARTS)
    parts.extend(message.buffers)
    count = len(parts) + 1
    offsets = [_U64 * (count + 1)]
    for part in parts:
        offsets.append(offsets[-1] + len(part))
    head = b"".join(n.to_bytes(_U64, "little") for n in [count, *offsets])
    return head + b"".join(parts)


def decode_message(frame: bytes | str) -> KernelMessage:
    """Decode a frame of either framing.

    Raises
    ------
    JupyterProtocolError
        The frame is not a Jupyter message.
    """
    try:
        if isinstance(frame, str):
            return _decode_json(frame)
        return _decode_binary(frame)
    except (ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
        raise JupyterProtocolError(f"Unparsable kernel message: {exc}") from exc


def _decode_json(frame: str) -> KernelMessage:
    data = json.loads(frame)
    if not isinstance(data, dict):
        raise TypeError("a JSON frame must be an object")
    return KernelMessage(
        channel=str(data.get("channel", "")),
        header=data["header"],
        parent_header=data.get("parent_header") or {},
        metadata=data.get("metadata") or {},
        content=data.get("content") or {},
    )


def _decode_binary(frame: bytes) -> KernelMessage:
    view = memoryview(frame)
    count = int.from_bytes(view[:_U64], "little")
    if count < 5 or len(frame) < _U64 * (count + 1):
        raise ValueError(f"bad offset table of {count} entries")
    offsets = [
        int.from_bytes(view[_U64 * (i + 1) : _U64 * (i + 2)], "little") for i in range(count)
    ]
    if offsets[-1] != len(frame):  # the table may or may not end with the frame's length
        offsets.append(len(frame))
    if offsets != sorted(offsets) or offsets[-1] > len(frame):
        raise ValueError("offsets out of order or past the end of the frame")
    chunks = [bytes(view[offsets[i] : offsets[i + 1]]) for i in range(len(offsets) - 1)]
    if len(chunks) < 5:
        raise ValueError(f"{len(chunks)} parts, expected at least 5")
    decoded = [json.loads(chunk) for chunk in chunks[1:5]]
    return KernelMessage(
        channel=chunks[0].decode(),
        header=decoded[0],
        parent_header=decoded[1] or {},
        metadata=decoded[2] or {},
        content=decoded[3] or {},
        buffers=chunks[5:],
    )
