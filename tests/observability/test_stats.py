"""Latency histograms: accuracy, merging, bounded memory, sliding window, per-flock statistics."""

from __future__ import annotations

import json
import math
import random
from datetime import timedelta

import pytest

from mobu.cli.statistics import statistics_table
from mobu.events import Events
from mobu.models.flock import FlockSummary
from mobu.services.business.tap import TapQuery
from mobu.services.stats import LogHistogram, StatsCollector, Tally, WindowedTally
from tests.observability.conftest import flock, process
from tests.support.target import Target

QS = (0.5, 0.9, 0.95, 0.99, 0.999)


def exact(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[math.floor(q * (len(ordered) - 1))]


@pytest.mark.parametrize(
    "generator",
    [
        lambda r: r.lognormvariate(-2, 1.5),
        lambda r: r.uniform(0.001, 30),
        lambda r: r.expovariate(5) + 1e-5,
        lambda r: 10 ** r.uniform(-5, 4),
    ],
    ids=["lognormal", "uniform", "exponential", "log-uniform"],
)
def test_quantiles_within_one_percent(generator: object) -> None:
    """Every reported quantile, p99 included, is within 1 % of the exact order statistic."""
    rng = random.Random(42)
    values = [generator(rng) for _ in range(50_000)]  # type: ignore[operator]
    histogram = LogHistogram()
    for value in values:
        histogram.add(value)
    for q in QS:
        truth = exact(values, q)
        estimate = histogram.quantile(q)
        assert estimate is not None
        assert abs(estimate - truth) / truth <= 0.01, (q, truth, estimate)
    assert histogram.quantile(1.0) == max(values)
    assert histogram.count == len(values)


def test_merge_equals_whole_and_survives_serialisation() -> None:
    """Histograms of parts (monkeys, replicas) merge into the histogram of the whole."""
    rng = random.Random(7)
    values = [rng.lognormvariate(0, 1) for _ in range(30_000)]
    whole = LogHistogram()
    for value in values:
        whole.add(value)
    parts = [LogHistogram() for _ in range(3)]
    for i, value in enumerate(values):
        parts[i % 3].add(value)
    merged = LogHistogram()
    for part in parts:
        # through JSON, as another replica would send it
        merged.merge(LogHistogram.from_dict(json.loads(json.dumps(part.to_dict()))))
    assert merged.count == whole.count
    assert merged.max == whole.max
    assert merged.quantiles(QS) == whole.quantiles(QS)
    for q in QS:
        assert abs(merged.quantiles([q])[0] - exact(values, q)) / exact(values, q) <= 0.01


def test_merge_rejects_different_precision() -> None:
    """Histograms of different relative error cannot be merged silently."""
    with pytest.raises(ValueError, match="relative error"):
        LogHistogram(0.005).merge(LogHistogram(0.01))


def test_memory_is_bounded() -> None:
    """However many values and however extreme, the bucket count stays under a fixed bound."""
    histogram = LogHistogram()
    rng = random.Random(1)
    for _ in range(100_000):
        histogram.add(10 ** rng.uniform(-9, 7))
    first = histogram.bucket_count
    assert first <= histogram.max_buckets
    for _ in range(100_000):
        histogram.add(10 ** rng.uniform(-9, 7))
    assert histogram.bucket_count <= histogram.max_buckets
    assert histogram.bucket_count - first <= 5
    assert histogram.max_buckets < 3000
    histogram.add(0.0)
    assert histogram.quantile(0.0) == 0.0


def test_sliding_window_forgets_old_events() -> None:
    """The window reports only recent events; the whole-run tally keeps everything."""
    now = [1000.0]
    window = WindowedTally(timedelta(minutes=5), slots=10, clock=lambda: now[0])
    total = Tally()
    for i in range(100):
        window.add(i % 10 != 0, 2.0)
        total.add(i % 10 != 0, 2.0)
    now[0] += 120
    for _ in range(50):
        window.add(True, 0.5)
        total.add(True, 0.5)
    snapshot = window.snapshot().summary()
    assert (snapshot.count, snapshot.failures) == (150, 10)
    now[0] += 240
    snapshot = window.snapshot().summary()
    assert (snapshot.count, snapshot.failures) == (50, 0)
    assert snapshot.p99 == pytest.approx(0.5, rel=0.01)
    now[0] += 600
    empty = window.snapshot().summary()
    assert (empty.count, empty.p50, empty.max) == (0, None, None)
    whole = total.summary()
    assert (whole.count, whole.failures) == (150, 10)
    assert whole.max == 2.0


def test_collector_keeps_flocks_and_event_types_apart() -> None:
    """Statistics are per flock and event name; solitary events are not kept."""
    collector = StatsCollector()
    events = Events(sinks=[collector])
    common = {"username": "bot-mobu-a", "business": "TAPQueryRunner"}
    for ms in range(1, 101):
        events.dispatch(
            "tap_query",
            TapQuery(
                flock="a",
                success=ms != 50,
                duration=timedelta(milliseconds=ms),
                sync=True,
                **common,
            ),
        )
    events.dispatch("tap_query", TapQuery(flock=None, success=True, sync=True, **common))
    events.dispatch("tap_query", TapQuery(flock="b", success=True, sync=False, **common))
    (a,) = collector.flock_statistics("a")
    assert a.event == "tap_query"
    assert (a.total.count, a.total.failures) == (100, 1)
    assert a.total.p50 == pytest.approx(0.050, rel=0.01)
    assert a.total.p99 == pytest.approx(0.099, rel=0.01)
    assert a.total.max == pytest.approx(0.100)
    assert a.window.count == 100
    (b,) = collector.flock_statistics("b")
    assert (b.total.count, b.total.p50) == (1, None)
    merged = StatsCollector.merge_exports([collector.export("a"), collector.export("a")])
    assert merged["tap_query"].count == 200
    assert merged["tap_query"].p99 == a.total.p99


async def test_flock_summary_carries_statistics(target: Target) -> None:
    """A real HTTPCheck flock: its summary has count, failures and percentiles of http_check."""
    async with process() as context:
        events = context.events
        assert events.recorder is not None
        await context.manager.start_flock(
            flock("web", "HTTPCheck", count=2, url=f"{target.url}/ok", idle_time=0)
        )
        await events.recorder.wait_for("http_check", 40)
        (summary,) = context.manager.summarize_flocks()
        assert summary.statistics is not None
        (stats,) = summary.statistics
        assert stats.event == "http_check"
        assert stats.total.count >= 40
        assert stats.total.failures == 0
        assert stats.total.p50 is not None
        assert stats.total.p99 is not None
        assert stats.total.max is not None
        assert 0 < stats.total.p50 <= stats.total.p99 <= stats.total.max
        assert stats.window.count >= 40
        assert stats.window_seconds == 300
        await context.manager.stop_flock("web")
        await context.manager.start_flock(
            flock("web", "HTTPCheck", count=1, url=f"{target.url}/ok", idle_time=3600)
        )
        # a replaced flock starts its statistics afresh
        (summary,) = context.manager.summarize_flocks()
        assert summary.statistics is not None
        assert all(s.total.count <= 1 for s in summary.statistics)


def test_cli_statistics_table() -> None:
    """`mobu flock summary` shows run and window statistics per event type."""
    collector = StatsCollector()
    events = Events(sinks=[collector])
    for ms in (5, 10, 2000):
        events.dispatch(
            "tap_query",
            TapQuery(
                flock="t",
                username="bot-mobu-t1",
                business="TAPQueryRunner",
                success=True,
                duration=timedelta(milliseconds=ms),
                sync=True,
            ),
        )
    summary = FlockSummary(
        name="t", business="TAPQueryRunner", monkey_count=1, success_count=3, failure_count=0,
        statistics=collector.flock_statistics("t"),
    )  # fmt: skip
    text = statistics_table([summary])
    assert text is not None
    header, _, run, window = text.splitlines()
    assert header.split() == [
        "FLOCK",
        "EVENT",
        "SPAN",
        "COUNT",
        "FAILURES",
        "P50",
        "P90",
        "P95",
        "P99",
        "MAX",
    ]
    assert run.split() == [
        "t",
        "tap_query",
        "run",
        "3",
        "0",
        "10.0ms",
        "10.0ms",
        "10.0ms",
        "10.0ms",
        "2.00s",
    ]
    assert window.split()[:4] == ["t", "tap_query", "last", "5m"]
    assert statistics_table([summary.model_copy(update={"statistics": None})]) is None
