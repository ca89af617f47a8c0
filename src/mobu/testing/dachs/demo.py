"""The DaCHS component of ``mobu demo``: discovery entries and flocks for a running server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from mobu.models.flock import FlockConfig
from mobu.services.discovery import DatasetServices
from mobu.testing.dachs.server import DachsServer

__all__ = ["DachsDemo", "dachs_demo", "running_dachs"]


@dataclass(frozen=True)
class DachsDemo:
    """What the demo adds for DaCHS.

    Attributes
    ----------
    datasets
        Entries for ``discovery.datasets``.
    applications
        Entries for ``discovery.applications``.
    flocks
        Flocks to start: a TAPQuerySetRunner flock and an SIAQuerySetRunner flock.
    """

    datasets: dict[str, DatasetServices]
    applications: list[str]
    flocks: list[FlockConfig]


def dachs_demo(
    server: DachsServer,
    *,
    dataset: str = "demo",
    tap_monkeys: int = 2,
    sia_monkeys: int = 1,
    idle_time: timedelta = timedelta(seconds=10),
) -> DachsDemo:
    """Return the discovery additions and flocks of the demo for a started ``server``."""
    common = {"dataset": dataset, "idle_time": idle_time, "error_idle_time": idle_time}
    flocks = [
        FlockConfig.model_validate(
            {
                "name": "tap",
                "count": tap_monkeys,
                "user_spec": {"username_prefix": "bot-mobu-tap"},
                "scopes": ["read:tap"],
                "business": {
                    "type": "TAPQuerySetRunner",
                    "restart": True,
                    "options": {**common, "query_set": "demo", "query_timeout": 60},
                },
            }
        ),
        FlockConfig.model_validate(
            {
                "name": "sia",
                "count": sia_monkeys,
                "user_spec": {"username_prefix": "bot-mobu-sia"},
                "scopes": ["read:image"],
                "business": {
                    "type": "SIAQuerySetRunner",
                    "restart": True,
                    "options": {**common, "query_set": "demo", "query_timeout": 60},
                },
            }
        ),
    ]
    services = DatasetServices.model_validate({"tap": server.tap_url, "sia": server.sia_url})
    return DachsDemo(datasets={dataset: services}, applications=["tap", "sia"], flocks=flocks)


@asynccontextmanager
async def running_dachs(base_dir: Path | None = None) -> AsyncIterator[DachsServer]:
    """Start a private DaCHS server without blocking the event loop; stop it on exit."""
    server = await asyncio.to_thread(DachsServer.start, base_dir)
    try:
        yield server
    finally:
        await asyncio.to_thread(server.stop)
