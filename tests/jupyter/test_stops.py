"""The Nublado businesses acknowledge a stop at once: hung code, hung cell, hung clone."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx
import pytest
import structlog
from structlog.testing import CapturingLogger
from structlog.typing import FilteringBoundLogger
from typing_extensions import override

from mobu.discovery import Discovery, DiscoveryConfig
from mobu.events import Events
from mobu.models.business.notebookrunner import NotebookRunnerOptions
from mobu.models.business.nublado import NubladoPythonLoopOptions
from mobu.models.user import AuthenticatedUser
from mobu.platform.hub import LocalHub
from mobu.services.business.notebookrunnerlist import NotebookRunnerList
from mobu.services.business.nubladopythonloop import NubladoPythonLoop
from mobu.services.repo import RepoCache
from mobu.storage.jupyter import ExecutionResult
from tests.jupyter.conftest import needs_hub
from tests.jupyter.support import FAST, WAIT, running, start
from tests.support.stopping import HANG_BOUND, PATIENT_GRACE, assert_stops_by_itself, silent_server


class WatchedPythonLoop(NubladoPythonLoop):
    """The real Python loop, which also tells tests when its code starts running."""

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
            options=options,
            user=user,
            events=events,
            logger=logger,
            flock=flock,
            http_client=http_client,
            discovery=discovery,
        )
        self.code_started = asyncio.Event()

    @override
    async def run_code(self, code: str, **kwargs: Any) -> ExecutionResult:
        if code == self.options.code:
            self.code_started.set()
        return await super().run_code(code, **kwargs)


@pytest.mark.jupyter
@needs_hub
async def test_python_loop_stops_during_hung_code(hub: LocalHub) -> None:
    """A stop while the lab runs code that never ends stops NubladoPythonLoop by itself."""
    options = {**FAST, "code": "import time\ntime.sleep(10**6)", "execution_timeout": "1h"}
    async with running(hub, stop_grace=PATIENT_GRACE.total_seconds()) as (context, _, failures):
        context.registry.register("WatchedPythonLoop", WatchedPythonLoop)
        flock = await start(
            context, name="hungpy", count=1, users=[{"username": "bot-mobu-hungpy"}],
            business={"type": "WatchedPythonLoop", "options": options},
        )  # fmt: skip
        monkey = flock.monkeys[0]
        business = monkey.business
        assert isinstance(business, WatchedPythonLoop)
        async with asyncio.timeout(WAIT):
            await business.code_started.wait()
        async with asyncio.timeout(HANG_BOUND):  # only a hang reaches it; the grace is 600 s
            await monkey.stop()
        assert monkey.state == "FINISHED"
        assert monkey.log is not None
        log = monkey.log.text()
        assert "Iteration interrupted by stop" in log
        assert "did not stop within grace period" not in log
        await context.manager.stop_flock("hungpy")
        assert failures.reports == []


async def test_notebook_runner_stops_during_hung_clone() -> None:
    """A stop while the notebook repository's git server never answers ends the runner."""
    logger = structlog.wrap_logger(
        CapturingLogger(),
        wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG),
        processors=[],
    )
    cache = RepoCache(logger)
    async with silent_server() as (port, connected), httpx.AsyncClient() as http:
        business = NotebookRunnerList(
            options=NotebookRunnerOptions(repo_url=f"http://127.0.0.1:{port}/notebooks.git"),
            user=AuthenticatedUser(username="bot-mobu-clone"),
            events=Events(),
            logger=logger,
            flock="f",
            http_client=http,
            discovery=Discovery(DiscoveryConfig()),
            repo_cache=cache,
        )
        await assert_stops_by_itself(business, connected.wait)
    assert cache.clones == 0
    await cache.aclose()
