"""The demo component: TAP and SIA flocks through the whole engine against DaCHS."""

from __future__ import annotations

import asyncio
from pathlib import Path

import psutil
import pytest

from mobu.config import Config
from mobu.demo import DemoContribution, DemoSettings, run_demo
from mobu.demo.dachs import DachsDemo
from mobu.demo.dachs_flocks import dachs_demo
from mobu.discovery import DiscoveryConfig
from mobu.events import Events
from mobu.factory import ProcessContext
from mobu.platform.dachs import DachsServer
from mobu.services.builder import null_logger

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


class WatchedDachsDemo(DachsDemo):
    """The real component, remembering the PIDs of its server."""

    pids: tuple[int, ...] = ()

    async def start(self) -> DemoContribution:
        contribution = await super().start()
        assert self.server is not None
        self.pids = tuple(self.server.pids)
        return contribution


async def test_demo_component_runs_and_leaves_nothing(tmp_path: Path) -> None:
    """``mobu demo``'s DaCHS component: flocks succeed, and its processes are gone afterwards."""
    component = WatchedDachsDemo(DemoSettings(notebooks=tmp_path, monkeys=1))
    lines: list[str] = []
    final = await run_demo([component], duration=15, interval=5, echo=lines.append)
    assert set(final) == {"tap", "sia"}, "\n".join(lines)  # the demo's messages say why
    assert final["tap"]["success_count"] >= 1
    assert final["sia"]["success_count"] >= 1
    assert any(line.startswith("DaCHS TAP:") for line in lines)
    assert component.server is None
    assert len(component.pids) == 2
    for pid in component.pids:
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
