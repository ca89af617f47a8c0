"""The history store on SQLite and on a real PostgreSQL: write, read back, restart, retention."""

from __future__ import annotations

from pathlib import Path

from mobu.alerts.reporting import FailureReport
from mobu.exceptions import BusinessError
from mobu.history import History, HistoryReader
from mobu.history.queries import bucket_history
from tests.history.conftest import T0, Clock, check, make_history


class StepError(BusinessError):
    """A failing step, with context like a notebook cell's."""


def publish_minutes(history: History, clock: Clock, minutes: int, per_minute: int) -> None:
    """``per_minute`` events a minute (the first of each minute failed) for ``minutes``."""
    for _ in range(minutes):
        for i in range(per_minute):
            event = check("f1", f"bot-{i % 3}", success=i != 0, seconds=0.01 * (i + 1))
            history.recorder.publish("check", event)
        clock.advance(60)


async def test_rows_written_and_read_back(store_url: str, tmp_path: Path) -> None:
    """Per-minute buckets come back with their counts, failures, monkeys and percentiles."""
    clock = Clock()
    history = make_history(store_url, clock, tmp_path)
    await history.start()
    publish_minutes(history, clock, minutes=5, per_minute=10)
    assert await history.flush()
    assert history.status().written_events == 50
    reader = HistoryReader(history)
    result = await reader.flock_history("f1", T0, T0 + 300, 60)
    assert [b.events["check"].count for b in result.buckets] == [10] * 5
    assert all(b.events["check"].failures == 1 for b in result.buckets)
    assert all(b.events["check"].monkeys == 3 for b in result.buckets)
    total = result.totals["check"]
    assert (total.count, total.failures) == (50, 5)
    assert total.p50 is not None
    assert abs(total.p50 - 0.05) / 0.05 < 0.025
    assert total.max is not None
    assert abs(total.max - 0.1) < 1e-9
    assert result.resolution == "minute"
    await history.aclose()


async def test_failures_are_logged_newest_first(store_url: str, tmp_path: Path) -> None:
    """The failure log keeps type, redacted message, step and log link, newest first."""
    clock = Clock()
    history = make_history(store_url, clock, tmp_path)
    await history.start()
    for n in range(3):
        error = StepError(f"cell {n} failed, token s3cr3t-token", notebook="a.ipynb", cell=n)
        report = FailureReport(
            flock="f1",
            monkey=f"bot-{n}",
            business="Tester",
            error=error,
            context=error.alert_context(),
            secrets=("s3cr3t-token",),
        )
        history.recorder.failure(report)
        clock.advance(10)
    assert await history.flush()
    entries = await HistoryReader(history).failures("f1", T0 - 1, 2)
    assert [e.monkey for e in entries] == ["bot-2", "bot-1"]
    newest = entries[0]
    assert newest.error_type == "StepError"
    assert "s3cr3t-token" not in newest.message
    assert newest.message.startswith("cell 2 failed")
    assert newest.step == "notebook=a.ipynb; cell=2"
    assert newest.log_url == "/mobu/flocks/f1/monkeys/bot-2/log"
    assert await HistoryReader(history).failures("other", T0 - 1, 10) == []
    await history.aclose()


async def test_restart_keeps_history(store_url: str, tmp_path: Path) -> None:
    """A new process on the same store sees what the last one wrote, and adds to it."""
    clock = Clock()
    first = make_history(store_url, clock, tmp_path)
    await first.start()
    publish_minutes(first, clock, minutes=2, per_minute=4)
    first.recorder.publish("check", check("f1", "bot-0"))
    await first.aclose()
    second = make_history(store_url, clock, tmp_path)
    await second.start()
    second.recorder.publish("check", check("f1", "bot-0"))
    result = await HistoryReader(second).flock_history("f1", T0, T0 + 180, 60)
    assert [b.events["check"].count for b in result.buckets] == [4, 4, 2]
    assert second.status().schema_revision == "v0002"
    await second.aclose()


async def test_rollup_retention_and_downsampling(store_url: str, tmp_path: Path) -> None:
    """Finished hours roll up; after minutes_kept only hours remain; after retention nothing."""
    clock = Clock()
    history = make_history(store_url, clock, tmp_path)
    await history.start()
    publish_minutes(history, clock, minutes=120, per_minute=2)
    assert await history.flush()
    reader = HistoryReader(history)
    hourly = await reader.flock_history("f1", T0, T0 + 7200, 3600)
    assert [b.events["check"].count for b in hourly.buckets] == [120, 120]
    done = await history.maintain(T0 + 7200)
    assert done["rolled"] == 120
    assert (await history.store.counts())[0] == 122
    hourly = await reader.flock_history("f1", T0, T0 + 7200, 3600)
    assert hourly.resolution == "hour"
    assert [b.events["check"].count for b in hourly.buckets] == [120, 120]
    assert hourly.totals["check"].failures == 120
    clock.now = T0 + 8 * 86_400
    done = await history.maintain()
    assert done["minutes_deleted"] == 120
    minutes = await reader.flock_history("f1", T0, T0 + 7200, 60)
    counts = [b.events["check"].count for b in minutes.buckets if b.events]
    assert counts == [120, 120]
    clock.now = T0 + 91 * 86_400
    done = await history.maintain()
    assert done["expired"] == 2
    assert await history.store.counts() == (0, 0)
    await history.aclose()


async def test_size_bounds_drop_the_oldest(store_url: str, tmp_path: Path) -> None:
    """Beyond max_rows and max_failures the oldest rows are deleted."""
    clock = Clock()
    history = make_history(store_url, clock, tmp_path, max_rows=1000, max_failures=100)
    await history.start()
    for minute in range(1200):
        history.recorder.publish("check", check("f1", "bot-0"))
        history.recorder.failure(
            FailureReport(flock="f1", monkey="bot-0", business="T", error=RuntimeError("x"))
        )
        clock.advance(60 if minute % 10 == 9 else 0)
        history.recorder.close_finished(everything=True)
        if minute % 200 == 199:
            assert await history.flush()
    assert await history.flush()
    done = await history.store.maintain(T0, history.retention)
    assert done["over_bound"] == 200 + 1100
    assert await history.store.counts() == (1000, 100)
    result = await HistoryReader(history).flock_history("f1", T0, clock.now + 60, 3600)
    assert result.totals["check"].count == 1000
    await history.aclose()


async def test_minute_query_totals_from_rollups(store_url: str, tmp_path: Path) -> None:
    """A minute query's totals, summed from the hourly roll-ups of its whole hours plus the
    minutes at its edges, equal those merged from every minute; buckets keep their quantiles."""
    clock = Clock()
    history = make_history(store_url, clock, tmp_path)
    await history.start()
    publish_minutes(history, clock, minutes=200, per_minute=4)
    assert await history.flush()
    reader = HistoryReader(history)
    since, until = T0 + 30 * 60, T0 + 190 * 60
    before = await reader.flock_history("f1", since, until, 60)
    done = await history.maintain(T0 + 3 * 3600)
    assert done["rolled"] == 180
    after = await reader.flock_history("f1", since, until, 60)
    assert after.totals == before.totals
    assert after.totals["check"].count == 160 * 4
    assert after.buckets == before.buckets
    first = after.buckets[0].events["check"]
    assert first.p50 is not None
    assert abs(first.p50 - 0.02) / 0.02 < 0.025
    # The buckets read from the stored summaries equal those merged from whole histograms.
    cutoff = history.cutoff(clock())
    full = await history.store.rows("f1", int(since), int(until), hourly=False, cutoff=cutoff)
    merged = bucket_history("f1", full, since=int(since), until=int(until), step=60, hourly=False)
    assert after.buckets == merged.buckets
    assert after.totals == merged.totals
    await history.aclose()
