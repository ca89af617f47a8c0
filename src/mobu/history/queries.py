"""From stored rows to the API's answers: buckets, uptime and outages, the overview's figures.

Pure functions over :class:`~mobu.history.recorder.BucketRow` lists (rows read from the store
plus those still in memory); they never change a row's tally.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from mobu.history.recorder import BucketRow, FailureRow
from mobu.models.history import (
    EventBucket,
    FailureEntry,
    FlockHistory,
    HistoryBucket,
    LastFailure,
    Outage,
    SparkPoint,
    UptimeWindow,
)
from mobu.services.stats import QUANTILES, Tally

__all__ = [
    "UPTIME_WINDOWS",
    "bucket_history",
    "failure_entry",
    "last_failure",
    "longest_outage",
    "main_event",
    "sparkline",
    "success_ratio",
    "timestamp",
    "uptime_windows",
]

UPTIME_WINDOWS = (("1h", 3600), ("24h", 86_400), ("7d", 7 * 86_400), ("30d", 30 * 86_400))
"""The uptime windows: name and seconds."""


def timestamp(seconds: float) -> datetime:
    """Seconds since the epoch as an aware UTC datetime."""
    return datetime.fromtimestamp(seconds, tz=UTC)


class _Merged:
    """The rows of one bucket and event type; a single row is summarised as stored."""

    __slots__ = ("first", "monkeys", "tally")

    def __init__(self, row: BucketRow) -> None:
        self.first = row
        self.tally: Tally | None = None
        self.monkeys = row.monkeys

    def add(self, row: BucketRow) -> None:
        if self.tally is None:
            self.tally = Tally(self.first.tally.durations.relative_error)
            self.tally.merge(self.first.tally)
        self.tally.merge(row.tally)
        self.monkeys = max(self.monkeys, row.monkeys)

    def merged(self) -> Tally:
        return self.first.tally if self.tally is None else self.tally

    def summary(self) -> EventBucket:
        tally = self.merged()
        durations = tally.durations
        stored = self.first.quantiles if self.tally is None else None
        if stored is None and durations.count:
            stored = (*durations.quantiles(QUANTILES), durations.max)
        if not stored:
            return EventBucket(count=tally.count, failures=tally.failures, monkeys=self.monkeys)
        p50, p90, p95, p99, most = stored
        return EventBucket(
            count=tally.count,
            failures=tally.failures,
            monkeys=self.monkeys,
            p50=p50,
            p90=p90,
            p95=p95,
            p99=p99,
            max=most,
        )


def _merge_totals(rows: Iterable[BucketRow]) -> dict[str, _Merged]:
    totals: dict[str, _Merged] = {}
    for row in rows:
        total = totals.get(row.event)
        if total is None:
            totals[row.event] = _Merged(row)
        else:
            total.add(row)
    return totals


def _slot_rows(merged: list[dict[str, _Merged]]) -> Iterable[BucketRow]:
    """Each bucket's merged rows as one row (the totals then merge once per bucket)."""
    for events in merged:
        for slot in events.values():
            first = slot.first
            yield BucketRow(
                first.flock, first.event, first.business, first.start, slot.merged(), slot.monkeys
            )


def bucket_history(
    flock: str,
    rows: Iterable[BucketRow],
    *,
    since: int,
    until: int,
    step: int,
    hourly: bool,
    totals: Iterable[BucketRow] | None = None,
) -> FlockHistory:
    """Merge ``rows`` into buckets of ``step`` seconds from ``since`` (aligned) to ``until``.

    ``totals``: the same events as ``rows`` in fewer rows (hourly roll-ups), to sum the range
    from; by default the range's totals are merged from ``rows``.
    """
    count = max(1, -(-(until - since) // step))
    merged: list[dict[str, _Merged]] = [{} for _ in range(count)]
    for row in rows:
        index = (row.start - since) // step
        if not 0 <= index < count:
            continue
        slot = merged[index].get(row.event)
        if slot is None:
            merged[index][row.event] = _Merged(row)
        else:
            slot.add(row)
    summed = _merge_totals(_slot_rows(merged) if totals is None else totals)
    buckets = [
        HistoryBucket(
            start=timestamp(since + i * step),
            end=timestamp(since + (i + 1) * step),
            events={name: m.summary() for name, m in sorted(events.items())},
        )
        for i, events in enumerate(merged)
    ]
    return FlockHistory(
        flock=flock,
        since=timestamp(since),
        until=timestamp(since + count * step),
        step=step,
        resolution="hour" if hourly else "minute",
        events=sorted(summed),
        totals={name: m.summary() for name, m in sorted(summed.items())},
        buckets=buckets,
    )


def success_ratio(rows: Iterable[BucketRow], since: float) -> tuple[int, int, float | None]:
    """Events, failures and success ratio of the rows starting at ``since`` or later."""
    count = failures = 0
    for row in rows:
        if row.start >= since:
            count += row.tally.count
            failures += row.tally.failures
    return count, failures, (None if count == 0 else (count - failures) / count)


def uptime_windows(rows: list[BucketRow], now: float) -> list[UptimeWindow]:
    """The success ratio of every uptime window ending at ``now``."""
    windows = []
    for name, seconds in UPTIME_WINDOWS:
        count, failures, ratio = success_ratio(rows, now - seconds)
        windows.append(
            UptimeWindow(
                window=name, seconds=seconds, count=count, failures=failures, success_ratio=ratio
            )
        )
    return windows


def longest_outage(rows: Iterable[BucketRow]) -> tuple[Outage | None, Outage | None]:
    """The longest outage and the one going on (if any).

    Rows are merged per start time (all event types); a bucket is down when it has failures
    and no success. An outage is a run of down buckets that no successful bucket interrupts
    (quiet time in between belongs to it); it ends where its last down bucket ends.
    """
    per_start: dict[int, list[int]] = {}
    for row in rows:
        slot = per_start.setdefault(row.start, [0, 0, row.resolution])
        slot[0] += row.tally.count
        slot[1] += row.tally.failures
        slot[2] = min(slot[2], row.resolution)
    longest: tuple[int, int] | None = None
    current: tuple[int, int] | None = None
    for start in sorted(per_start):
        count, failures, resolution = per_start[start]
        if count == 0:
            continue
        if failures == count:
            begin = start if current is None else current[0]
            current = (begin, start + resolution)
        else:
            current = None
        if current is not None and (longest is None or _length(current) > _length(longest)):
            longest = current
    return _outage(longest, ongoing=longest is not None and longest == current), _outage(
        current, ongoing=True
    )


def _length(span: tuple[int, int]) -> int:
    return span[1] - span[0]


def _outage(span: tuple[int, int] | None, *, ongoing: bool) -> Outage | None:
    if span is None:
        return None
    return Outage(
        start=timestamp(span[0]), end=timestamp(span[1]), seconds=_length(span), ongoing=ongoing
    )


def main_event(rows: Iterable[BucketRow]) -> str | None:
    """The event type with the most events (ties: the first name)."""
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.event] = counts.get(row.event, 0) + row.tally.count
    if not counts:
        return None
    return min(counts, key=lambda name: (-counts[name], name))


def sparkline(
    rows: Iterable[BucketRow], event: str, *, since: int, points: int, step: int
) -> tuple[list[SparkPoint], float | None]:
    """Points of ``event`` per ``step`` from ``since``, and its p95 over all of them."""
    history = bucket_history(
        "", (r for r in rows if r.event == event), since=since, until=since + points * step,
        step=step, hourly=False,
    )  # fmt: skip
    spark = []
    for bucket in history.buckets:
        data = bucket.events.get(event)
        spark.append(
            SparkPoint(
                start=bucket.start,
                count=0 if data is None else data.count,
                failures=0 if data is None else data.failures,
                p95=None if data is None else data.p95,
            )
        )
    total = history.totals.get(event)
    return spark, None if total is None else total.p95


def failure_entry(row: FailureRow) -> FailureEntry:
    """A failure as the API shows it."""
    return FailureEntry(
        time=timestamp(row.time),
        flock=row.flock,
        monkey=row.monkey,
        business=row.business,
        error_type=row.error_type,
        message=row.message,
        step=row.step,
        log_url=row.log_path,
    )


def last_failure(row: FailureRow | None, now: float) -> LastFailure | None:
    """The overview's last failure of a flock."""
    if row is None:
        return None
    return LastFailure(
        time=timestamp(row.time),
        seconds_ago=max(0.0, now - row.time),
        monkey=row.monkey,
        error_type=row.error_type,
        message=row.message,
        step=row.step,
    )
