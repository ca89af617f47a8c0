"""The fast HTTP client as a parser facing the internet: limits, framing, TLS and proxies.

Every server here is real (asyncio on 127.0.0.1, a port the OS picks); TLS uses a test CA made
in the test with ``cryptography``.
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from mobu.storage.fasthttp import FastHTTPClient
from mobu.storage.httpwire import (
    MAX_HEADER_FIELD_BYTES,
    MAX_HEADER_FIELDS,
    MAX_INTERIM_RESPONSES,
    MAX_STATUS_LINE_BYTES,
    FastHTTPConnectionError,
    FastHTTPProtocolError,
)

from .test_fasthttp import RawServer, keep_alive_ok, read_request

LIMIT = 1000
"""Body limit of the client under test."""


@pytest.fixture
async def client() -> AsyncIterator[FastHTTPClient]:
    client = FastHTTPClient(max_body=LIMIT)
    yield client
    await client.aclose()


def _fields(count: int) -> bytes:
    return b"".join(b"X-F%d: v\r\n" % i for i in range(count))


OK = b"HTTP/1.1 200 OK\r\n"


@pytest.mark.parametrize(
    ("reply", "match"),
    [
        (b"HTTP/1.1 200 " + b"r" * MAX_STATUS_LINE_BYTES, "status line over"),
        (OK + _fields(MAX_HEADER_FIELDS + 1) + b"\r\n", f"more than {MAX_HEADER_FIELDS} header"),
        (OK + b"X-Big: " + b"a" * MAX_HEADER_FIELD_BYTES + b"\r\n\r\n", "header field over"),
        (OK + b"Content-Length: %d\r\n\r\n" % (LIMIT + 1), "over the body limit of 1000"),
        (OK + b"Content-Length: 99999999999999999999\r\n\r\n", "malformed Content-Length"),
        (
            OK + b"Transfer-Encoding: chunked\r\n\r\n3e8\r\n" + b"x" * LIMIT + b"\r\n1\r\n",
            "chunked body over the body limit",
        ),
        (OK + b"Connection: close\r\n\r\n" + b"x" * (LIMIT + 1), "body over the body limit"),
        (b"HTTP/1.1 100 Continue\r\n\r\n" * (MAX_INTERIM_RESPONSES + 1), "1xx responses"),
        (
            OK + b"Content-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
            "both Content-Length and Transfer-Encoding",
        ),
        (
            OK + b"Transfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\nok",
            "both Content-Length and Transfer-Encoding",
        ),
        (OK + b"Content-Length: 2\r\nContent-Length: 3\r\n\r\nok", "differing Content-Length"),
    ],
    ids=[
        "status-line",
        "header-count",
        "header-size",
        "content-length-over-limit",
        "content-length-huge",
        "chunked-over-limit",
        "until-close-over-limit",
        "endless-interim",
        "cl-then-te",
        "te-then-cl",
        "differing-cl",
    ],
)
async def test_limits_and_ambiguous_framing(
    client: FastHTTPClient, reply: bytes, match: str
) -> None:
    """Each limit and each ambiguous framing is a clear protocol error; nothing is pooled."""

    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter, _: int) -> None:
        await read_request(r)
        w.write(reply)
        await r.read()

    async with RawServer(handler) as server:
        with pytest.raises(FastHTTPProtocolError, match=match):
            await client.request("GET", server.url())
        assert client.idle_connections == 0


async def test_within_limits_and_repeated_equal_length(client: FastHTTPClient) -> None:
    """A body at the limit, the most header fields and a repeated equal Content-Length pass."""
    replies = [
        OK + b"Content-Length: %d\r\n\r\n" % LIMIT + b"x" * LIMIT,
        OK + _fields(MAX_HEADER_FIELDS - 1) + b"Content-Length: 2\r\n\r\nok",
        OK + b"Content-Length: 2\r\nContent-Length: 2\r\n\r\nok",
    ]

    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter, _: int) -> None:
        for reply in replies:
            await read_request(r)
            w.write(reply)
        await r.read()

    async with RawServer(handler) as server:
        bodies = [(await client.request("GET", server.url())).body for _ in replies]
    assert bodies == [b"x" * LIMIT, b"ok", b"ok"]


class LocalCA:
    """A certificate authority made for the test, issuing server certificates."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mobu test CA")])
        now = datetime.datetime.now(datetime.UTC)
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(self.name)
            .issuer_name(self.name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(self.key.public_key()), critical=False
            )
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .sign(self.key, hashes.SHA256())
        )
        self.ca_file = directory / "ca.pem"
        self.ca_file.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))

    def client_context(self) -> ssl.SSLContext:
        """A default (verifying) client context that trusts this CA."""
        return ssl.create_default_context(cafile=str(self.ca_file))

    def server_context(self, host: str, *, expired: bool = False) -> ssl.SSLContext:
        """A server context with a certificate for ``host`` (expired yesterday if asked)."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        end = now - datetime.timedelta(days=1) if expired else now + datetime.timedelta(days=1)
        try:
            alt: x509.GeneralName = x509.IPAddress(ipaddress.ip_address(host))
        except ValueError:
            alt = x509.DNSName(host)
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
            .issuer_name(self.name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=2))
            .not_valid_after(end)
            .add_extension(x509.SubjectAlternativeName([alt]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                critical=False,
            )
            .sign(self.key, hashes.SHA256())
        )
        cert_file = self.directory / f"{host}-{expired}.pem"
        key_file = self.directory / f"{host}-{expired}.key"
        cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_file, key_file)
        return context


async def _get_over_tls(client: FastHTTPClient, server_context: ssl.SSLContext) -> bytes:
    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter, _: int) -> None:
        await keep_alive_ok(r, w)

    async with RawServer(handler, server_context) as server:
        response = await client.request("GET", server.url(host="localhost", scheme="https"))
        return response.body


async def test_tls_verifies_chain_host_and_expiry(tmp_path: Path) -> None:
    """A good certificate passes; wrong host, expired, or an untrusted CA are refused."""
    ca = LocalCA(tmp_path)
    trusting = FastHTTPClient(ssl_context=ca.client_context())
    default = FastHTTPClient()  # The system's trust store: the test CA is not in it.
    try:
        assert await _get_over_tls(trusting, ca.server_context("localhost")) == b"ok"
        with pytest.raises(FastHTTPConnectionError, match="Hostname mismatch"):
            await _get_over_tls(trusting, ca.server_context("other.example"))
        with pytest.raises(FastHTTPConnectionError, match="certificate has expired"):
            await _get_over_tls(trusting, ca.server_context("localhost", expired=True))
        with pytest.raises(FastHTTPConnectionError, match="CERTIFICATE_VERIFY_FAILED"):
            await _get_over_tls(default, ca.server_context("localhost"))
        assert trusting.idle_connections == 1
        assert default.idle_connections == 0
    finally:
        await trusting.aclose()
        await default.aclose()


async def test_environment_proxy_refused_clearly(
    client: FastHTTPClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A proxy set in the environment is refused with its variable named; NO_PROXY bypasses."""
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.invalid:3128")

    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter, _: int) -> None:
        await keep_alive_ok(r, w)

    async with RawServer(handler) as server:
        with pytest.raises(FastHTTPConnectionError, match="HTTP_PROXY in the environment"):
            await client.request("GET", server.url())
        assert server.connections == 0
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        assert (await client.request("GET", server.url())).body == b"ok"
