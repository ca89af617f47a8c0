"""The wire side of the fast HTTP client: its errors, request and response types, head parsing."""

from __future__ import annotations

from dataclasses import dataclass, field

import yarl

from mobu.exceptions import MobuError

__all__ = [
    "IDEMPOTENT",
    "MAX_HEADER_BYTES",
    "FastHTTPConnectionError",
    "FastHTTPError",
    "FastHTTPProtocolError",
    "FastRequest",
    "FastResponse",
    "PoolKey",
    "block_end",
    "header_fields",
    "serialize_request",
]

MAX_HEADER_BYTES = 64 * 1024
"""Largest response head (status line and headers) or trailer block accepted."""

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


def block_end(buf: bytearray, what: str) -> int:
    """Offset of the blank line ending a header block, -1 if not yet received."""
    end = buf.find(b"\r\n\r\n")
    if (end if end >= 0 else len(buf)) > MAX_HEADER_BYTES:
        raise FastHTTPProtocolError(f"{what} over {MAX_HEADER_BYTES} bytes")
    return end


def header_fields(lines: list[str]) -> list[tuple[str, str]]:
    fields = []
    for line in lines:
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
    return FastRequest(method, url, (url.scheme, url.host, url.port), raw)
