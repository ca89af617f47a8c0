"""Gafaelfawr tokens and Repertoire discovery against the local RSP platform (real hub)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import httpx
import pytest

from mobu.discovery import RepertoireDiscovery
from mobu.events import EventBase
from mobu.identity import GafaelfawrIdentity
from mobu.services.business.nubladopythonloop import NubladoPythonExecution
from mobu.storage.jupyter import HubClient
from tests.jupyter.support import FAST, WAIT, start, wait_events, wait_until
from tests.rsp.conftest import Platform, rsp_context
from tests.rsp.support import assert_nothing_left
from tests.support.hubs import needs_hub

pytestmark = [pytest.mark.jupyter, needs_hub]

SCOPES = ["exec:notebook", "read:tap"]


def _loop(**options: object) -> dict[str, object]:
    # mobu's own clients on the vanilla hub (the nublado flavour, Repertoire's default, needs
    # the Nublado-shaped hub: tests/rsp/test_nublado.py).
    options = {**FAST, "hub_flavour": "jupyterhub", "max_executions": 2, **options}
    return {"type": "NubladoPythonLoop", "options": options}


async def test_flock_tokens_minted_through_gafaelfawr(platform: Platform) -> None:
    """Three monkeys get service tokens with the flock's scopes, ids and name; labs run."""
    async with rsp_context(platform) as (context, events, failures):
        assert isinstance(context.identity, GafaelfawrIdentity)
        assert isinstance(context.discovery, RepertoireDiscovery)
        flock = await start(
            context,
            name="gt",
            count=3,
            user_spec={
                "username_prefix": "bot-mobu-gt",
                "uid_start": 45000,
                "gid_start": 1126,
                "groups": [{"name": "g-mobu", "id": 2000}],
            },
            scopes=SCOPES,
            business=_loop(),
        )
        executions = await wait_events(events, "nublado_python_execution", 6)
        assert all(isinstance(e, NubladoPythonExecution) and e.success for e in executions)
        assert {e.username for e in executions} == {f"bot-mobu-gt{i}" for i in (1, 2, 3)}
        requests = platform.gafaelfawr.service.requests
        assert sorted(r["username"] for r in requests) == [f"bot-mobu-gt{i}" for i in (1, 2, 3)]
        for request in requests:
            assert request["token_type"] == "service"
            assert request["scopes"] == SCOPES
            assert request["name"] == "Mobu Test User"
            assert request["groups"] == [{"name": "g-mobu", "id": 2000}]
            assert datetime.fromisoformat(request["expires"]) > datetime.now(tz=UTC)
        expected = {(45000 + i, 1126 + i) for i in (0, 1, 2)}
        assert {(r["uid"], r["gid"]) for r in requests} == expected
        user = flock.dump().monkeys[0].user
        assert user.uidnumber is not None
        assert user.groups[0].name == "g-mobu"
        dumped = str(flock.dump().model_dump())
        for minted in platform.gafaelfawr.service.minted:
            assert minted.token not in dumped
        await context.manager.stop_flock("gt")
        assert failures.reports == []
        deleted = platform.gafaelfawr.service.deleted
        assert sorted(m.username for m in deleted) == [f"bot-mobu-gt{i}" for i in (1, 2, 3)]
    await assert_nothing_left(platform, {f"bot-mobu-gt{i}" for i in (1, 2, 3)})


async def test_token_renewed_before_expiry(platform: Platform) -> None:
    """A token that expires mid-run is replaced in time: no failed iteration, old one dead."""
    identity = {"provider": "gafaelfawr", "token_lifetime": 40, "renew_before": 30}
    async with rsp_context(platform, identity=identity) as (context, events, failures):
        await start(
            context, name="renew", count=1, user_spec={"username_prefix": "bot-mobu-rn"},
            scopes=SCOPES, business=_loop(delete_lab=False),
        )  # fmt: skip
        service = platform.gafaelfawr.service
        [first] = service.tokens_of("bot-mobu-rn1")  # minted before start_flock returned
        assert first.expires is not None
        expired_at = first.expires
        late: list[int] = []

        def after_expiry(published: list[EventBase]) -> bool:
            # Called at each new execution event: count those seen after the first expiry.
            if datetime.now(tz=UTC) > expired_at:
                late.append(len(published))
            return len(late) >= 2

        await wait_until(events, "nublado_python_execution", after_expiry)
        assert len(service.tokens_of("bot-mobu-rn1")) >= 2
        assert isinstance(context.identity, GafaelfawrIdentity)
        assert context.identity.renewals >= 1
        executions = events.recorder.published("nublado_python_execution")  # type: ignore[union-attr]
        assert all(e.success for e in executions)
        async with httpx.AsyncClient(trust_env=False) as http:
            hub = HubClient(platform.hub.url, first.token, http=http)
            with pytest.raises(Exception, match=r"403|401"):
                await hub.is_stopped("bot-mobu-rn1")
        await context.manager.stop_flock("renew")
        assert failures.reports == []
    await assert_nothing_left(platform, {"bot-mobu-rn1"})


async def test_revoked_token_is_a_clear_failure(platform: Platform) -> None:
    """A token revoked under a running monkey fails its iteration with the hub's refusal."""
    async with rsp_context(platform) as (context, events, failures):
        await start(
            context, name="rv", count=1, user_spec={"username_prefix": "bot-mobu-rv"},
            scopes=SCOPES, business={**_loop(), "restart": True},
        )  # fmt: skip
        await wait_events(events, "nublado_python_execution", 2)
        [minted] = platform.gafaelfawr.service.tokens_of("bot-mobu-rv1")
        await platform.gafaelfawr.service.revoke(minted)
        [report] = await failures.wait_for(1)
        assert report.monkey == "bot-mobu-rv1"
        assert "403" in str(report.error)
        assert minted.token not in str(report.error)
        assert minted.token not in str(report.context)
        await context.manager.stop_flock("rv")


async def test_renewal_failure_is_an_alert(platform: Platform) -> None:
    """When Gafaelfawr refuses a renewal, the failure is reported (no token in it)."""
    identity = {"provider": "gafaelfawr", "token_lifetime": 3600, "renew_before": 3599}
    async with rsp_context(platform, identity=identity) as (context, _events, failures):
        await start(
            context, name="rf", count=1, user_spec={"username_prefix": "bot-mobu-rf"},
            business={"type": "EmptyLoop"},
        )  # fmt: skip
        service = platform.gafaelfawr.service
        service.admin_token = "gt-revoked.admin"
        [report] = await failures.wait_for(1)
        assert report.business == "identity"
        assert report.monkey == "bot-mobu-rf1"
        assert "Cannot renew the token of bot-mobu-rf1" in str(report.error)
        assert "403" in str(report.error)
        assert service.minted[0].token not in str(report.error)
        await context.manager.stop_flock("rf")


async def test_hub_move_in_discovery_is_picked_up(platform: Platform) -> None:
    """The hub's URL changes in Repertoire: the next iterations go to the new URL."""
    moved = platform.hub.url.replace("127.0.0.1", "localhost")
    discovery = {"refresh_interval": 0.5}
    async with rsp_context(platform, discovery=discovery) as (context, events, failures):
        flock = await start(
            context, name="mv", count=1, user_spec={"username_prefix": "bot-mobu-mv"},
            scopes=SCOPES, business=_loop(),
        )  # fmt: skip
        await wait_events(events, "nublado_python_execution", 2)
        assert isinstance(context.discovery, RepertoireDiscovery)
        seen = context.discovery.refreshes
        platform.move_hub(moved)
        async with asyncio.timeout(WAIT):
            await context.discovery.wait_refreshed(seen + 1)
        assert context.discovery.service_url("hub") == moved
        count = len(events.recorder.published("nublado_delete_lab"))  # type: ignore[union-attr]
        await wait_events(events, "nublado_delete_lab", count + 2)
        [monkey] = flock.monkeys
        hub = monkey.business.lab.hub  # type: ignore[attr-defined]
        assert hub is not None
        assert hub.hub_url.startswith(moved.rstrip("/"))
        await context.manager.stop_flock("mv")
        assert failures.reports == []
    await assert_nothing_left(platform, {"bot-mobu-mv1"})
