"""Authentication of API requests: admin bearer tokens, a trusted header, or none.

Implemented as an ASGI middleware so that it also covers the OpenAPI schema and the docs pages.
Open without authentication: ``/health``, the metadata at ``/`` and ``{prefix}/`` (the
reference's readiness probe), and every route that opts out (:class:`AnonymousRoute`, or
``openapi_extra=ANONYMOUS``), such as the GitHub webhooks, which check their own signatures.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import re
from collections.abc import Iterable
from typing import Any

import structlog
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.routing import compile_path
from starlette.types import ASGIApp, Receive, Scope, Send

from mobu.models.errors import error_detail
from mobu.serviceconfig import AuthConfig

__all__ = ["ANONYMOUS", "OPEN_PATHS", "AnonymousRoute", "AuthMiddleware", "anonymous_routes"]

OPEN_PATHS = frozenset({"/health", "/"})
_AUTHZ = "authorization"
_FLAG = "x-mobu-anonymous"

ANONYMOUS: dict[str, Any] = {_FLAG: True}
"""``openapi_extra`` of a route that needs no authentication: ``@router.post(..., openapi_extra=
ANONYMOUS)``; the OpenAPI schema shows it as ``x-mobu-anonymous: true``."""


class AnonymousRoute(APIRoute):
    """Route class of a router whose routes all need no authentication.

    ``APIRouter(route_class=AnonymousRoute)``; the routes keep the flag when included.
    """

    def __init__(self, path: str, endpoint: Any, **kwargs: Any) -> None:
        kwargs["openapi_extra"] = {**(kwargs.get("openapi_extra") or {}), **ANONYMOUS}
        super().__init__(path, endpoint, **kwargs)


def anonymous_routes(app: Any) -> list[tuple[re.Pattern[str], frozenset[str] | None]]:
    """Path patterns and methods of the routes of ``app`` that opted out of authentication."""
    found = []
    for context in iter_route_contexts(getattr(app, "routes", [])):
        extra = getattr(context.original_route, "openapi_extra", None) or {}
        if extra.get(_FLAG) and context.path:
            pattern, _, _ = compile_path(context.path)
            methods = frozenset(context.methods) if context.methods else None
            found.append((pattern, methods))
    return found


def _loopback(scope: Scope) -> bool:
    client = scope.get("client")
    if not client:
        return False
    try:
        return ipaddress.ip_address(client[0]).is_loopback
    except ValueError:
        return client[0] in ("localhost", "testclient")


class AuthMiddleware:
    """Reject requests that do not authenticate as configured.

    ``tokens``: ``Authorization: Bearer <token>`` must be one of the admin tokens (compared in
    constant time); missing → 401 with ``WWW-Authenticate: Bearer``, wrong → 403.
    ``trust_header``: the header (set by an authenticating ingress) names the user; missing → 401.
    ``none``: everything is allowed (``mobu serve`` refuses to bind anywhere but loopback);
    with ``loopback_only`` (the app factory, which cannot see the address it is bound to) only
    requests from a loopback client are, others get 403. ``open_paths`` are open like ``/health``.
    The header that authenticates (``Authorization`` or the trusted one) given more than once is
    refused with 400 ``duplicate_header``: proxies and servers disagree on which copy counts.
    The authenticated user is bound to the log context as ``user``.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        config: AuthConfig,
        prefix: str = "",
        loopback_only: bool = False,
        open_paths: Iterable[str] = (),
    ) -> None:
        self.app = app
        self.config = config
        self._open = OPEN_PATHS | {f"{prefix.rstrip('/')}/"} | frozenset(open_paths)
        self._loopback_only = loopback_only
        self._anonymous: tuple[int, list[tuple[re.Pattern[str], frozenset[str] | None]]] = (-1, [])
        self._tokens = [t.get_secret_value().encode() for t in config.tokens]
        self._header_name = (config.trust_header or "").lower()
        self._header = self._header_name.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self._open or self._is_anonymous(scope):
            await self.app(scope, receive, send)
            return
        if self.config.mode == "none":
            if self._loopback_only and not _loopback(scope):
                msg = "auth: none serves loopback clients only"
                await _reject(send, 403, msg, "permission_denied", "client")
                return
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

    def _is_anonymous(self, scope: Scope) -> bool:
        """Whether ``scope`` goes to a route that opted out (the table follows the app's routes)."""
        app = scope.get("app")
        routes = getattr(app, "routes", [])
        if self._anonymous[0] != len(routes):
            self._anonymous = (len(routes), anonymous_routes(app))
        method = scope.get("method", "GET")
        for pattern, methods in self._anonymous[1]:
            if pattern.match(scope["path"]) and (methods is None or method in methods):
                return True
        return False

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
