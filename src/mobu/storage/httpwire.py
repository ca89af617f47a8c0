"""The wire side of the fast HTTP client: its errors, request and response types, head parsing."""

from __future__ import annotations

import urllib.request
from dataclasses import dataclass, field
from urllib.request import proxy_bypass_environment  # type: ignore[attr-defined]

import yarl

from mobu.exceptions import MobuError

__all__ = [
    "IDEMPOTENT",
    "MAX_BODY_BYTES",
    "MAX_HEADER_BYTES",
    "MAX_HEADER_FIELDS",
    "MAX_HEADER_FIELD_BYTES",
    "MAX_INTERIM_RESPONSES",
    "MAX_STATUS_LINE_BYTES",
    "FastHTTPConnectionError",
    "FastHTTPError",
    "FastHTTPProtocolError",
    "FastRequest",
    "FastResponse",
    "Framing",
    "PoolKey",
    "block_end",
    "environment_proxy",
    "framing",
    "head_end",
    "header_fields",
    "serialize_request",
    "status_line",
]

MAX_HEADER_BYTES = 64 * 1024
"""Largest response head (status line and headers) or trailer block accepted."""

MAX_STATUS_LINE_BYTES = 8 * 1024
"""Longest status line accepted."""

MAX_HEADER_FIELDS = 128
"""Most header (or trailer) fields accepted in one block."""

MAX_HEADER_FIELD_BYTES = 16 * 1024
"""Longest header (or trailer) field line accepted."""

MAX_INTERIM_RESPONSES = 16
"""Most interim (1xx) responses accepted before the final one."""

MAX_BODY_BYTES = 64 * 1024 * 1024
"""Default largest response body (after chunked decoding) a client accepts."""

IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
_METHODS = IDEMPOTENT | {"POST", "PATCH"}
_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})

PoolKey = tuple[str, str, int]
"""Key of a keep-alive pool: scheme, host and port."""


class FastHTTPError(MobuError):
    """A request of the fast HTTP client failed."""


class FastHTTPConnectionError(FastHTTPError):
    """The connection could not be opened or was lost before the response was complete."""


class FastHTTPProtocolError(FastHTTPError):
    """The server sent a malformed or oversized response."""


@dataclass(slots=True)
class FastResponse:
    """A complete HTTP response.

    Attributes
    ----------
    status, reason
        Status code and reason phrase.
    headers
        Header (lower-case name, value) pairs in the order received.
    body
        Body, decoded from chunked transfer-encoding but otherwise as sent.
    trailers
        Trailer fields of a chunked body, like ``headers``.
    """

    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes = b""
    trailers: list[tuple[str, str]] = field(default_factory=list)

    def header(self, name: str) -> str | None:
        """Return the first value of header ``name`` (case-insensitive), or `None`."""
        name = name.lower()
        for key, value in self.headers:
            if key == name:
                return value
        return None


@dataclass(frozen=True, slots=True)
class FastRequest:
    """A request serialized once (by `FastHTTPClient.prepare`) to be sent any number of times.

    Attributes
    ----------
    method, url
        HTTP method and URL.
    key
        Pool key: scheme, host and port.
    data
        The serialized request.
    """

    method: str
    url: yarl.URL
    key: PoolKey
    data: bytes
    proxy: str | None = None


@dataclass(frozen=True, slots=True)
class Framing:
    """How a response body is delimited.

    Attributes
    ----------
    length
        Content-Length, or `None` (chunked, or read until the server closes).
    chunked
        Whether the body is chunked.
    keep_alive
        Whether the connection may carry another request afterwards.
    """

    length: int | None
    chunked: bool
    keep_alive: bool


def block_end(buf: bytearray, what: str) -> int:
    """Offset of the blank line ending a header block, -1 if not yet received."""
    end = buf.find(b"\r\n\r\n")
    if (end if end >= 0 else len(buf)) > MAX_HEADER_BYTES:
        raise FastHTTPProtocolError(f"{what} over {MAX_HEADER_BYTES} bytes")
    return end


def head_end(buf: bytearray) -> int:
    """`block_end` of a response head, which also bounds its status line."""
    if len(buf) > MAX_STATUS_LINE_BYTES and buf.find(b"\r\n", 0, MAX_STATUS_LINE_BYTES) < 0:
        raise FastHTTPProtocolError(f"status line over {MAX_STATUS_LINE_BYTES} bytes")
    return block_end(buf, "response head")


def status_line(line: str) -> tuple[str, int, str]:
    """Version, status code and reason phrase of a status line."""
    parts = line.split(" ", 2)
    code = parts[1] if len(parts) > 1 else ""
    if (
        len(parts) < 2
        or not parts[0].startswith("HTTP/1.")
        or len(code) != 3
        or not code.isdecimal()
        or not code.isascii()
    ):
        raise FastHTTPProtocolError(f"malformed status line {line[:100]!r}")
    return parts[0], int(code), parts[2] if len(parts) > 2 else ""


def framing(version: str, headers: list[tuple[str, str]]) -> Framing:
    """Read the body framing from the headers (RFC 9112 section 6), refusing ambiguity.

    A response with both Content-Length and Transfer-Encoding, or with differing
    Content-Length values, is refused: two parsers could disagree on where it ends (request
    smuggling, response splitting).
    """
    lengths: set[str] = set()
    encoding: str | None = None
    keep_alive = version == "HTTP/1.1"
    for name, value in headers:
        if name == "content-length":
            lengths.add(value)
        elif name == "transfer-encoding":
            encoding = value if encoding is None else f"{encoding}, {value}"
        elif name == "connection":
            tokens = value.lower()
            if "close" in tokens:
                keep_alive = False
            elif "keep-alive" in tokens:
                keep_alive = True
    if encoding is not None:
        if lengths:
            raise FastHTTPProtocolError("both Content-Length and Transfer-Encoding in response")
        if encoding.lower().rsplit(",", 1)[-1].strip() == "chunked":
            return Framing(None, chunked=True, keep_alive=keep_alive)
        return Framing(None, chunked=False, keep_alive=False)
    if len(lengths) > 1:
        raise FastHTTPProtocolError("differing Content-Length values in response")
    if not lengths:
        return Framing(None, chunked=False, keep_alive=False)
    length = lengths.pop()
    if not (length.isascii() and length.isdigit()) or len(length) > 18:
        raise FastHTTPProtocolError(f"malformed Content-Length {length[:40]!r}")
    return Framing(int(length), chunked=False, keep_alive=keep_alive)


def environment_proxy(url: yarl.URL) -> str | None:
    """Name of the environment variable that sets a proxy for ``url``, or `None`.

    ``NO_PROXY`` is honoured as urllib does.
    """
    proxies = urllib.request.getproxies_environment()
    scheme = url.scheme
    if scheme not in proxies and "all" not in proxies:
        return None
    if proxy_bypass_environment(url.host_port_subcomponent or "", proxies):
        return None
    return f"{scheme.upper()}_PROXY" if scheme in proxies else "ALL_PROXY"


def header_fields(lines: list[str]) -> list[tuple[str, str]]:
    """Header (or trailer) fields of a block, bounded in number and size."""
    if len(lines) > MAX_HEADER_FIELDS:
        raise FastHTTPProtocolError(f"more than {MAX_HEADER_FIELDS} header fields")
    fields = []
    for line in lines:
        if len(line) > MAX_HEADER_FIELD_BYTES:
            raise FastHTTPProtocolError(f"header field over {MAX_HEADER_FIELD_BYTES} bytes")
        name, colon, value = line.partition(":")
        if not colon or not name or name != name.strip():
            raise FastHTTPProtocolError(f"malformed header line {line[:100]!r}")
        fields.append((name.lower(), value.strip()))
    return fields


def serialize_request(
    method: str,
    url: str | yarl.URL,
    *,
    headers: dict[str, str] | None = None,
    body: str | bytes | None = None,
) -> FastRequest:
    """Serialize a request once (a str body is UTF-8 ``text/plain`` unless typed)."""
    method = method.upper()
    url = yarl.URL(url) if isinstance(url, str) else url
    if method not in _METHODS:
        raise ValueError(f"unsupported method {method}")
    if url.scheme not in ("http", "https") or not url.host or url.port is None:
        raise ValueError(f"unsupported URL {url}")
    given = {name.lower() for name in headers or ()}
    lines = [f"{method} {url.raw_path_qs or '/'} HTTP/1.1"]
    if "host" not in given:
        lines.append(f"Host: {url.host_port_subcomponent}")
    if "user-agent" not in given:
        lines.append("User-Agent: mobu")
    lines.extend(f"{name}: {value}" for name, value in (headers or {}).items())
    data = body.encode() if isinstance(body, str) else body
    if isinstance(body, str) and "content-type" not in given:
        lines.append("Content-Type: text/plain; charset=utf-8")
    if (data is not None or method in _WITH_BODY) and "content-length" not in given:
        lines.append(f"Content-Length: {len(data or b'')}")
    raw = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (data or b"")
    proxy = environment_proxy(url)
    return FastRequest(method, url, (url.scheme, url.host, url.port), raw, proxy)
