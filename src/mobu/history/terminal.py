"""The terminal's live view of the flocks (rich): ``mobu flock summary --watch``, ``mobu demo``.

One row per flock: monkeys running and failed, ok and failed iterations, success %, p50 and
p95 of its main event (the event type with the most events in the statistics window), the last
error and how long ago. On a terminal the table is redrawn in place (:class:`LiveView`);
otherwise each refresh prints it as plain text.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass

from rich.console import Console
from rich.live import Live
from rich.table import Table

from mobu.models.flock import FlockSummary
from mobu.models.history import HistoryOverview
from mobu.models.monkey import MonkeyState

__all__ = ["LiveRow", "LiveView", "live_rows", "live_table", "plain_table"]


@dataclass(slots=True)
class LiveRow:
    """One flock of the live view."""

    name: str
    business: str
    monkeys: int
    running: int | None
    failed: int | None
    ok: int
    failures: int
    event: str | None = None
    p50: float | None = None
    p95: float | None = None
    last_error: str | None = None
    last_error_ago: float | None = None


def _main_statistics(summary: FlockSummary) -> tuple[str | None, float | None, float | None]:
    stats = summary.statistics or []
    if not stats:
        return None, None, None
    main = min(stats, key=lambda s: (-s.total.count, s.event))
    window = main.window if main.window.count else main.total
    return main.event, window.p50, window.p95


def live_rows(
    summaries: Iterable[FlockSummary], overview: HistoryOverview | None = None
) -> list[LiveRow]:
    """Rows from the flock summaries, with monkey states and last errors from the overview."""
    known = {f.name: f for f in overview.flocks} if overview is not None else {}
    rows = []
    for summary in sorted(summaries, key=lambda s: s.name):
        event, p50, p95 = _main_statistics(summary)
        states = summary.monkey_states
        entry = known.get(summary.name)
        running: int | None = None
        failed: int | None = None
        if states:
            running, failed = states.get(MonkeyState.RUNNING, 0), states.get(MonkeyState.ERROR, 0)
        elif entry is not None:
            running, failed = entry.monkeys_running, entry.monkeys_failed
        row = LiveRow(
            name=summary.name,
            business=summary.business,
            monkeys=summary.monkey_count,
            running=running,
            failed=failed,
            ok=summary.success_count,
            failures=summary.failure_count,
            event=event,
            p50=p50,
            p95=p95,
        )
        last = entry.last_failure if entry is not None else None
        if last is not None:
            row.last_error = f"{last.error_type}: {last.message}".splitlines()[0][:80]
            row.last_error_ago = last.seconds_ago
        rows.append(row)
    return rows


def _seconds(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value * 1000:.0f}ms" if value < 1 else f"{value:.2f}s"


def _ago(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 120:
        return f"{seconds:.0f}s ago"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m ago"
    return f"{seconds / 3600:.1f}h ago"


def _count(value: int | None) -> str:
    return "-" if value is None else str(value)


def live_table(rows: list[LiveRow], *, title: str = "mobu flocks") -> Table:
    """The rich table of the rows."""
    table = Table(title=title, expand=False)
    for header, justify in (
        ("flock", "left"), ("business", "left"), ("monkeys", "right"), ("running", "right"),
        ("failed", "right"), ("ok", "right"), ("errors", "right"), ("success", "right"),
        ("event", "left"), ("p50", "right"), ("p95", "right"), ("last error", "left"),
    ):  # fmt: skip
        table.add_column(header, justify=justify, no_wrap=header != "last error")  # type: ignore[arg-type]
    for row in rows:
        runs = row.ok + row.failures
        rate = f"{100 * row.ok / runs:.1f}%" if runs else "-"
        style = "red" if row.failed or (runs and row.failures * 2 > runs) else None
        error = "" if row.last_error is None else f"{row.last_error} ({_ago(row.last_error_ago)})"
        table.add_row(
            row.name, row.business, str(row.monkeys), _count(row.running), _count(row.failed),
            str(row.ok), str(row.failures), rate, row.event or "-", _seconds(row.p50),
            _seconds(row.p95), error, style=style,
        )  # fmt: skip
    if not rows:
        table.caption = "no flocks"
    return table


def plain_table(rows: list[LiveRow], *, title: str = "mobu flocks", width: int = 160) -> str:
    """The table as plain text (no colours, no cursor movement), for logs and pipes."""
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=False, color_system=None, width=width)
    console.print(live_table(rows, title=title))
    return buffer.getvalue().rstrip("\n")


class LiveView:
    """Redraws the table in place on a terminal; prints it again on anything else.

    Use as a context manager around the refreshes: ``with LiveView(console) as view:
    view.update(rows)``.
    """

    def __init__(self, console: Console, *, title: str = "mobu flocks") -> None:
        self.console = console
        self.title = title
        self._live: Live | None = None

    def __enter__(self) -> LiveView:
        if self.console.is_terminal:
            self._live = Live(console=self.console, auto_refresh=False, transient=False)
            self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.__exit__(None, None, None)
            self._live = None

    def update(self, rows: list[LiveRow], *, title: str | None = None) -> None:
        """Show ``rows`` now."""
        table = live_table(rows, title=title or self.title)
        if self._live is not None:
            self._live.update(table, refresh=True)
        else:
            self.console.print(table)
