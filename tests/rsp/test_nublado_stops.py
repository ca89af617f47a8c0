"""Stops within the grace through the nublado flavour: during spawn, lab login and a hung cell.

Each monkey gets a grace so long (:data:`~tests.support.stopping.PATIENT_GRACE`) that only a
business acknowledging the stop by itself beats :data:`~tests.support.stopping.HANG_BOUND`; after
each stop no lab, kernel or token is left behind (on the hub and in the token service's records).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import pytest
from structlog.typing import FilteringBoundLogger

from mobu.discovery import Discovery
from mobu.events import Events
from mobu.models.business.nublado import NubladoPythonLoopOptions
from mobu.models.user import AuthenticatedUser
from mobu.services.business.nubladopythonloop import NubladoPythonLoop
from mobu.services.flock import Flock
from tests.jupyter.support import FAST, WAIT, start
from tests.jupyter.test_stops import WatchedPythonLoop
from tests.rsp.conftest import Platform, rsp_context
from tests.rsp.support import assert_nothing_left, wait_for_pending_spawn
from tests.support.hubs import needs_hub
from tests.support.stopping import HANG_BOUND, PATIENT_GRACE

pytestmark = [pytest.mark.jupyter, needs_hub]

SCOPES = ["exec:notebook", "read:image", "read:tap"]


class PhaseWatchedLoop(NubladoPythonLoop):
    """The real Python loop, which also tells tests when it enters a lab-cycle step."""

    def __init__(
        self,
        *,
        options: NubladoPythonLoopOptions,
        user: AuthenticatedUser,
        events: Events,
        logger: FilteringBoundLogger,
        flock: str | None,
        http_client: httpx.AsyncClient,
        discovery: Discovery,
    ) -> None:
        super().__init__(
            options=options, user=user, events=events, logger=logger, flock=flock,
            http_client=http_client, discovery=discovery,
        )  # fmt: skip
        self.entered = {"spawn_request": asyncio.Event(), "lab_login": asyncio.Event()}
        step = self.lab.step

        def watched(phase: str, timeout: timedelta | None = None) -> Any:
            if phase in self.entered:
                self.entered[phase].set()
            return step(phase, timeout)

        self.lab.step = watched  # type: ignore[method-assign]


async def _stop_by_itself(flock: Flock) -> None:
    """Stop the flock's only monkey; only a stop the business acknowledges beats the bound."""
    [monkey] = flock.monkeys
    async with asyncio.timeout(HANG_BOUND):  # only a hang reaches it; the grace is 600 s
        await monkey.stop()
    assert monkey.state == "FINISHED"


async def test_stop_during_spawn_within_grace(rsp: Platform) -> None:
    """A stop while the hub's spawn never finishes: the monkey stops, the spawn is cancelled."""
    grace = PATIENT_GRACE.total_seconds()
    async with rsp_context(rsp, stop_grace=grace) as (context, _events, failures):
        context.registry.register("PhaseWatchedLoop", PhaseWatchedLoop)
        flock = await start(
            context, name="nbsp", count=1, users=[{"username": "bot-mobu-hangspawn"}],
            scopes=SCOPES, business={"type": "PhaseWatchedLoop", "options": {**FAST}},
        )  # fmt: skip
        business = flock.monkeys[0].business
        assert isinstance(business, PhaseWatchedLoop)
        async with asyncio.timeout(WAIT):
            await business.entered["spawn_request"].wait()
        await wait_for_pending_spawn(rsp, "bot-mobu-hangspawn")
        await _stop_by_itself(flock)
        await context.manager.stop_flock("nbsp")
        assert failures.reports == []
    await assert_nothing_left(rsp, {"bot-mobu-hangspawn"})


async def test_stop_during_hung_lab_login_within_grace(rsp: Platform) -> None:
    """A stop while the lab login never answers stops the monkey by itself; the lab is deleted."""
    grace = PATIENT_GRACE.total_seconds()
    async with rsp_context(rsp, stop_grace=grace) as (context, _events, failures):
        context.registry.register("PhaseWatchedLoop", PhaseWatchedLoop)
        flock = await start(
            context, name="nbhl", count=1, users=[{"username": "bot-mobu-hanglab"}],
            scopes=SCOPES, business={"type": "PhaseWatchedLoop", "options": {**FAST}},
        )  # fmt: skip
        business = flock.monkeys[0].business
        assert isinstance(business, PhaseWatchedLoop)
        async with asyncio.timeout(WAIT):
            await business.entered["lab_login"].wait()
        await _stop_by_itself(flock)
        await context.manager.stop_flock("nbhl")
        assert failures.reports == []
    await assert_nothing_left(rsp, {"bot-mobu-hanglab"})


async def test_stop_during_hung_cell_within_grace(rsp: Platform) -> None:
    """A stop while the lab runs code that never ends stops the monkey by itself."""
    options = {**FAST, "code": "import time\ntime.sleep(10**6)", "execution_timeout": "1h"}
    grace = PATIENT_GRACE.total_seconds()
    async with rsp_context(rsp, stop_grace=grace) as (context, _events, failures):
        context.registry.register("WatchedPythonLoop", WatchedPythonLoop)
        flock = await start(
            context, name="nbhung", count=1, users=[{"username": "bot-mobu-nbhung"}],
            scopes=SCOPES, business={"type": "WatchedPythonLoop", "options": options},
        )  # fmt: skip
        business = flock.monkeys[0].business
        assert isinstance(business, WatchedPythonLoop)
        async with asyncio.timeout(WAIT):
            await business.code_started.wait()
        await _stop_by_itself(flock)
        await context.manager.stop_flock("nbhung")
        assert failures.reports == []
    await assert_nothing_left(rsp, {"bot-mobu-nbhung"})
