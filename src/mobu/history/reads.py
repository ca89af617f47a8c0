"""The questions the API asks of the history: stored rows plus those still in memory."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Literal

from sqlalchemy.exc import SQLAlchemyError

from mobu.history.codec import summary_of
from mobu.history.errors import HistoryUnavailableError
from mobu.history.queries import (
    bucket_history,
    failure_entry,
    last_failure,
    longest_outage,
    main_event,
    sparkline,
    success_ratio,
    timestamp,
    uptime_windows,
)
from mobu.history.recorder import MINUTE, BucketRow, FailureRow
from mobu.history.service import History
from mobu.history.store import HOUR
from mobu.models.flock import FlockSummary
from mobu.models.history import (
    FailureEntry,
    FlockHistory,
    FlockOverview,
    FlockUptime,
    HistoryOverview,
    SparkPoint,
)
from mobu.models.monkey import MonkeyState

__all__ = ["HistoryReader"]

DAY = 86_400
SLO_SPAN = 30 * DAY


def _summarised(rows: list[BucketRow]) -> bool:
    """Whether each row stands alone in its bucket and carries its summary."""
    seen: set[tuple[int, str]] = set()
    for row in rows:
        key = (row.start, row.event)
        if key in seen or row.quantiles is None:
            return False
        seen.add(key)
    return True


class HistoryReader:
    """Reads the history of :class:`History` for the API (all times in epoch seconds)."""

    def __init__(self, history: History) -> None:
        self.history = history

    async def _rows(
        self,
        flock: str,
        since: int,
        until: int,
        *,
        hourly: bool,
        histograms: bool | Literal["summary"] = True,
    ) -> list[BucketRow]:
        history = self.history
        history.require_open()
        cutoff = history.cutoff(history.clock())
        try:
            rows = await history.store.rows(
                flock, since, until, hourly=hourly, cutoff=cutoff, histograms=histograms
            )
        except (SQLAlchemyError, OSError) as exc:
            raise HistoryUnavailableError(type(exc).__name__) from exc
        waiting = [r for r in history.recorder.unwritten(flock) if since <= r.start < until]
        if histograms == "summary":
            waiting = [replace(r, quantiles=summary_of(r.tally)) for r in waiting]
        rows.extend(waiting)
        return rows

    async def _failures(self, flock: str | None, since: float, limit: int) -> list[FailureRow]:
        history = self.history
        history.require_open()
        try:
            stored = await history.store.failures(flock, since, limit)
        except (SQLAlchemyError, OSError) as exc:
            raise HistoryUnavailableError(type(exc).__name__) from exc
        waiting = [f for f in history.recorder.unwritten_failures(flock) if f.time >= since]
        merged = sorted([*stored, *waiting], key=lambda f: f.time, reverse=True)
        return merged[:limit]

    async def flock_history(
        self, flock: str, since: float, until: float, step: int
    ) -> FlockHistory:
        """Buckets of ``step`` seconds (aligned to multiples of it) covering [since, until)."""
        start = int(since // step) * step
        end = int(-(-until // step)) * step
        hourly = step % HOUR == 0
        first, last = -(-start // HOUR) * HOUR, end // HOUR * HOUR
        if hourly or last - first < 2 * HOUR:
            found = await self._rows(flock, start, end, hourly=hourly)
            return bucket_history(flock, found, since=start, until=end, step=step, hourly=hourly)
        # Minutes: the range's totals from the hourly roll-ups of its whole hours (the same
        # events in a sixtieth of the rows), and when every bucket is one stored row, each
        # bucket from the summary stored with it, without decoding its histogram.
        rows: list[BucketRow] = []
        if step == MINUTE:
            rows = await self._rows(flock, start, end, hourly=False, histograms="summary")
        if rows and _summarised(rows):
            edges = await self._rows(flock, start, first, hourly=False)
            edges += await self._rows(flock, last, end, hourly=False)
        else:
            rows = await self._rows(flock, start, end, hourly=False)
            edges = [r for r in rows if not first <= r.start < last]
        totals = await self._rows(flock, first, last, hourly=True) + edges
        return bucket_history(
            flock, rows, since=start, until=end, step=step, hourly=False, totals=totals
        )

    async def failures(self, flock: str | None, since: float, limit: int) -> list[FailureEntry]:
        """The failure log, newest first."""
        return [failure_entry(f) for f in await self._failures(flock, since, limit)]

    async def uptime(self, flock: str) -> FlockUptime:
        """Success ratios over 1 h, 24 h, 7 d and 30 d, and the outages of the last 30 days."""
        now = self.history.clock()
        end = int(now // MINUTE) * MINUTE + MINUTE
        rows = await self._rows(flock, int(now) - SLO_SPAN, end, hourly=False, histograms=False)
        longest, current = longest_outage(rows)
        return FlockUptime(
            flock=flock,
            windows=uptime_windows(rows, now),
            longest_outage=longest,
            current_outage=current,
        )

    async def overview(self, summaries: Iterable[FlockSummary]) -> HistoryOverview:
        """Every flock running now or with history in the last day, with its figures."""
        history = self.history
        history.require_open()
        now = history.clock()
        running = {s.name: s for s in summaries}
        try:
            known = await history.store.flocks(int(now) - DAY)
        except (SQLAlchemyError, OSError) as exc:
            raise HistoryUnavailableError(type(exc).__name__) from exc
        known.update(history.recorder.unwritten_flocks())
        flocks = [
            await self._flock_overview(name, running.get(name), known.get(name), now)
            for name in sorted(set(running) | set(known))
        ]
        return HistoryOverview(generated_at=timestamp(now), flocks=flocks)

    async def _flock_overview(
        self, name: str, summary: FlockSummary | None, business: str | None, now: float
    ) -> FlockOverview:
        minute = int(now // MINUTE) * MINUTE
        day = await self._rows(name, minute - DAY, minute + MINUTE, hourly=True, histograms=False)
        hour_start = minute - 59 * MINUTE
        hour = await self._rows(name, hour_start, minute + MINUTE, hourly=False)
        event = main_event(day)
        spark: list[SparkPoint] = []
        p95: float | None = None
        if event is not None:
            spark, p95 = sparkline(hour, event, since=hour_start, points=60, step=MINUTE)
        failures = await self._failures(name, now - 30 * DAY, 1)
        overview = FlockOverview(
            name=name,
            business=summary.business if summary is not None else business,
            running=summary is not None,
            success_ratio_hour=success_ratio(hour, now - HOUR)[2],
            success_ratio_day=success_ratio(day, now - DAY)[2],
            main_event=event,
            p95_hour=p95,
            sparkline=spark,
            last_failure=last_failure(failures[0] if failures else None, now),
        )
        if summary is not None:
            states = summary.monkey_states
            overview.monkeys = summary.monkey_count
            overview.monkeys_running = states.get(MonkeyState.RUNNING, 0)
            overview.monkeys_failed = states.get(MonkeyState.ERROR, 0)
            overview.success_count = summary.success_count
            overview.failure_count = summary.failure_count
        return overview
