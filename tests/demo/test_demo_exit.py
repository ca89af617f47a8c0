"""``mobu demo`` leaves no process behind, however it is stopped (issue 11, item 3).

Each test runs the real command (JupyterHub with its proxy, DaCHS with its PostgreSQL, then
mobu) as a subprocess in its own process group, stops it one way, and checks by PID that nothing
it spawned still runs (see :mod:`tests.demo.support`).
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mobu.platform.dachs import dachs_unavailable_reason
from mobu.platform.hub import find_configurable_http_proxy

from .support import DemoRun, subreaper

_NO_DACHS = dachs_unavailable_reason()

pytestmark = [
    pytest.mark.jupyter,
    pytest.mark.dachs,
    pytest.mark.skipif(
        find_configurable_http_proxy() is None,
        reason="npm configurable-http-proxy not installed (run scripts/install/jupyter.sh)",
    ),
    pytest.mark.skipif(_NO_DACHS is not None, reason=_NO_DACHS or ""),
]


@pytest.fixture
def start_demo() -> Iterator[Callable[..., DemoRun]]:
    """Start ``mobu demo`` runs with this process as a child subreaper; kill leftovers after."""
    runs: list[DemoRun] = []
    with subreaper() as before:

        def start(*, merge_stderr: bool = False) -> DemoRun:
            run = DemoRun(before, merge_stderr=merge_stderr)
            runs.append(run)
            return run

        try:
            yield start
        finally:
            for run in runs:
                run.kill_all()


def _stopped_cleanly(demo: DemoRun) -> int:
    """Wait for the demo; fail if any process it spawned still runs; return its exit code."""
    code = demo.wait()
    leftovers = demo.leftovers()
    if leftovers:
        names = [f"{p.pid} {p.cmdline()[:3]}" for p in leftovers]
        pytest.fail(f"processes of the demo left running: {names}\n{demo.describe()}")
    assert demo.dachs_directories() == []
    return code


def test_stdout_closed_by_head(start_demo: Callable[..., DemoRun]) -> None:
    """``mobu demo | head -5``: the closed pipe stops the demo, which stops all it started."""
    demo = start_demo()
    demo.pipe_into("head", "-5")
    for _ in range(5):
        demo.wait_line("", stream="stdout")
    assert _stopped_cleanly(demo) == 0, demo.describe()
    assert "stdout is closed: stopping the demo" in demo.stderr_lines
    assert demo.stderr_lines[-1] == "Demo stopped."
    assert any("dachs: started dachs" in line for line in demo.stderr_lines)


def test_stdout_and_stderr_closed_by_head(start_demo: Callable[..., DemoRun]) -> None:
    """``mobu demo 2>&1 | head -5``: the cleanup runs although it cannot write anything."""
    demo = start_demo(merge_stderr=True)
    demo.pipe_into("head", "-5")
    for _ in range(5):
        demo.wait_line("", stream="stdout")
    assert _stopped_cleanly(demo) == 0, demo.describe()


def test_ctrl_c_with_tee(start_demo: Callable[..., DemoRun], tmp_path: Path) -> None:
    """Ctrl-C to ``mobu demo | tee f`` (tee dies too): a graceful stop, nothing left."""
    demo = start_demo()
    demo.pipe_into("tee", str(tmp_path / "f"), same_group=True)
    demo.wait_line("Press Ctrl-C to stop.", stream="stdout")
    announced = [line for line in demo.stdout_lines if line.startswith("mobu ")]
    assert announced[0].startswith("mobu dashboard: http://127.0.0.1:"), demo.describe()
    assert announced[0].endswith("/mobu/ui")
    demo.signal_group(signal.SIGINT)
    assert _stopped_cleanly(demo) == 0, demo.describe()
    assert "Stop requested (SIGINT)." in demo.stderr_lines
    assert demo.stderr_lines[-1] == "Demo stopped."


def test_ctrl_c_while_dachs_starts(start_demo: Callable[..., DemoRun]) -> None:
    """Ctrl-C while DaCHS is starting: its start thread is stopped with its PostgreSQL."""
    demo = start_demo()
    demo.read_stdout()
    demo.wait_line("dachs: started postgres")
    demo.signal_group(signal.SIGINT)
    assert _stopped_cleanly(demo) == 0, demo.describe()
    assert "  stop requested (SIGINT) while dachs was starting" in demo.stderr_lines
    assert not any(line.startswith("mobu API:") for line in demo.stdout_lines)


def test_sigterm_before_hub_is_up(start_demo: Callable[..., DemoRun]) -> None:
    """SIGTERM once the hub is spawned but not ready (``timeout 3 mobu demo``): nothing left."""
    demo = start_demo()
    demo.read_stdout()
    demo.wait_line("jupyterhub: started jupyterhub")
    demo.signal(signal.SIGTERM)
    assert _stopped_cleanly(demo) == 0, demo.describe()
    assert "  stop requested (SIGTERM) while jupyterhub was starting" in demo.stderr_lines
    assert "Starting dachs..." not in demo.stderr_lines


def test_sigterm_right_after_spawn(start_demo: Callable[..., DemoRun]) -> None:
    """SIGTERM at once after the spawn: the demo dies or stops, and nothing it spawned runs."""
    demo = start_demo()
    demo.signal(signal.SIGTERM)
    demo.read_stdout()
    assert _stopped_cleanly(demo) in {0, -signal.SIGTERM}, demo.describe()


def test_sigterm_once_handlers_are_installed(start_demo: Callable[..., DemoRun]) -> None:
    """SIGTERM as soon as the command began (its first line): a clean stop, exit 0."""
    demo = start_demo()
    demo.read_stdout()
    demo.wait_line("Starting jupyterhub...")
    demo.signal(signal.SIGTERM)
    assert _stopped_cleanly(demo) == 0, demo.describe()
    assert demo.stderr_lines[-1] == "Demo stopped."
    assert "Starting dachs..." not in demo.stderr_lines
