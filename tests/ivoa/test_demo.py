"""The demo component: TAP and SIA flocks through the whole engine against DaCHS."""

from __future__ import annotations

import asyncio

import pytest

from mobu.config import Config
from mobu.events import Events
from mobu.factory import ProcessContext
from mobu.services.builder import null_logger
from mobu.services.discovery import DiscoveryConfig
from mobu.testing.dachs import DachsServer, dachs_demo

from .conftest import needs_dachs

pytestmark = [pytest.mark.dachs, needs_dachs]


async def test_demo_flocks_run_and_stop(dachs: DachsServer) -> None:
    """The demo's flocks, configured from its discovery entries, query DaCHS and stop."""
    demo = dachs_demo(dachs, tap_monkeys=2, sia_monkeys=1)
    config = Config(
        log_monkeys_to_file=False,
        stop_grace=10,
        discovery=DiscoveryConfig(datasets=demo.datasets, applications=demo.applications),
    )
    events = Events()
    assert events.recorder is not None
    async with ProcessContext(config, logger=null_logger(), events=events) as context:
        for flock in demo.flocks:
            await context.manager.start_flock(flock)
        await asyncio.wait_for(events.recorder.wait_for("tap_query", 2), timeout=120)
        await asyncio.wait_for(events.recorder.wait_for("sia_query", 1), timeout=120)
        summaries = {s.name: s for s in context.manager.summarize_flocks()}
        assert set(summaries) == {"tap", "sia"}
        await asyncio.wait_for(context.manager.stop_all(), timeout=30)
    assert all(e.success for e in events.recorder.published("tap_query"))  # type: ignore[attr-defined]
    assert all(e.success for e in events.recorder.published("sia_query"))  # type: ignore[attr-defined]
