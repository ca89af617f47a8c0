"""What the RSP tests assert after a stop: no lab, kernel or token left behind."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import psutil

from mobu.platform.rsp import RspHub
from tests.jupyter.support import WAIT
from tests.rsp.conftest import Platform

__all__ = ["assert_nothing_left", "hub_user", "wait_for_pending_spawn"]


def _hub_http(platform: Platform) -> httpx.AsyncClient:
    verify: Any = platform.hub.ca.ssl_context() if isinstance(platform.hub, RspHub) else True
    return httpx.AsyncClient(
        base_url=f"{platform.hub.url}hub/api/",
        headers={"Authorization": f"token {platform.hub.admin_token}"},
        verify=verify,
        trust_env=False,
        timeout=60,
    )


async def hub_user(platform: Platform, username: str) -> dict[str, Any] | None:
    """The hub's model of ``username`` (None: no such user)."""
    async with _hub_http(platform) as http:
        r = await http.get(f"users/{username}")
        if r.status_code == 404:
            return None
        r.raise_for_status()
        user: dict[str, Any] = r.json()
        return user


def _has_server(user: dict[str, Any] | None) -> bool:
    return user is not None and bool(user.get("servers") or user.get("pending"))


async def wait_for_pending_spawn(platform: Platform, username: str) -> None:
    """Wait (bounded) until the hub has a spawn of ``username`` pending.

    The hub has no event to wait on: this polls its API, each poll the next look at the
    condition, not a guess at a duration.
    """
    async with asyncio.timeout(WAIT):
        while True:
            user = await hub_user(platform, username)
            servers = (user or {}).get("servers") or {}
            if any(s.get("pending") == "spawn" for s in servers.values()):
                return
            await asyncio.sleep(0.2)


async def assert_nothing_left(platform: Platform, usernames: set[str]) -> None:
    """No server (running or pending) on the hub, no lab or kernel process, no live token.

    Tokens: the token service's records show every token of these users revoked or expired,
    and the hub has none of the hub tokens behind them.
    """
    async with asyncio.timeout(WAIT):  # a stop at shutdown is not waited for by the monkey
        while [u for u in usernames if _has_server(await hub_user(platform, u))]:
            await asyncio.sleep(0.2)  # the next poll of the hub's API
    homes = [str(platform.hub.dir / "homes" / u) for u in usernames]
    labs = [
        p
        for p in platform.hub.user_processes()
        if any(p.cwd() == h or p.cwd().startswith(h + "/") for h in homes)
    ]
    _gone, alive = await asyncio.to_thread(psutil.wait_procs, labs, WAIT)
    assert alive == [], "lab or kernel processes left running"
    service = platform.gafaelfawr.service
    minted = [m for m in service.minted if m.username in usernames]
    assert minted, "no token was minted through the token service"
    assert [m.username for m in minted if m.valid] == [], "tokens left valid"
    for username in usernames:
        ids = {m.hub_token_id for m in minted if m.username == username}
        left = [t["id"] for t in await service.hub_tokens(username) if t["id"] in ids]
        assert left == [], f"hub tokens of {username} left behind"
