"""The live view: ``mobu flock summary --watch`` and ``mobu demo``, on a terminal and not."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import yaml
from rich.console import Console

from mobu.cli import mobu
from mobu.cli.statistics import watch_summary
from mobu.client import MobuClient
from mobu.demo.base import DemoContribution
from mobu.demo.runner import run_demo
from mobu.history.terminal import LiveView, live_rows
from mobu.models.flock import FlockSummary
from mobu.models.history import FlockOverview, HistoryOverview, LastFailure
from mobu.models.monkey import MonkeyState
from mobu.models.stats import EventStatistics, LatencySummary
from tests.cli.conftest import invoke, mobu_server

ANSI = "\x1b["


def summary() -> FlockSummary:
    """A flock with one monkey in error and latency statistics."""
    latency = LatencySummary(count=10, failures=3, p50=0.012, p95=1.5)
    return FlockSummary(
        name="tap",
        business="TAPQueryRunner",
        monkey_count=3,
        success_count=7,
        failure_count=3,
        statistics=[
            EventStatistics(event="tap_query", total=latency, window=latency, window_seconds=300)
        ],
        monkey_states={MonkeyState.RUNNING: 2, MonkeyState.ERROR: 1},
    )


def overview() -> HistoryOverview:
    """The overview holding the flock's last failure."""
    now = datetime.now(tz=UTC)
    failure = LastFailure(
        time=now, seconds_ago=42, monkey="bot-1", error_type="TAPQueryError", message="boom"
    )
    flock = FlockOverview(name="tap", running=True, last_failure=failure)
    return HistoryOverview(generated_at=now, flocks=[flock])


def test_forced_terminal_draws_in_place() -> None:
    """On a terminal the table is drawn with colours; every figure of the flock is there."""
    buffer = io.StringIO()
    console = Console(force_terminal=True, file=buffer, width=200)
    with LiveView(console) as view:
        view.update(live_rows([summary()], overview()))
    text = buffer.getvalue()
    assert ANSI in text
    for expected in ("tap", "TAPQueryRunner", "70.0%", "tap_query", "12ms", "1.50s"):
        assert expected in text
    assert "TAPQueryError: boom (42s ago)" in text


def test_not_a_terminal_prints_plain_tables() -> None:
    """Elsewhere each refresh prints the table as plain text."""
    buffer = io.StringIO()
    with LiveView(Console(file=buffer, width=200)) as view:
        view.update(live_rows([summary()]))
        view.update(live_rows([]))
    text = buffer.getvalue()
    assert ANSI not in text
    assert text.count("mobu flocks") == 2
    assert "no flocks" in text
    row = next(line for line in text.splitlines() if "TAPQueryRunner" in line)
    assert row.split("│")[4].strip() == "2"  # running
    assert row.split("│")[5].strip() == "1"  # failed


async def test_flock_summary_watch(tmp_path: Path) -> None:
    """``mobu flock summary --watch`` refreshes a table of the server's flocks."""
    spec = {
        "name": "cli",
        "count": 2,
        "user_spec": {"username_prefix": "bot-mobu-cli"},
        "business": {"type": "EmptyLoop", "options": {"idle_time": "50ms"}},
    }
    path = tmp_path / "cli.yaml"
    path.write_text(yaml.safe_dump(spec))
    async with mobu_server(tmp_path) as server:
        result = await invoke(mobu, ["flock", "start", str(path), "--url", server.url])
        assert result.exit_code == 0, result.output
        args = ["flock", "summary", "--watch", "--iterations", "2", "--interval", "0.1"]
        result = await invoke(mobu, [*args, "--url", server.url])
        assert result.exit_code == 0, result.output
        assert result.stdout.count("mobu flocks at") == 2
        assert "EmptyLoop" in result.stdout
        assert ANSI not in result.stdout
        result = await invoke(mobu, [*args, "--json", "--url", server.url])
        assert result.exit_code == 2
        buffer = io.StringIO()
        console = Console(force_terminal=True, file=buffer, width=200)
        async with MobuClient(server.url) as client:
            await watch_summary(client, "cli", console, 0.1, 1)
        assert ANSI in buffer.getvalue()
        assert "empty_loop" in buffer.getvalue()


class EmptyComponent:
    """A demo component without a service: one EmptyLoop flock."""

    name = "empty"

    async def start(self) -> DemoContribution:
        flock = {
            "name": "empty",
            "count": 2,
            "user_spec": {"username_prefix": "bot-mobu-empty"},
            "business": {"type": "EmptyLoop", "options": {"idle_time": "50ms"}},
        }
        return DemoContribution(flocks=[flock])

    async def stop(self) -> None:
        return None


async def test_demo_prints_the_dashboard_url_then_a_live_view() -> None:
    """The demo announces the dashboard URL first, then redraws its flocks' table."""
    lines: list[str] = []
    buffer = io.StringIO()
    live = Console(force_terminal=True, file=buffer, width=200)
    final = await run_demo(
        [EmptyComponent()], duration=1.5, interval=0.2, echo=lines.append, log=lambda _: None,
        live=live,
    )  # fmt: skip
    assert lines[0].startswith("mobu dashboard: http://127.0.0.1:")
    assert lines[0].endswith("/mobu/ui")
    assert "empty" in final
    assert ANSI in buffer.getvalue()
    assert "EmptyLoop" in buffer.getvalue()
