"""A reference Muster-protocol server: what the Muster business expects, or each rule broken.

It plays both the ingress (token checks, header stripping, rate limits, delegated identity) and
the Muster application behind it, so operators can see what the business checks and tests can run
it against every failure mode::

    python -m mobu.testing.muster --port 0 --break quota-limit

prints ``{"url": ..., "token": ..., "username": ...}`` and serves until interrupted. The token is
``$MOBU_MUSTER_TOKEN`` or a random one.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import signal
import time
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

__all__ = [
    "RULES",
    "MusterIdentity",
    "MusterServer",
    "RunningMuster",
    "run_muster_server",
]

RULES: dict[str, str] = {
    "anonymous": "/anonymous passes the Authorization header through to the app",
    "auth-redirect": "/auth/redirect answers 401 instead of redirecting to the login page",
    "auth-challenge": "/auth/fail answers 401 without a Bearer WWW-Authenticate challenge",
    "auth-bad-scheme": "/auth/fail answers 401 instead of 400 to a non-Bearer Authorization",
    "auth-username": "authenticated endpoints report another user",
    "quota-headers": "/auth/quota sends wrong rate-limit headers",
    "quota-limit": "/auth/quota never answers 429",
    "quota-retry-after": "/auth/quota answers 429 without Retry-After",
    "delegation": "/delegated/* report a wrong identity",
}
"""The rules the server can break, with what it then does."""

QUOTA_RESOURCE = "muster-quota"


@dataclass(frozen=True)
class MusterIdentity:
    """The identity the ingress resolves for a token."""

    username: str
    name: str | None = None
    uid: int | None = None
    gid: int | None = None
    groups: tuple[tuple[str, int | None], ...] = ()

    def to_json(self) -> dict[str, Any]:
        """Render as the delegated endpoints do."""
        return {
            "username": self.username,
            "name": self.name,
            "uid": self.uid,
            "gid": self.gid,
            "groups": [{"name": n, "id": i} for n, i in self.groups],
        }


@dataclass
class MusterServer:
    """The server's behaviour.

    Parameters
    ----------
    users
        Token → identity (any mapping: a test may resolve tokens as an ingress would).
    broken
        Rules to break (keys of :data:`RULES`).
    quota_window
        Seconds for which one quota request uses up the user's quota of 1.
    """

    users: Mapping[str, MusterIdentity]
    broken: frozenset[str] = frozenset()
    quota_window: float = 60.0
    _quota: dict[str, float] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        unknown = set(self.broken) - set(RULES)
        if unknown:
            raise ValueError(f"unknown rules {sorted(unknown)}; known: {', '.join(RULES)}")

    def app(self) -> web.Application:
        """The aiohttp application."""
        app = web.Application()
        app.router.add_get("/anonymous", self._anonymous)
        app.router.add_get("/auth/redirect", self._auth_redirect)
        app.router.add_get("/auth/fail", self._auth_fail)
        app.router.add_get("/auth/quota", self._auth_quota)
        app.router.add_get("/delegated/header", self._delegated)
        app.router.add_get("/delegated/authorization", self._delegated)
        return app

    # Ingress ------------------------------------------------------------------------------------

    def _challenge(
        self, request: web.Request, status: int, error: str | None = None
    ) -> web.Response:
        if "auth-challenge" in self.broken:
            challenge = 'Basic realm="muster"'
        else:
            challenge = f'Bearer realm="{request.host}"'
            if error:
                challenge += f', error="{error}"'
        return web.json_response(
            {"detail": error or "authentication required"},
            status=status,
            headers={"WWW-Authenticate": challenge},
        )

    def _authenticate(self, request: web.Request) -> MusterIdentity | web.Response:
        """Return the identity, or the response of the ingress when there is none."""
        header = request.headers.get("Authorization")
        if header is None:
            return self._challenge(request, 401)
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer":
            status = 401 if "auth-bad-scheme" in self.broken else 400
            return self._challenge(request, status, "invalid_request")
        identity = self.users.get(token.strip())
        if identity is None:
            return self._challenge(request, 401, "invalid_token")
        if "auth-username" in self.broken:
            identity = MusterIdentity(username=identity.username + "-impostor")
        return identity

    # Endpoints ----------------------------------------------------------------------------------

    async def _anonymous(self, request: web.Request) -> web.Response:
        # The ingress strips Authorization on anonymous routes; the app checks it did.
        leaked = "anonymous" in self.broken and "Authorization" in request.headers
        if leaked:
            return web.json_response({"ok": False, "error": "Authorization header reached app"})
        return web.json_response({"ok": True})

    async def _auth_redirect(self, request: web.Request) -> web.Response:
        if "Authorization" not in request.headers:
            if "auth-redirect" in self.broken:
                return self._challenge(request, 401)
            raise web.HTTPFound(f"/login?rd={request.url}")
        identity = self._authenticate(request)
        if isinstance(identity, web.Response):
            return identity
        return web.json_response({"username": identity.username})

    async def _auth_fail(self, request: web.Request) -> web.Response:
        identity = self._authenticate(request)
        if isinstance(identity, web.Response):
            return identity
        return web.json_response({"username": identity.username})

    async def _auth_quota(self, request: web.Request) -> web.Response:
        identity = self._authenticate(request)
        if isinstance(identity, web.Response):
            return identity
        now = time.monotonic()
        started = self._quota.get(identity.username)
        if started is None or now - started >= self.quota_window:
            started = self._quota[identity.username] = now
            over = False
        else:
            over = "quota-limit" not in self.broken
        reset = int(time.time() + self.quota_window - (now - started))
        headers = {
            "X-RateLimit-Limit": "1",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Used": "1",
            "X-RateLimit-Resource": QUOTA_RESOURCE,
            "X-RateLimit-Reset": str(reset),
        }
        if "quota-headers" in self.broken:
            headers["X-RateLimit-Limit"] = "100"
            del headers["X-RateLimit-Resource"]
        if not over:
            return web.json_response({"username": identity.username}, headers=headers)
        if "quota-retry-after" not in self.broken:
            headers["Retry-After"] = str(max(1, int(self.quota_window - (now - started))))
        return web.json_response({"detail": "rate limited"}, status=429, headers=headers)

    async def _delegated(self, request: web.Request) -> web.Response:
        identity = self._authenticate(request)
        if isinstance(identity, web.Response):
            return identity
        body = identity.to_json()
        if "delegation" in self.broken:
            body["gid"] = (identity.gid or 0) + 1
            body["groups"] = body["groups"][1:]
        return web.json_response(body)


@dataclass
class RunningMuster:
    """A running reference server."""

    url: str
    server: MusterServer


@asynccontextmanager
async def run_muster_server(
    users: Mapping[str, MusterIdentity],
    broken: Iterable[str] = (),
    *,
    quota_window: float = 60.0,
    port: int = 0,
) -> AsyncIterator[RunningMuster]:
    """Serve a :class:`MusterServer` on 127.0.0.1 (``port`` 0 = a free one) until the block ends."""
    server = MusterServer(users=users, broken=frozenset(broken), quota_window=quota_window)
    runner = web.AppRunner(server.app(), handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    try:
        bound = runner.addresses[0][1]
        yield RunningMuster(url=f"http://127.0.0.1:{bound}/", server=server)
    finally:
        await runner.cleanup()


def _group(text: str) -> tuple[str, int | None]:
    name, _, gid = text.partition(":")
    return name, int(gid) if gid else None


async def _serve(args: argparse.Namespace) -> None:
    token = os.environ.get("MOBU_MUSTER_TOKEN") or secrets.token_urlsafe(24)
    identity = MusterIdentity(
        username=args.username,
        name=args.name,
        uid=args.uid,
        gid=args.gid if args.gid is not None else args.uid,
        groups=tuple(_group(g) for g in args.group),
    )
    async with run_muster_server(
        {token: identity}, args.broken, quota_window=args.quota_window, port=args.port
    ) as running:
        info: dict[str, Any] = {"url": running.url, "token": token}
        info.update(username=identity.username, broken=sorted(running.server.broken))
        print(json.dumps(info), flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()


def main(argv: list[str] | None = None) -> None:
    """Command line entry point."""
    rules = "\n".join(f"  {k}: {v}" for k, v in RULES.items())
    parser = argparse.ArgumentParser(
        prog="python -m mobu.testing.muster",
        description="Reference Muster-protocol server.",
        epilog=f"rules:\n{rules}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: a free one)")
    parser.add_argument(
        "--break",
        dest="broken",
        action="append",
        default=[],
        choices=sorted(RULES),
        help="break this rule (repeatable)",
    )
    parser.add_argument("--username", default="bot-mobu-user", help="user the token belongs to")
    parser.add_argument("--name", default=None, help="full name of that user")
    parser.add_argument("--uid", type=int, default=None)
    parser.add_argument("--gid", type=int, default=None)
    parser.add_argument("--group", action="append", default=[], help="NAME[:GID], repeatable")
    parser.add_argument("--quota-window", type=float, default=60.0, help="seconds")
    asyncio.run(_serve(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
