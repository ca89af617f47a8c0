"""``mobu demo`` components and runner against a real JupyterHub."""

from __future__ import annotations

from pathlib import Path

import pytest

from mobu.demo import DemoContribution, DemoError, DemoSettings, run_demo
from mobu.demo.jupyter import JupyterHubDemo
from tests.jupyter.conftest import needs_hub, remember_processes

EXAMPLES = Path(__file__).parents[2] / "examples" / "notebooks"


class Broken:
    """A component that cannot start here."""

    name = "broken"

    def __init__(self) -> None:
        self.stopped = 0

    async def start(self) -> DemoContribution:
        raise RuntimeError("no such service on this machine")

    async def stop(self) -> None:
        self.stopped += 1


async def test_no_component_starts() -> None:
    """The demo fails clearly when no component can start, after stopping them all."""
    broken = Broken()
    lines: list[str] = []
    with pytest.raises(DemoError, match="no demo component could start"):
        await run_demo([broken], duration=1, echo=lines.append)
    assert broken.stopped >= 1
    assert any("broken unavailable, skipped" in line for line in lines)


class WatchedHubDemo(JupyterHubDemo):
    """The real component, whose processes go to the end-of-session leak check."""

    async def stop(self) -> None:
        if self.hub is not None:
            remember_processes(self.hub.processes())
        await super().stop()


@pytest.mark.jupyter
@needs_hub
async def test_demo_runs_flocks_and_leaves_nothing() -> None:
    """The demo runs its flocks, skips a broken component and stops the hub."""
    component = WatchedHubDemo(DemoSettings(notebooks=str(EXAMPLES), monkeys=1))
    broken = Broken()
    lines: list[str] = []
    final = await run_demo([component, broken], duration=25, interval=5, echo=lines.append)
    assert set(final) == {"python", "notebooks"}
    assert final["python"]["business"] == "NubladoPythonLoop"
    assert final["python"]["success_count"] + final["notebooks"]["success_count"] >= 1
    assert any(line.startswith("mobu API:") for line in lines)
    assert any(line.startswith("JupyterHub:") for line in lines)
    assert component.hub is None  # stopped
    assert broken.stopped >= 1
