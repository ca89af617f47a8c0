"""Latency statistics of flock summaries as a text table, and the live view of
``mobu flock summary --watch``."""

from __future__ import annotations

import asyncio

from rich.console import Console

from mobu.cli.common import table
from mobu.client import MobuClient, MobuClientError
from mobu.history.terminal import LiveView, live_rows
from mobu.models.flock import FlockSummary
from mobu.models.history import HistoryOverview
from mobu.models.stats import LatencySummary

__all__ = ["statistics_table", "watch_summary"]

HEADERS = ["FLOCK", "EVENT", "SPAN", "COUNT", "FAILURES", "P50", "P90", "P95", "P99", "MAX"]


def _seconds(value: float | None) -> str:
    if value is None:
        return "-"
    if value < 1:
        return f"{value * 1000:.1f}ms"
    return f"{value:.2f}s"


def _row(flock: str, event: str, span: str, stats: LatencySummary) -> list[str]:
    return [
        flock,
        event,
        span,
        str(stats.count),
        str(stats.failures),
        *(_seconds(v) for v in (stats.p50, stats.p90, stats.p95, stats.p99, stats.max)),
    ]


def statistics_table(summaries: list[FlockSummary]) -> str | None:
    """Per flock and event type: whole run and sliding window; None when there is nothing."""
    rows: list[list[str]] = []
    for summary in summaries:
        for stats in summary.statistics or []:
            window = f"last {stats.window_seconds / 60:g}m"
            rows.append(_row(summary.name, stats.event, "run", stats.total))
            rows.append(_row(summary.name, stats.event, window, stats.window))
    return table(HEADERS, rows) if rows else None


async def _overview(client: MobuClient) -> HistoryOverview | None:
    """The server's history overview (monkey states, last errors); None without history."""
    try:
        response = await client._request("GET", "history/overview")
    except MobuClientError:
        return None
    return HistoryOverview.model_validate(response.json())


async def watch_summary(
    client: MobuClient,
    name: str | None,
    console: Console,
    interval: float,
    iterations: int | None = None,
) -> None:
    """Show the live table of the server's flocks (or of flock ``name``) every ``interval``."""
    done = 0
    with LiveView(console, title=f"mobu flocks at {client.url}") as view:
        while iterations is None or done < iterations:
            if done:
                await asyncio.sleep(interval)  # the refresh period of the display
            if name is None:
                summaries = (await client.summary()).flocks
            else:
                summaries = [await client.flock_summary(name)]
            view.update(live_rows(summaries, await _overview(client)))
            done += 1
