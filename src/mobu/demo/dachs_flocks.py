"""The DaCHS flocks of ``mobu demo``: discovery entries and flocks for a running server."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from mobu.discovery import DatasetServices
from mobu.models.flock import FlockConfig
from mobu.platform.dachs import DachsServer

__all__ = ["DachsDemoConfig", "dachs_demo", "demo_flocks"]


@dataclass(frozen=True)
class DachsDemoConfig:
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


def demo_flocks(
    *,
    dataset: str = "demo",
    tap_monkeys: int = 2,
    sia_monkeys: int = 1,
    idle_time: float = 10,
) -> list[dict[str, Any]]:
    """Return the demo's flock configurations (as dicts): a TAP and an SIA flock."""
    common = {"dataset": dataset, "idle_time": idle_time, "error_idle_time": idle_time}
    return [
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
        },
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
        },
    ]


def dachs_demo(
    server: DachsServer,
    *,
    dataset: str = "demo",
    tap_monkeys: int = 2,
    sia_monkeys: int = 1,
    idle_time: timedelta = timedelta(seconds=10),
) -> DachsDemoConfig:
    """Return the discovery additions and flocks of the demo for a started ``server``."""
    flocks = demo_flocks(
        dataset=dataset,
        tap_monkeys=tap_monkeys,
        sia_monkeys=sia_monkeys,
        idle_time=idle_time.total_seconds(),
    )
    services = DatasetServices.model_validate({"tap": server.tap_url, "sia": server.sia_url})
    return DachsDemoConfig(
        datasets={dataset: services},
        applications=["tap", "sia"],
        flocks=[FlockConfig.model_validate(flock) for flock in flocks],
    )
