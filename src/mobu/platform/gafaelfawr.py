"""A Gafaelfawr-compatible token service in front of the real local JupyterHub.

It implements the routes of Gafaelfawr's API that ``rubin-gafaelfawr`` calls, under
``/auth/api/v1``:

- ``POST /tokens`` (admin token with ``admin:token``): body ``{username, token_type: "service",
  scopes, expires, name, uid, gid, groups}`` → ``{"token": ...}``. The user must start with
  ``bot-``. The service creates the hub user if missing and mints a hub token for it (through
  the hub's REST API, with the hub admin service token) that expires when asked; that hub token
  *is* the token returned, so what the Gafaelfawr protocol minted is what the hub accepts.
  ``exec:notebook`` gives the hub token the user's own hub scopes; without it, the token may
  only read the user's own model (the hub then refuses the lab).
- ``GET /user-info`` (the user's token): ``{username, name, uid, gid, groups}``; an unknown,
  revoked or expired token is a 401.
- ``GET /token-info`` (the token itself): ``{token: <key>, username, token_type, scopes,
  created, expires}`` (the key is the token's public identifier); 401 as above.
- ``DELETE /users/{username}/tokens/{key}`` (admin token, or a valid token of that user): revokes
  the token here *and deletes its hub token*, 204; an unknown key of that user is a 404.

Only Gafaelfawr's internals are replaced. Every token minted is recorded
(:attr:`GafaelfawrStandIn.minted`, without the token itself in its repr) for tests;
:meth:`GafaelfawrStandIn.revoke` revokes one (on the hub too), as an operator would.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from aiohttp import web

__all__ = ["GafaelfawrStandIn", "MintedToken", "RunningGafaelfawr", "run_gafaelfawr"]

API = "/auth/api/v1"
USER_HUB_SCOPES = [
    "access:servers!user",
    "servers!user",
    "users:activity!user",
    "read:users!user",
]
"""Hub scopes of a token with ``exec:notebook``: the user's own lab (what Nublado allows)."""


@dataclass(slots=True)
class MintedToken:
    """One token the service minted."""

    username: str
    scopes: list[str]
    expires: datetime | None
    name: str | None
    uid: int | None
    gid: int | None
    groups: list[dict[str, Any]]
    hub_token_id: str
    token: str = field(repr=False)
    key: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    """The token's public identifier (Gafaelfawr's token key)."""
    created: datetime = field(default_factory=lambda: datetime.now(tz=UTC))
    revoked: bool = False

    @property
    def valid(self) -> bool:
        """Not revoked and not expired."""
        now = datetime.now(tz=UTC)
        return not self.revoked and (self.expires is None or self.expires > now)


class GafaelfawrStandIn:
    """The service's state and handlers.

    Parameters
    ----------
    hub_url
        Base URL of the JupyterHub that accepts the tokens.
    hub_admin_token
        Hub service token with ``admin:users`` and ``tokens``.
    hub_verify
        TLS verification of the hub (an ``ssl.SSLContext`` for a test CA, or a bool).
    """

    def __init__(self, hub_url: str, hub_admin_token: str, *, hub_verify: Any = True) -> None:
        self.hub_url = hub_url.rstrip("/") + "/"
        self.admin_token = "gt-" + secrets.token_urlsafe(16) + "." + secrets.token_urlsafe(16)
        self.minted: list[MintedToken] = []
        self.requests: list[dict[str, Any]] = []
        """Every token-creation request body, as received (for assertions)."""
        self.deleted: list[MintedToken] = []
        """Tokens revoked through ``DELETE .../tokens/{key}`` (for assertions)."""
        self._hub = httpx.AsyncClient(
            base_url=self.hub_url + "hub/api/",
            headers={"Authorization": f"token {hub_admin_token}"},
            verify=hub_verify,
            trust_env=False,
            timeout=60,
        )

    def app(self) -> web.Application:
        """The aiohttp application."""
        app = web.Application()
        app.router.add_post(f"{API}/tokens", self.create_token)
        app.router.add_get(f"{API}/user-info", self.user_info)
        app.router.add_get(f"{API}/token-info", self.token_info)
        app.router.add_delete(f"{API}/users/{{username}}/tokens/{{key}}", self.delete_token)
        return app

    def tokens_of(self, username: str) -> list[MintedToken]:
        """Tokens minted for ``username``, oldest first."""
        return [m for m in self.minted if m.username == username]

    async def create_token(self, request: web.Request) -> web.Response:
        """``POST /auth/api/v1/tokens``: mint a service token for a bot user."""
        if _bearer(request) != self.admin_token:
            return _error(403, "permission_denied", "Token does not have admin:token scope")
        body = await request.json()
        self.requests.append(body)
        username = body.get("username", "")
        if body.get("token_type") != "service" or not username.startswith("bot-"):
            return _error(422, "invalid_request", "Only service tokens for bot- users")
        expires = datetime.fromisoformat(body["expires"]) if body.get("expires") else None
        payload: dict[str, Any] = {"note": f"gafaelfawr: {body.get('name') or username}"}
        if "exec:notebook" not in body.get("scopes", []):
            payload["scopes"] = ["read:users!user"]
        if expires is not None:
            seconds = (expires - datetime.now(tz=UTC)).total_seconds()
            # Rounded down: the hub token never outlives the expiry Gafaelfawr was asked for.
            payload["expires_in"] = max(1, math.floor(seconds))
        r = await self._hub.post(f"users/{username}")
        if r.status_code not in (201, 409):
            return _error(502, "hub_error", f"hub answered {r.status_code} creating the user")
        r = await self._hub.post(f"users/{username}/tokens", json=payload)
        if r.status_code != 201:
            return _error(502, "hub_error", f"hub answered {r.status_code} minting the token")
        hub = r.json()
        minted = MintedToken(
            username=username,
            scopes=list(body.get("scopes", [])),
            expires=expires,
            name=body.get("name"),
            uid=body.get("uid"),
            gid=body.get("gid"),
            groups=list(body.get("groups") or []),
            hub_token_id=hub["id"],
            token=hub["token"],
        )
        self.minted.append(minted)
        return web.json_response({"token": minted.token}, status=201)

    async def user_info(self, request: web.Request) -> web.Response:
        """``GET /auth/api/v1/user-info``: who the bearer token belongs to."""
        token = _bearer(request)
        found = next((m for m in self.minted if m.token == token), None)
        if found is None or not found.valid:
            return _error(401, "invalid_token", "Token is not valid")
        return web.json_response(
            {
                "username": found.username,
                "name": found.name,
                "uid": found.uid,
                "gid": found.gid,
                "groups": found.groups,
            }
        )

    async def token_info(self, request: web.Request) -> web.Response:
        """``GET /auth/api/v1/token-info``: the bearer token's key and metadata."""
        token = _bearer(request)
        found = next((m for m in self.minted if m.token == token), None)
        if found is None or not found.valid:
            return _error(401, "invalid_token", "Token is not valid")
        expires = int(found.expires.timestamp()) if found.expires else None
        return web.json_response(
            {
                "token": found.key,
                "username": found.username,
                "token_type": "service",
                "scopes": found.scopes,
                "created": int(found.created.timestamp()),
                "expires": expires,
            }
        )

    async def delete_token(self, request: web.Request) -> web.Response:
        """``DELETE /auth/api/v1/users/{username}/tokens/{key}``: revoke one token."""
        username, key = request.match_info["username"], request.match_info["key"]
        bearer = _bearer(request)
        own = any(m.token == bearer and m.valid and m.username == username for m in self.minted)
        if bearer != self.admin_token and not own:
            return _error(403, "permission_denied", "Token does not have admin:token scope")
        found = next((m for m in self.minted if m.username == username and m.key == key), None)
        if found is None or found.revoked:
            return _error(404, "not_found", "Token not found")
        try:
            await self.revoke(found)
        except RuntimeError as exc:
            return _error(502, "hub_error", str(exc))
        self.deleted.append(found)
        return web.Response(status=204)

    def live_tokens(self, prefix: str = "") -> list[MintedToken]:
        """Tokens of users starting with ``prefix`` that are neither revoked nor expired."""
        return [m for m in self.minted if m.username.startswith(prefix) and m.valid]

    async def revoke(self, minted: MintedToken) -> None:
        """Revoke ``minted`` here and on the hub (as an operator deleting it would)."""
        minted.revoked = True
        r = await self._hub.delete(f"users/{minted.username}/tokens/{minted.hub_token_id}")
        if r.status_code not in (204, 404):
            raise RuntimeError(f"hub answered {r.status_code} revoking a token")

    async def hub_tokens(self, username: str) -> list[dict[str, Any]]:
        """The hub's tokens of ``username`` (for leak assertions)."""
        r = await self._hub.get(f"users/{username}/tokens")
        if r.status_code == 404:
            return []
        r.raise_for_status()
        tokens: list[dict[str, Any]] = r.json()["api_tokens"]
        return tokens

    async def aclose(self) -> None:
        """Close the hub client."""
        await self._hub.aclose()


def _bearer(request: web.Request) -> str | None:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def _error(status: int, kind: str, message: str) -> web.Response:
    """A Gafaelfawr-style error body (never echoing the input)."""
    return web.json_response({"detail": [{"msg": message, "type": kind}]}, status=status)


@dataclass(frozen=True, slots=True)
class RunningGafaelfawr:
    """A running stand-in: its API base URL (``.../auth/api/v1``) and its state."""

    url: str
    base_url: str
    service: GafaelfawrStandIn


@asynccontextmanager
async def run_gafaelfawr(
    hub_url: str, hub_admin_token: str, *, hub_verify: Any = True, port: int = 0
) -> AsyncIterator[RunningGafaelfawr]:
    """Serve the token service on 127.0.0.1 (``port`` 0: a free one) until the block ends."""
    service = GafaelfawrStandIn(hub_url, hub_admin_token, hub_verify=hub_verify)
    runner = web.AppRunner(service.app(), handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    try:
        bound = runner.addresses[0][1]
        base = f"http://127.0.0.1:{bound}"
        yield RunningGafaelfawr(url=f"{base}{API}", base_url=f"{base}/auth/api", service=service)
    finally:
        await runner.cleanup()
        await service.aclose()
