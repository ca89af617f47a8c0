"""The local RSP platform for these tests: the real hub, the token service and Repertoire.

The hub is session-scoped (as in tests/jupyter); the Gafaelfawr-compatible token service and
the Repertoire document are started per test, in the test's event loop, on free ports.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest
import structlog

from mobu.config import Config
from mobu.events import Events
from mobu.factory import ProcessContext
from mobu.platform.gafaelfawr import RunningGafaelfawr, run_gafaelfawr
from mobu.platform.hub import LocalHub
from mobu.platform.repertoire import RunningRepertoire, discovery_document, run_repertoire
from mobu.registry import BusinessRegistry
from tests.jupyter.conftest import CHP, remember_processes
from tests.jupyter.support import FailureCollector


@pytest.fixture(scope="session")
def rsp_hub() -> Iterator[LocalHub]:
    """A JupyterHub whose tokens the token service mints."""
    if CHP is None:
        pytest.skip("npm configurable-http-proxy not installed (run scripts/install/jupyter.sh)")
    local = LocalHub(chp=CHP)
    local.start()
    try:
        yield local
    finally:
        remember_processes(local.processes())
        local.stop()
        local.cleanup()


@dataclass(slots=True)
class Platform:
    """The running stand-ins of one test."""

    hub: LocalHub
    gafaelfawr: RunningGafaelfawr
    repertoire: RunningRepertoire

    def move_hub(self, hub_url: str) -> None:
        """Serve a discovery document naming the hub at ``hub_url``."""
        self.repertoire.service.update(
            discovery_document(hub_url=hub_url, gafaelfawr_url=self.gafaelfawr.base_url)
        )


@pytest.fixture
async def platform(rsp_hub: LocalHub) -> AsyncIterator[Platform]:
    """Token service in front of the hub, and Repertoire naming both."""
    async with run_gafaelfawr(rsp_hub.url, rsp_hub.admin_token) as gafaelfawr:
        document = discovery_document(hub_url=rsp_hub.url, gafaelfawr_url=gafaelfawr.base_url)
        async with run_repertoire(document) as repertoire:
            yield Platform(rsp_hub, gafaelfawr, repertoire)


@asynccontextmanager
async def rsp_context(
    platform: Platform, **extra: Any
) -> AsyncIterator[tuple[ProcessContext, Events, FailureCollector]]:
    """A process context configured as the chart does: only the two environment values."""
    data: dict[str, Any] = {
        "gafaelfawr_token": platform.gafaelfawr.service.admin_token,
        "repertoire_base_url": platform.repertoire.url,
        "log_monkeys_to_file": False,
    }
    data.update(extra)
    events = Events()
    failures = FailureCollector()
    context = ProcessContext(
        Config(**data),
        logger=structlog.get_logger("mobu-test"),
        events=events,
        registry=BusinessRegistry(),
    )
    context.reporters.add(failures)
    async with context:
        yield context, events, failures
