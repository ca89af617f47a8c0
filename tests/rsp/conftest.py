"""The local RSP platform for these tests: the real hub, the token service and Repertoire.

Two session-scoped hubs: the vanilla one of tests/jupyter (:mod:`tests.support.hubs`) for the
``jupyterhub`` flavour, and the Nublado-shaped HTTPS one (:class:`~mobu.platform.rsp.RspHub`) for
the ``nublado`` flavour. The Gafaelfawr-compatible token service and the Repertoire document
are started per test, in the test's event loop, on free ports (``platform``: in front of the
vanilla hub; ``rsp``: in front of the HTTPS one).
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
from mobu.platform.rsp import RspHub
from mobu.registry import BusinessRegistry
from tests.jupyter.support import FailureCollector
from tests.support.hubs import hub, no_leaked_processes, require_chp, serve_hub

__all__ = [
    "Platform",
    "hub",
    "no_leaked_processes",
    "nublado_hub",
    "platform",
    "rsp",
    "rsp_context",
]


@pytest.fixture(scope="session")
def nublado_hub() -> Iterator[RspHub]:
    """The HTTPS hub with the Nublado spawn form, bearer login, lab page and lsst kernel."""
    yield from serve_hub(RspHub(chp=require_chp()))


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
async def platform(hub: LocalHub) -> AsyncIterator[Platform]:
    """Token service in front of the hub, and Repertoire naming both."""
    async with run_gafaelfawr(hub.url, hub.admin_token) as gafaelfawr:
        document = discovery_document(hub_url=hub.url, gafaelfawr_url=gafaelfawr.base_url)
        async with run_repertoire(document) as repertoire:
            yield Platform(hub, gafaelfawr, repertoire)


@pytest.fixture
async def rsp(nublado_hub: RspHub, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Platform]:
    """Token service and Repertoire for the HTTPS hub; clients trust the test CA."""
    monkeypatch.setenv("SSL_CERT_FILE", str(nublado_hub.ca.ca_path))
    verify = nublado_hub.ca.ssl_context()
    async with run_gafaelfawr(
        nublado_hub.url, nublado_hub.admin_token, hub_verify=verify
    ) as gafaelfawr:
        document = discovery_document(hub_url=nublado_hub.url, gafaelfawr_url=gafaelfawr.base_url)
        async with run_repertoire(document) as repertoire:
            yield Platform(nublado_hub, gafaelfawr, repertoire)


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
