"""Authentication of API requests: admin bearer tokens, a trusted header, or none.

Implemented as an ASGI middleware so that it also covers the OpenAPI schema and the docs pages;
only ``/health`` is open.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Iterable

import structlog
from starlette.types import ASGIApp, Receive, Scope, Send

from mobu.config import AuthConfig
from mobu.models.errors import error_detail

__all__ = ["AuthMiddleware"]

OPEN_PATHS = frozenset({"/health"})
_AUTHZ = "authorization"


class AuthMiddleware:
    """Reject requests that do not authenticate as configured.

    ``tokens``: ``Authorization: Bearer <token>`` must be one of the admin tokens (compared in
    constant time); missing → 401 with ``WWW-Authenticate: Bearer``, wrong → 403.
    ``trust_header``: the header (set by an authenticating ingress) names the user; missing → 401.
    ``none``: everything is allowed (the server refuses to bind anywhere but loopback).
    ``open_paths`` are open like ``/health`` (the GitHub webhooks, authenticated by signature).
    The header that authenticates (``Authorization`` or the trusted one) given more than once is
    refused with 400 ``duplicate_header``: proxies and servers disagree on which copy counts.
    The authenticated user is bound to the log context as ``user``.
    """

    def __init__(self, app: ASGIApp, *, config: AuthConfig, open_paths: Iterable[str] = ()) -> None:
        self.app = app
        self.config = config
        self._open = OPEN_PATHS | frozenset(open_paths)
        self._tokens = [t.get_secret_value().encode() for t in config.tokens]
        self._header_name = (config.trust_header or "").lower()
        self._header = self._header_name.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.config.mode == "none" or scope["path"] in self._open:
            await self.app(scope, receive, send)
            return
        name = b"authorization" if self.config.mode == "tokens" else self._header
        values = [v for k, v in scope.get("headers", []) if k.lower() == name]
        if len(values) > 1:
            label = _AUTHZ if self.config.mode == "tokens" else self._header_name
            msg = f"Header {label} given more than once"
            await _reject(send, 400, msg, "duplicate_header", label)
            return
        header = values[0] if values else b""
        if self.config.mode == "tokens":
            scheme, _, token = header.partition(b" ")
            if scheme.lower() != b"bearer" or not token.strip():
                await _reject(send, 401, "Missing bearer token", "not_authenticated", _AUTHZ)
                return
            if not self._token_ok(token.strip()):
                await _reject(send, 403, "Invalid token", "permission_denied", _AUTHZ)
                return
            user = "admin"
        else:
            value = header.strip()
            if not value:
                msg = "Not authenticated by the ingress"
                await _reject(send, 401, msg, "not_authenticated", self._header_name)
                return
            user = value.decode("latin-1")
        with structlog.contextvars.bound_contextvars(user=user):
            await self.app(scope, receive, send)

    def _token_ok(self, token: bytes) -> bool:
        ok = False
        for candidate in self._tokens:
            ok |= hmac.compare_digest(candidate, token)
        return ok


async def _reject(send: Send, status: int, msg: str, error_type: str, header: str) -> None:
    body = json.dumps({"detail": [error_detail(["header", header], msg, error_type)]})
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if status == 401:
        headers.append((b"www-authenticate", b"Bearer"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body.encode()})
