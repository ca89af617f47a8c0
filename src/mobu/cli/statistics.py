"""Latency statistics of flock summaries as a text table (``mobu flock summary``)."""

from __future__ import annotations

from mobu.cli.common import table
from mobu.models.flock import FlockSummary
from mobu.models.stats import LatencySummary

__all__ = ["statistics_table"]

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
