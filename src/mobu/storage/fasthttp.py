"""A small, fast HTTP/1.1 client for the common case of HTTPCheck.

One asyncio `~asyncio.Protocol` per connection and a keep-alive pool per (scheme, host, port),
shared by every monkey of the process. The client sends no ``Accept-Encoding``, so response
bodies arrive uncompressed; it does not follow redirects or keep cookies, and it refuses (with a
clear error) a URL for which the environment sets a proxy. Use aiohttp for anything more exotic.

It faces every server mobu checks, so it parses like a parser facing the internet: the status
line, the number and size of header fields, the head and the body are bounded (`httpwire`
limits, ``max_body``), a response with both Content-Length and Transfer-Encoding is refused, and
TLS verifies the certificate and host name unless given a context that does not.

A request that fails or is cancelled (stop, timeout) closes its connection: only connections
that finished a response cleanly return to the pool. Idle connections close after
``keepalive`` seconds. A request on a reused connection that the server closed while it was
idle is retried once on a fresh connection, only for idempotent methods and only when no byte
of the response arrived.
"""

from __future__ import annotations

import asyncio
import ssl

import yarl

from mobu.storage.httpwire import (
    IDEMPOTENT,
    MAX_BODY_BYTES,
    MAX_INTERIM_RESPONSES,
    FastHTTPConnectionError,
    FastHTTPProtocolError,
    FastRequest,
    FastResponse,
    PoolKey,
    block_end,
    framing,
    head_end,
    header_fields,
    serialize_request,
    status_line,
)

__all__ = ["FastHTTPClient"]

_HEX = b"0123456789abcdefABCDEF"
_HEAD, _LENGTH, _CHUNK_SIZE, _CHUNK_DATA, _TRAILERS, _UNTIL_CLOSE, _DONE = range(7)

_Key = PoolKey


class _Connection(asyncio.Protocol):
    """One HTTP/1.1 connection: sends a request, parses its response."""

    __slots__ = (
        "_body", "_buf", "_chunk_left", "_head_only", "_interim", "_pool", "_response", "_state",
        "_timer", "_waiter", "closed", "idle_since", "key", "received", "reusable", "transport",
    )  # fmt: skip

    def __init__(self, pool: FastHTTPClient, key: _Key) -> None:
        self._pool = pool
        self.key = key
        self.transport: asyncio.Transport | None = None
        self._buf = bytearray()
        self._body = bytearray()
        self._waiter: asyncio.Future[FastResponse] | None = None
        self._response: FastResponse | None = None
        self._state = _DONE
        self._chunk_left = 0
        self._interim = 0
        self._head_only = False
        self._timer: asyncio.TimerHandle | None = None
        self.closed = False
        self.received = False
        self.reusable = True
        self.idle_since = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._pool._forget(self)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        waiter = self._waiter
        if waiter is None or waiter.done():
            pass
        elif self._state == _UNTIL_CLOSE:
            self._finish()
        else:
            reason = f"server closed the connection before the response{f': {exc}' if exc else ''}"
            waiter.set_exception(FastHTTPConnectionError(reason))

    def eof_received(self) -> bool | None:
        self.reusable = False
        self._pool._forget(self)  # Gone from the pool now, before connection_lost runs.
        return None

    def close(self) -> None:
        """Close the connection (it never returns to the pool)."""
        self.reusable = False
        if not self.closed:
            self.closed = True
            self._pool._forget(self)
            if self.transport is not None:
                self.transport.close()

    def exchange(self, data: bytes, *, head: bool) -> asyncio.Future[FastResponse]:
        """Send a request; the future completes with its response."""
        assert self.transport is not None
        self._waiter = waiter = asyncio.get_running_loop().create_future()
        self._state = _HEAD
        self._head_only = head
        self._interim = 0
        self.received = False
        self._buf.clear()
        self._body.clear()
        self.transport.write(data)
        return waiter

    def data_received(self, data: bytes) -> None:
        waiter = self._waiter
        if waiter is None or waiter.done():  # Unsolicited bytes: the stream is out of sync.
            self.close()
            return
        self.received = True
        self._buf += data
        try:
            self._parse()
        except FastHTTPProtocolError as exc:
            waiter.set_exception(exc)
            self.close()

    def _parse(self) -> None:
        buf = self._buf
        while True:
            state = self._state
            if state == _HEAD:
                end = head_end(buf)
                if end < 0:
                    return
                head = buf[:end].decode("latin-1")
                del buf[: end + 4]
                self._start(head)
            elif state == _LENGTH:
                if len(buf) < self._chunk_left:
                    return
                self._body += buf[: self._chunk_left]
                self._done(self._chunk_left)
                return
            elif state == _CHUNK_SIZE:
                end = buf.find(b"\r\n")
                if end < 0:
                    if len(buf) > 1024:
                        raise FastHTTPProtocolError("chunk size line too long")
                    return
                line = bytes(buf[:end]).split(b";", 1)[0].strip()
                if not line or line.strip(_HEX) or len(line) > 15:
                    raise FastHTTPProtocolError(f"malformed chunk size {line[:40]!r}")
                self._chunk_left = size = int(line, 16)
                self._limit(size, "chunked body")
                del buf[: end + 2 if size else end]  # The last one keeps its CRLF for TRAILERS.
                self._state = _CHUNK_DATA if size else _TRAILERS
            elif state == _CHUNK_DATA:
                left = self._chunk_left
                if len(buf) < left + 2:
                    return
                if buf[left : left + 2] != b"\r\n":
                    raise FastHTTPProtocolError("chunk not followed by CRLF")
                self._body += buf[:left]
                del buf[: left + 2]
                self._state = _CHUNK_SIZE
            elif state == _TRAILERS:  # CRLF, trailer lines each ending in CRLF, CRLF
                end = block_end(buf, "trailers")
                if end < 0:
                    return
                if end:
                    assert self._response is not None
                    self._response.trailers = header_fields(
                        buf[2:end].decode("latin-1").split("\r\n")
                    )
                self._done(end + 4)
                return
            else:  # _UNTIL_CLOSE collects everything; _DONE is guarded by data_received.
                self._body += buf
                buf.clear()
                self._limit(0, "body")
                return

    def _limit(self, more: int, what: str) -> None:
        if len(self._body) + more > self._pool.max_body:
            raise FastHTTPProtocolError(
                f"{what} over the body limit of {self._pool.max_body} bytes"
            )

    def _start(self, head: str) -> None:
        """Parse a response head and choose how to read the body."""
        lines = head.split("\r\n")
        version, status, reason = status_line(lines[0])
        headers = header_fields(lines[1:])
        if 100 <= status < 200 and status != 101:
            # Interim response (100 Continue, 103 Early Hints): the real one follows.
            self._interim += 1
            if self._interim > MAX_INTERIM_RESPONSES:
                raise FastHTTPProtocolError(f"more than {MAX_INTERIM_RESPONSES} 1xx responses")
            return
        self._response = FastResponse(status, reason, headers)
        frame = framing(version, headers)
        if not frame.keep_alive or status == 101:
            self.reusable = False
        if self._head_only or status in (101, 204, 304):
            if self._buf:
                self.reusable = False
            self._finish()
        elif frame.chunked:
            self._state = _CHUNK_SIZE
        elif frame.length is not None:
            if frame.length > self._pool.max_body:
                raise FastHTTPProtocolError(
                    f"Content-Length {frame.length} over the body limit of"
                    f" {self._pool.max_body} bytes"
                )
            self._chunk_left = frame.length
            self._state = _LENGTH
        else:
            self.reusable = False
            self._state = _UNTIL_CLOSE

    def _done(self, used: int) -> None:
        """Finish the response that ends after ``used`` bytes of the buffer."""
        if len(self._buf) > used:  # More than the response: the stream is out of sync.
            self.reusable = False
        self._buf.clear()
        self._finish()

    def _finish(self) -> None:
        self._state = _DONE
        response, waiter = self._response, self._waiter
        assert response is not None
        assert waiter is not None
        response.body = bytes(self._body)
        self._body.clear()
        self._response = None
        if not waiter.done():
            waiter.set_result(response)

    def park(self, keepalive: float) -> None:
        """Mark the connection idle; it closes after ``keepalive`` seconds unused."""
        self._waiter = None
        loop = asyncio.get_running_loop()
        self.idle_since = loop.time()
        if self._timer is None:  # One timer per connection, re-armed lazily when it fires.
            self._timer = loop.call_later(keepalive, self._expire, keepalive)

    def _expire(self, keepalive: float) -> None:
        self._timer = None
        if self.closed or self._waiter is not None:
            return  # In use: the next park arms a new timer.
        left = self.idle_since + keepalive - asyncio.get_running_loop().time()
        if left > 0.001:
            self._timer = asyncio.get_running_loop().call_later(left, self._expire, keepalive)
        else:
            self.close()


class FastHTTPClient:
    """Keep-alive HTTP/1.1 client with one connection pool per (scheme, host, port).

    Parameters
    ----------
    ssl_context
        Context for ``https`` URLs (server name indication uses the URL's host). The default,
        `ssl.create_default_context`, verifies the certificate chain and the host name.
    keepalive
        Seconds an idle connection stays open.
    max_body
        Largest response body accepted, in bytes; a larger one fails the request.
    """

    def __init__(
        self,
        *,
        ssl_context: ssl.SSLContext | None = None,
        keepalive: float = 15.0,
        max_body: int = MAX_BODY_BYTES,
    ) -> None:
        self._ssl = ssl_context
        self._keepalive = keepalive
        self.max_body = max_body
        self._idle: dict[_Key, dict[_Connection, None]] = {}
        self._busy: set[_Connection] = set()

    @property
    def idle_connections(self) -> int:
        """Number of open idle connections in the pools."""
        return sum(len(idle) for idle in self._idle.values())

    def prepare(
        self,
        method: str,
        url: str | yarl.URL,
        *,
        headers: dict[str, str] | None = None,
        body: str | bytes | None = None,
    ) -> FastRequest:
        """Serialize a request once (a str body is UTF-8 ``text/plain`` unless typed)."""
        return serialize_request(method, url, headers=headers, body=body)

    async def request(
        self,
        method: str,
        url: str | yarl.URL,
        *,
        headers: dict[str, str] | None = None,
        body: str | bytes | None = None,
        timeout: float | None = None,
    ) -> FastResponse:
        """Send one request and return the complete response (redirects not followed).

        Raises
        ------
        FastHTTPConnectionError
            The connection failed or was lost.
        FastHTTPProtocolError
            The response was malformed.
        TimeoutError
            ``timeout`` seconds passed; the connection is closed.
        """
        prepared = self.prepare(method, url, headers=headers, body=body)
        async with asyncio.timeout(timeout):
            return await self.send(prepared)

    async def send(self, request: FastRequest) -> FastResponse:
        """Send a prepared request; see `request` (wrap in `asyncio.timeout` to bound it)."""
        if request.proxy is not None:
            raise FastHTTPConnectionError(
                f"{request.proxy} in the environment sets a proxy for {request.url.host}; the"
                " fast client does not use proxies (add the host to NO_PROXY to connect directly)"
            )
        head = request.method == "HEAD"
        conn, reused = await self._acquire(request.key)
        while True:
            try:
                response = await conn.exchange(request.data, head=head)
                break
            except FastHTTPConnectionError:
                conn.close()
                if not (reused and not conn.received and request.method in IDEMPOTENT):
                    raise
            except BaseException:  # Cancelled, timed out or malformed: never reuse.
                conn.close()
                raise
            conn, reused = await self._acquire(request.key, fresh=True)  # The one retry.
        self._busy.discard(conn)
        if conn.reusable and not conn.closed:
            self._idle.setdefault(conn.key, {})[conn] = None
            conn.park(self._keepalive)
        else:
            conn.close()
        return response

    async def _acquire(self, key: _Key, *, fresh: bool = False) -> tuple[_Connection, bool]:
        idle = self._idle.get(key)
        if idle and not fresh:
            conn, _ = idle.popitem()  # Most recently used first: the others can expire.
            self._busy.add(conn)
            return conn, True
        scheme, host, port = key
        loop = asyncio.get_running_loop()
        context: ssl.SSLContext | None = None
        if scheme == "https":
            if self._ssl is None:
                self._ssl = ssl.create_default_context()  # Verifies chain and host name.
            context = self._ssl
        try:
            _, conn = await loop.create_connection(
                lambda: _Connection(self, key),
                host,
                port,
                ssl=context,
                server_hostname=host if context else None,
            )
        except OSError as exc:  # Includes ssl.SSLError and socket.gaierror.
            raise FastHTTPConnectionError(f"cannot connect to {host}:{port}: {exc}") from exc
        self._busy.add(conn)
        return conn, False

    def _forget(self, conn: _Connection) -> None:
        self._busy.discard(conn)
        idle = self._idle.get(conn.key)
        if idle is not None:
            idle.pop(conn, None)

    async def aclose(self) -> None:
        """Close every connection, idle or in use."""
        for conn in [c for idle in self._idle.values() for c in idle] + list(self._busy):
            conn.close()
        self._idle.clear()
