"""The fast HTTP/1.1 client against real local servers (aiohttp.web and raw asyncio)."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from mobu.exceptions import InvalidOptionsError
from mobu.identity import AnonymousIdentity
from mobu.models.solitary import SolitaryConfig
from mobu.registry import BusinessRegistry
from mobu.services.builder import MonkeyBuilder
from mobu.services.resources import BusinessServices
from mobu.services.solitary import run_solitary
from mobu.storage.fasthttp import FastHTTPClient
from mobu.storage.httpwire import MAX_HEADER_BYTES, FastHTTPConnectionError, FastHTTPProtocolError

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter, int], Awaitable[None]]


async def read_request(reader: asyncio.StreamReader) -> bytes:
    """Read one request head and its Content-Length body; b"" at end of stream."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return b""
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            head += await reader.readexactly(int(line.split(b":")[1]))
    return head


class RawServer:
    """An asyncio server whose handler scripts each connection byte by byte."""

    def __init__(self, handler: Handler, ssl_context: ssl.SSLContext | None = None) -> None:
        self.handler = handler
        self.ssl_context = ssl_context
        self.connections = 0
        self.eof = asyncio.Event()
        self.port = 0
        self._server: asyncio.Server | None = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            await self.handler(reader, writer, self.connections)
        finally:
            writer.close()

    async def __aenter__(self) -> RawServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.ssl_context)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()

    def url(self, path: str = "/", host: str = "127.0.0.1", scheme: str = "http") -> str:
        return f"{scheme}://{host}:{self.port}{path}"


async def keep_alive_ok(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Answer every request of the connection with a small 200."""
    while await read_request(reader):
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")


@pytest.fixture
async def client() -> AsyncIterator[FastHTTPClient]:
    client = FastHTTPClient()
    yield client
    await client.aclose()


@pytest.fixture
async def web_url() -> AsyncIterator[str]:
    """An aiohttp.web server that echoes requests and streams chunked bodies."""

    async def echo(request: web.Request) -> web.Response:
        body = await request.text()
        text = f"{request.method} {request.path_qs} {request.headers.get('X-Probe')} {body}"
        peer = request.transport.get_extra_info("peername")[1] if request.transport else 0
        return web.Response(text=text, headers={"X-Peer": str(peer)})

    async def stream(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        for index in range(50):
            await response.write(f"part {index};".encode())
        await response.write_eof()
        return response

    async def status(request: web.Request) -> web.Response:
        return web.Response(status=int(request.match_info["code"]), body=b"x" * 10)

    app = web.Application()
    app.router.add_route("*", "/echo", echo)
    app.router.add_get("/stream", stream)
    app.router.add_get("/status/{code}", status)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
async def test_methods_headers_body(client: FastHTTPClient, web_url: str, method: str) -> None:
    """Every method reaches the server with its headers, query and body."""
    response = await client.request(
        method, f"{web_url}/echo?q=1", headers={"X-Probe": "yes"}, body="payload"
    )
    assert response.status == 200
    assert response.body == f"{method} /echo?q=1 yes payload".encode()
    assert response.header("content-type") == "text/plain; charset=utf-8"


async def test_keep_alive_reuse_and_head(client: FastHTTPClient, web_url: str) -> None:
    """Sequential requests reuse one connection; HEAD has no body even with a length."""
    peers = set()
    for _ in range(5):
        response = await client.request("GET", f"{web_url}/echo")
        peers.add(response.header("X-Peer"))
    head = await client.request("HEAD", f"{web_url}/echo")
    assert head.body == b""
    assert head.header("content-length") is not None
    after = await client.request("GET", f"{web_url}/echo")
    assert {after.header("x-peer")} == peers
    assert len(peers) == 1
    assert client.idle_connections == 1


async def test_chunked_and_no_body_statuses(client: FastHTTPClient, web_url: str) -> None:
    """A chunked stream is reassembled; 204 and 304 carry no body and keep the connection."""
    response = await client.request("GET", f"{web_url}/stream")
    assert response.header("transfer-encoding") == "chunked"
    assert response.body == "".join(f"part {i};" for i in range(50)).encode()
    for code in (204, 304):
        response = await client.request("GET", f"{web_url}/status/{code}", timeout=30)
        assert response.status == code
        assert response.body == b""
    assert (await client.request("GET", f"{web_url}/status/503")).body == b"x" * 10
    assert client.idle_connections == 1


async def test_chunked_trailers_interim_and_reuse(client: FastHTTPClient) -> None:
    """Chunk extensions and trailers are parsed, a 100 Continue is skipped, the pool reuses."""

    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter, _: int) -> None:
        await read_request(r)
        w.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        w.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n")
        await w.drain()
        w.write(b"6\r\n world\r\n0\r\nX-Checksum: abc\r\nX-Other: 1\r\n\r\n")
        await keep_alive_ok(r, w)

    async with RawServer(handler) as server:
        response = await client.request("GET", server.url())
        assert response.status == 200
        assert response.body == b"hello world"
        assert response.trailers == [("x-checksum", "abc"), ("x-other", "1")]
        assert (await client.request("GET", server.url())).body == b"ok"
        assert server.connections == 1


async def test_read_until_close_and_connection_close(client: FastHTTPClient) -> None:
    """A body without length ends at close; Connection: close is honoured (no pooling)."""

    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter, index: int) -> None:
        await read_request(r)
        if index == 1:
            w.write(b"HTTP/1.1 200 OK\r\n\r\nuntil ")
            await w.drain()
            w.write(b"close")
        else:
            w.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 4\r\n\r\ndone")

    async with RawServer(handler) as server:
        assert (await client.request("GET", server.url())).body == b"until close"
        assert client.idle_connections == 0
        assert (await client.request("GET", server.url())).body == b"done"
        assert client.idle_connections == 0
        assert server.connections == 2


async def test_server_closed_idle_connection_retry(client: FastHTTPClient) -> None:
    """A reused connection closed by the server is retried once for GET, never for POST."""

    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter, index: int) -> None:
        await read_request(r)
        w.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await read_request(r)  # Then close without answering: the keep-alive race.

    async with RawServer(handler) as server:
        await client.request("GET", server.url())
        assert (await client.request("GET", server.url())).body == b"ok"
        assert server.connections == 2
        with pytest.raises(FastHTTPConnectionError, match="closed the connection"):
            await client.request("POST", server.url(), body="once")
        assert server.connections == 2


async def test_server_closes_after_response(client: FastHTTPClient) -> None:
    """A connection the server closed after its response is not reused: a fresh one is."""

    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter, _: int) -> None:
        await read_request(r)
        w.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await w.drain()

    async with RawServer(handler) as server:
        for _ in range(3):
            assert (await client.request("GET", server.url())).body == b"ok"
        assert server.connections == 3


async def test_cancelled_request_closes_connection(client: FastHTTPClient) -> None:
    """A request cancelled mid-response (a monkey stopping) closes its connection."""
    asked, closed = asyncio.Event(), asyncio.Event()

    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter, _: int) -> None:
        await read_request(r)
        w.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\npart")
        await w.drain()
        asked.set()
        await r.read()
        closed.set()

    async with RawServer(handler) as server:
        task = asyncio.create_task(client.request("GET", server.url()))
        await asyncio.wait_for(asked.wait(), 30)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.wait_for(closed.wait(), 30)
        assert client.idle_connections == 0


@pytest.mark.parametrize(
    ("reply", "match"),
    [
        (b"HTTP/1.1 2OO OK\r\n\r\n", "malformed status line"),
        (b"SMTP ready\r\n\r\n", "malformed status line"),
        (b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", "malformed header"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: many\r\n\r\n", "malformed Content-Length"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: \xb2\r\n\r\n", "malformed Content-Length"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "chunk size"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\n", "chunk size"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabcd", "CRLF"),
        (b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * MAX_HEADER_BYTES, "over 65536 bytes"),
    ],
)
async def test_malformed_responses(client: FastHTTPClient, reply: bytes, match: str) -> None:
    """Malformed or oversized responses raise a clear error and drop the connection."""

    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter, _: int) -> None:
        await read_request(r)
        w.write(reply)
        await r.read()

    async with RawServer(handler) as server:
        with pytest.raises(FastHTTPProtocolError, match=match):
            await client.request("GET", server.url())
        assert client.idle_connections == 0


async def test_timeout_discards_connection(client: FastHTTPClient) -> None:
    """A server that never answers times out; the connection is closed, not pooled."""
    closed = asyncio.Event()

    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter, _: int) -> None:
        await read_request(r)
        await r.read()  # Returns at end of stream: the client closed its side.
        closed.set()

    async with RawServer(handler) as server:
        with pytest.raises(TimeoutError):
            await client.request("GET", server.url(), timeout=0.2)
        await asyncio.wait_for(closed.wait(), 30)
        assert client.idle_connections == 0


async def test_keepalive_expiry_and_refused(client: FastHTTPClient) -> None:
    """Idle connections close after the keep-alive time; a closed port is a connection error."""
    short = FastHTTPClient(keepalive=0.05)
    closed = asyncio.Event()

    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter, _: int) -> None:
        await keep_alive_ok(r, w)
        closed.set()

    async with RawServer(handler) as server:
        await short.request("GET", server.url())
        await asyncio.wait_for(closed.wait(), 30)
        assert short.idle_connections == 0
        port = server.port
    with pytest.raises(FastHTTPConnectionError, match="cannot connect"):
        await client.request("GET", f"http://127.0.0.1:{port}/")
    await short.aclose()


def self_signed(tmp_path: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A server context with a new self-signed cert and a client context trusting it."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert_file, key_file)
    return server, ssl.create_default_context(cafile=str(cert_file))


async def test_https_with_sni(tmp_path: Path) -> None:
    """https uses the given context, sends the host as SNI and reuses the TLS connection."""
    server_context, client_context = self_signed(tmp_path)
    names: list[str | None] = []
    server_context.sni_callback = lambda _sock, name, _ctx: names.append(name)

    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter, _: int) -> None:
        await keep_alive_ok(r, w)

    client = FastHTTPClient(ssl_context=client_context)
    untrusting = FastHTTPClient(ssl_context=ssl.create_default_context())
    try:
        async with RawServer(handler, server_context) as server:
            for _ in range(3):
                response = await client.request("GET", server.url(host="localhost", scheme="https"))
                assert response.body == b"ok"
            assert server.connections == 1
            assert names == ["localhost"]
            with pytest.raises(FastHTTPConnectionError, match="CERTIFICATE_VERIFY_FAILED"):
                await untrusting.request("GET", server.url(host="localhost", scheme="https"))
    finally:
        await client.aclose()
        await untrusting.aclose()


async def test_services_provide_shared_client() -> None:
    """BusinessServices builds one client lazily, gives it by name and closes it."""
    services = BusinessServices()
    first = services.get("fast_http", "HTTPCheck")
    assert first is services.fast_http
    await services.aclose()
    assert services.fast_http is not first
    await services.aclose()


async def test_httpcheck_redirects(builder: MonkeyBuilder, web_url: str) -> None:
    """HTTPCheck follows redirects itself: relative ones, 303 POST to GET, up to a limit."""

    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter, _: int) -> None:
        while request := await read_request(r):
            if request.startswith(b"POST /start"):
                location = f"{web_url}/echo?from=start".encode()
                w.write(b"HTTP/1.1 303 See Other\r\nLocation: %s\r\n" % location)
                w.write(b"Content-Length: 0\r\n\r\n")
            elif request.startswith(b"GET /a/rel "):
                w.write(b"HTTP/1.1 302 Found\r\nLocation: target\r\nContent-Length: 0\r\n\r\n")
            elif request.startswith(b"GET /a/target "):
                w.write(b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\narrived")
            else:
                w.write(b"HTTP/1.1 302 Found\r\nLocation: loop\r\nContent-Length: 0\r\n\r\n")

    async def solo(**options: Any) -> Any:
        config = SolitaryConfig.model_validate(
            {"user": {"username": "bot-mobu-fast"}, "business": {"type": "HTTPCheck",
             "options": {"follow_redirects": True, **options}}},
        )  # fmt: skip
        return await run_solitary(config, builder=builder, identity=AnonymousIdentity())

    async with RawServer(handler) as server:
        result = await solo(url=server.url("/loop"))
        assert not result.success
        assert "more than 10 redirects" in result.error
        result = await solo(url=server.url("/a/rel"), body_regex="^arrived$")
        assert result.success, result.error
        result = await solo(
            url=server.url("/start"), method="POST", body="x", body_regex=r"^GET /echo\?from=start"
        )
        assert result.success, result.error


@pytest.mark.parametrize("headers", [{"X-A": "one\r\nX-B: two"}, {"Bad Name": "x"}, {"X": "é"}])
def test_httpcheck_rejects_bad_headers(registry: BusinessRegistry, headers: dict[str, str]) -> None:
    """Header injection or non-ASCII headers are a validation error, not a broken request."""
    with pytest.raises(InvalidOptionsError, match="header"):
        registry.options("HTTPCheck", {"url": "http://127.0.0.1/", "headers": headers})
