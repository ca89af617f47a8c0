"""What the dashboard's pages show, built from the history reader and the flock manager.

Everything here is plain data with its figures already formatted; the templates only lay it
out. With history off (no reader) the overview shows the running flocks' own counters.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import quote

from mobu.history import HistoryReader
from mobu.models.flock import FlockData, FlockSummary
from mobu.models.history import FailureEntry, FlockOverview, LastFailure
from mobu.models.monkey import MonkeyState
from mobu.services.manager import FlockManager

__all__ = [
    "FailureView",
    "FlockStatus",
    "MonkeyView",
    "OverviewRow",
    "ago",
    "failure_log",
    "flock_status",
    "overview_rows",
    "percent",
    "seconds",
    "state_counts",
]

NONE = "-"
"""Shown for a figure that does not exist yet."""

FAILURES_SHOWN = 50
"""Entries of a flock page's failure log."""


def percent(ratio: float | None) -> str:
    """A success ratio as a percentage (NONE when nothing happened)."""
    return NONE if ratio is None else f"{100 * ratio:.1f} %"


def seconds(value: float | None) -> str:
    """A duration: milliseconds below one second."""
    if value is None:
        return NONE
    return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.2f} s"


def ago(value: float) -> str:
    """How long ago, roughly: "12 s ago", "5 min ago", "3 h ago", "2 d ago"."""
    for unit, length in (("d", 86_400), ("h", 3600), ("min", 60)):
        if value >= length:
            return f"{int(value // length)} {unit} ago"
    return f"{int(value)} s ago"


@dataclass(slots=True)
class OverviewRow:
    """One flock on the overview."""

    name: str
    business: str
    running: bool
    monkeys_running: int
    monkeys_failed: int
    success_hour: str
    success_day: str
    main_event: str
    p95: str
    sparkline: str
    """JSON ``[[epoch seconds, count, failures, p95 ms or null], ...]`` for the chart."""
    last_failure: str
    last_failure_ago: str
    missing: str = ""
    """A replica group's silent replicas and their monkeys ("" when none, or one process)."""


def _last_failure(last: LastFailure | None) -> tuple[str, str]:
    if last is None:
        return "none", ""
    text = f"{last.error_type}: {last.message}"
    if last.step:
        text = f"{text} ({last.step})"
    return text, ago(last.seconds_ago)


def _row(flock: FlockOverview) -> OverviewRow:
    spark = [
        [int(p.start.timestamp()), p.count, p.failures, None if p.p95 is None else p.p95 * 1000]
        for p in flock.sparkline
    ]
    failure, failure_ago = _last_failure(flock.last_failure)
    return OverviewRow(
        name=flock.name,
        business=flock.business or NONE,
        running=flock.running,
        monkeys_running=flock.monkeys_running,
        monkeys_failed=flock.monkeys_failed,
        success_hour=percent(flock.success_ratio_hour),
        success_day=percent(flock.success_ratio_day),
        main_event=flock.main_event or NONE,
        p95=seconds(flock.p95_hour),
        sparkline=json.dumps(spark, separators=(",", ":")),
        last_failure=failure,
        last_failure_ago=failure_ago,
    )


def _summary_row(summary: FlockSummary) -> OverviewRow:
    done = summary.success_count + summary.failure_count
    ratio = None if done == 0 else summary.success_count / done
    states = summary.monkey_states
    return OverviewRow(
        name=summary.name,
        business=summary.business,
        running=True,
        monkeys_running=states.get(MonkeyState.RUNNING, 0),
        monkeys_failed=states.get(MonkeyState.ERROR, 0),
        success_hour=percent(ratio),
        success_day=NONE,
        main_event=NONE,
        p95=NONE,
        sparkline="[]",
        last_failure="history is off",
        last_failure_ago="",
    )


async def overview_rows(
    reader: HistoryReader | None, summaries: Iterable[FlockSummary]
) -> list[OverviewRow]:
    """Every flock running now or with history in the last day."""
    if reader is None:
        return [_summary_row(s) for s in sorted(summaries, key=lambda s: s.name)]
    overview = await reader.overview(summaries)
    return [_row(f) for f in overview.flocks]


@dataclass(slots=True)
class MonkeyView:
    """One monkey of a flock page."""

    name: str
    state: str
    log_url: str


@dataclass(slots=True)
class FlockStatus:
    """The live part of a flock page: is it running, its monkeys, what the buttons can do."""

    name: str
    running: bool
    business: str = NONE
    monkeys: list[MonkeyView] = field(default_factory=list)
    states: str = ""
    successes: int = 0
    failures: int = 0
    can_start: bool = False
    missing: str = ""
    """A replica group's silent replicas and their monkeys ("" when none, or one process)."""


def state_counts(monkeys: Iterable[MonkeyView]) -> str:
    """ "6 running, 3 error": how many monkeys are in each state."""
    counts: dict[str, int] = {}
    for monkey in monkeys:
        counts[monkey.state] = counts.get(monkey.state, 0) + 1
    return ", ".join(f"{n} {state.lower()}" for state, n in sorted(counts.items()))


def flock_status(manager: FlockManager, name: str, prefix: str, *, can_start: bool) -> FlockStatus:
    """The state of flock ``name`` in this process (not running: an empty status)."""
    if name not in manager.list_flocks():
        return FlockStatus(name=name, running=False, can_start=can_start)
    data = manager.get_flock(name).dump()
    summary = next((s for s in manager.summarize_flocks() if s.name == name), None)
    return running_status(data, summary, prefix, can_start=can_start)


def running_status(
    data: FlockData,
    summary: FlockSummary | None,
    prefix: str,
    *,
    can_start: bool,
    missing: str = "",
) -> FlockStatus:
    """The status of a running flock from its data and counters (this process's or a group's)."""
    base = f"{prefix}/flocks/{quote(data.name)}/monkeys"
    monkeys = [
        MonkeyView(name=m.name, state=m.state.value, log_url=f"{base}/{quote(m.name)}/log")
        for m in data.monkeys
    ]
    return FlockStatus(
        name=data.name,
        running=True,
        business=data.config.business.type,
        monkeys=monkeys,
        states=state_counts(monkeys),
        successes=0 if summary is None else summary.success_count,
        failures=0 if summary is None else summary.failure_count,
        can_start=can_start,
        missing=missing,
    )


@dataclass(slots=True)
class FailureView:
    """One entry of a flock page's failure log."""

    time: str
    ago: str
    monkey: str
    error_type: str
    message: str
    step: str
    log_url: str


def _failure(entry: FailureEntry, now: float) -> FailureView:
    return FailureView(
        time=entry.time.strftime("%Y-%m-%d %H:%M:%S UTC"),
        ago=ago(max(0.0, now - entry.time.timestamp())),
        monkey=entry.monkey,
        error_type=entry.error_type,
        message=entry.message,
        step=entry.step or "",
        log_url=entry.log_url or "",
    )


async def failure_log(reader: HistoryReader | None, name: str) -> list[FailureView]:
    """The newest failures of flock ``name`` (none when history is off)."""
    if reader is None:
        return []
    now = reader.history.clock()
    entries = await reader.failures(name, now - 30 * 86_400, FAILURES_SHOWN)
    return [_failure(e, now) for e in entries]
