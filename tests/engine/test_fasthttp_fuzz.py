"""Fuzzing the fast HTTP client's response parser (hypothesis) for crashes and hangs.

Each example is a real exchange over loopback TCP: a server on 127.0.0.1 reads the request,
writes the generated response in the generated pieces (so that the parser sees every split of
its input) and closes the connection. The client must then end with a response or a
`FastHTTPError`: any other exception is a crash, and not ending once the server has closed is a
hang (caught by a generous overall timeout, never a timing threshold). Well-formed responses are
also checked differentially: the body read must be the body sent.
"""

from __future__ import annotations

import asyncio
import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mobu.storage.fasthttp import FastHTTPClient
from mobu.storage.httpwire import FastHTTPError, FastResponse

from .test_fasthttp import read_request

HANG = 60.0
"""Seconds after which an exchange whose server has closed counts as a hang."""

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


async def _exchange(pieces: list[bytes], max_body: int) -> FastResponse | FastHTTPError:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await read_request(reader)
            for piece in pieces:
                writer.write(piece)
                await writer.drain()
        except ConnectionError:
            pass  # The client gave up early (a malformed head): fine.
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = FastHTTPClient(max_body=max_body)
    try:
        async with asyncio.timeout(HANG):
            return await client.request("GET", f"http://127.0.0.1:{port}/")
    except FastHTTPError as exc:
        return exc
    finally:
        await client.aclose()
        server.close()
        await server.wait_closed()


def _run(pieces: list[bytes], max_body: int = 4096) -> FastResponse | FastHTTPError:
    return asyncio.run(_exchange(pieces, max_body))


def _split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in itertools.pairwise(points) if b > a] or [b""]


STATUS = st.sampled_from(
    [b"HTTP/1.1 200 OK", b"HTTP/1.0 200 OK", b"HTTP/1.1 204 No Content", b"HTTP/1.1 304 x",
     b"HTTP/1.1 100 Continue", b"HTTP/1.1 101 Switching", b"HTTP/1.1 999", b"HTTP/1.1 20",
     b"HTTP/2 200", b"HTTP/1.1 200", b"http/1.1 200 OK", b""]
)  # fmt: skip
HEADER = st.one_of(
    st.tuples(
        st.sampled_from([b"Content-Length", b"Transfer-Encoding", b"Connection", b"X-A", b""]),
        st.sampled_from([b"0", b"5", b"-1", b"chunked", b"gzip, chunked", b"close", b" 3 ",
                         b"keep-alive", b"1" * 30, b"\xff", b"5, 5"]),
    ).map(lambda nv: nv[0] + b": " + nv[1]),
    st.binary(max_size=40),
)  # fmt: skip
CHUNKED = st.lists(
    st.one_of(
        st.binary(max_size=30).map(lambda b: b"%x\r\n%s\r\n" % (len(b), b)),
        st.sampled_from([b"0\r\n\r\n", b"0\r\nX-T: 1\r\n\r\n", b"zz\r\n", b"ffffffffffffffffff\r\n",
                         b"5;ext=1\r\nhello\r\n", b"\r\n", b"1000\r\n"]),
    ),
    max_size=6,
).map(b"".join)  # fmt: skip


@st.composite
def responses(draw: st.DrawFn) -> bytes:
    """A response-shaped byte string: plausible heads, framing and bodies, then mutated."""
    head = (
        draw(STATUS) + b"\r\n" + b"".join(h + b"\r\n" for h in draw(st.lists(HEADER, max_size=6)))
    )
    data = head + b"\r\n" + draw(st.one_of(CHUNKED, st.binary(max_size=200)))
    data *= draw(st.integers(1, 2))  # Sometimes two responses (pipelined garbage).
    for index, byte in draw(st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)),
                                     max_size=3)):  # fmt: skip
        position = index % (len(data) + 1)
        data = data[:position] + bytes([byte]) + data[position + 1 :]
    return data


@FUZZ
@given(data=responses(), cuts=st.lists(st.integers(0, 10_000), max_size=5))
def test_parser_never_crashes_or_hangs(data: bytes, cuts: list[int]) -> None:
    """Response-shaped input, split anywhere, ends in a response or a FastHTTPError."""
    result = _run(_split(data, cuts))
    assert isinstance(result, FastResponse | FastHTTPError)
    if isinstance(result, FastResponse):
        assert len(result.body) <= 4096


@FUZZ
@given(data=st.binary(max_size=600), cuts=st.lists(st.integers(0, 1000), max_size=4))
def test_parser_on_random_bytes(data: bytes, cuts: list[int]) -> None:
    """Arbitrary bytes (after a valid status line half the time) never crash or hang."""
    for prefix in (b"", b"HTTP/1.1 200 OK\r\n"):
        result = _run(_split(prefix + data, cuts))
        assert isinstance(result, FastResponse | FastHTTPError)


@FUZZ
@given(
    body=st.binary(max_size=3000),
    sizes=st.lists(st.integers(1, 700), min_size=1, max_size=8),
    chunked=st.booleans(),
    trailer=st.booleans(),
    cuts=st.lists(st.integers(0, 10_000), max_size=6),
)
def test_well_formed_bodies_read_exactly(
    body: bytes, sizes: list[int], chunked: bool, trailer: bool, cuts: list[int]
) -> None:
    """A valid Content-Length or chunked response, split anywhere, yields exactly its body."""
    if chunked:
        parts, rest = [], body
        while rest:
            size = sizes[len(parts) % len(sizes)]
            parts.append(b"%x\r\n%s\r\n" % (len(rest[:size]), rest[:size]))
            rest = rest[size:]
        end = b"0\r\nX-Sum: %d\r\n\r\n" % len(body) if trailer else b"0\r\n\r\n"
        data = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + b"".join(parts) + end
    else:
        data = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
    result = _run(_split(data, cuts))
    assert isinstance(result, FastResponse), result
    assert (result.status, result.body) == (200, body)
    if chunked and trailer:
        assert result.trailers == [("x-sum", str(len(body)))]
