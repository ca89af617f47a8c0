"""Hub client and identity providers against a real JupyterHub."""

from __future__ import annotations

import httpx
import pytest
import structlog

from mobu.identity import (
    IdentityError,
    JupyterHubIdentity,
    JupyterHubIdentityConfig,
    StaticIdentity,
    StaticIdentityConfig,
    release_users,
)
from mobu.models.user import User
from mobu.platform.hub import LocalHub
from mobu.storage.jupyter import HubClient, JupyterWebError, LabClient
from tests.jupyter.conftest import needs_hub

pytestmark = [pytest.mark.jupyter, needs_hub]


def _identity(hub: LocalHub, http: httpx.AsyncClient, **options: object) -> JupyterHubIdentity:
    config = JupyterHubIdentityConfig.model_validate(
        {"provider": "jupyterhub", "admin_token": hub.admin_token, **options}
    )
    return JupyterHubIdentity(
        config, hub_url=hub.url, http=http, logger=structlog.get_logger("test")
    )


async def test_spawn_progress_session_stop(
    hub: LocalHub, admin: HubClient, http: httpx.AsyncClient
) -> None:
    """A minted token spawns a lab, runs code in it, stops it, and is revoked on close."""
    identity = _identity(hub, http, concurrency=2)
    [user] = await identity.authenticate([User(username="bot-mobu-flow")], ["exec:notebook"])
    assert user.token
    assert user.scopes == ["exec:notebook"]
    assert user.token not in repr(user)
    assert "token" not in user.model_dump()
    client = HubClient(hub.url, user.token, http=http)
    assert await client.is_stopped(user.username)
    assert await client.spawn(user.username, {"profile": "test"}) is False
    events = [e async for e in client.progress(user.username)]
    assert events[-1].ready
    assert events[-1].url == f"/user/{user.username}/"
    assert [e.progress for e in events] == sorted(e.progress for e in events)
    assert await client.spawn(user.username) is True  # already running
    lab = LabClient(client.lab_url(user.username), user.token, username=user.username, http=http)
    await lab.status()
    session = await lab.create_session("x.ipynb")
    channel = await lab.open_kernel(session)
    assert channel.binary  # the npm proxy keeps v1 binary frames intact
    result = await channel.execute("import os\nprint(os.environ['JUPYTERHUB_USER'])")
    assert result.stdout == f"{user.username}\n"
    await channel.close()
    await lab.delete_session(session)
    # The hub answers DELETE once the server stopped (204) unless that takes over its
    # slow_stop_timeout (10 s); the local spawner stops in about a second.
    await client.stop(user.username)
    assert await client.is_stopped(user.username)
    assert (await admin.get_user(user.username) or {}).get("servers") == {}
    assert {"token", "spawn_request"} <= set(identity.hub.timings.last) | set(client.timings.last)
    await identity.aclose()
    with pytest.raises(JupyterWebError) as info:
        await client.get_user(user.username)
    assert info.value.status == 403  # the minted token was revoked


async def test_identity_batches_and_scopes(hub: LocalHub, http: httpx.AsyncClient) -> None:
    """JupyterHub identity mints one token per user in batches, with only the scopes asked for."""
    identity = _identity(hub, http, concurrency=3, token_scopes=["read:users:name!user"])
    users = [User(username=f"bot-mobu-batch{i:02d}") for i in range(7)]
    try:
        authenticated = await identity.authenticate(users, [])
        assert [u.username for u in authenticated] == [u.username for u in users]
        assert len({u.token for u in authenticated}) == 7
        client = HubClient(hub.url, authenticated[0].token, http=http)
        model = await client.get_user("bot-mobu-batch00")
        assert model is not None
        assert model["name"] == "bot-mobu-batch00"
        with pytest.raises(JupyterWebError) as info:
            await client.spawn("bot-mobu-batch00")
        assert info.value.status == 403  # the token has only the scope asked for
    finally:
        await identity.aclose()


async def test_identity_errors(hub: LocalHub, http: httpx.AsyncClient) -> None:
    """Identity failures name the user and never the admin token; static tokens map by name."""
    bad = JupyterHubIdentity(
        JupyterHubIdentityConfig(provider="jupyterhub", admin_token="not-the-token"),  # type: ignore[arg-type]
        hub_url=hub.url,
        http=http,
        logger=structlog.get_logger("test"),
    )
    with pytest.raises(IdentityError, match="bot-mobu-nope") as info:
        await bad.authenticate([User(username="bot-mobu-nope")], [])
    assert "not-the-token" not in str(info.value)
    static = StaticIdentity(
        StaticIdentityConfig.model_validate(
            {"provider": "static", "tokens": {"bot-mobu-a": "ta"}, "default_token": None}
        )
    )
    [a] = await static.authenticate([User(username="bot-mobu-a")], ["s"])
    assert a.token == "ta"
    with pytest.raises(IdentityError, match="bot-mobu-b"):
        await static.authenticate([User(username="bot-mobu-b")], [])


async def test_release_revokes_only_the_released_tokens(
    hub: LocalHub, http: httpx.AsyncClient
) -> None:
    """Releasing a stopped monkey's user revokes its token, not a newer one of the same user."""
    identity = _identity(hub, http)
    try:
        [old] = await identity.authenticate([User(username="bot-mobu-rel")], [])
        [new] = await identity.authenticate([User(username="bot-mobu-rel")], [])
        await release_users(identity, [old])
        with pytest.raises(JupyterWebError) as info:
            await HubClient(hub.url, old.token, http=http).get_user("bot-mobu-rel")
        assert info.value.status == 403
        assert await HubClient(hub.url, new.token, http=http).get_user("bot-mobu-rel")
    finally:
        await identity.aclose()
