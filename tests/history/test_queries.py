"""Outages and the main event, from rows (no store needed)."""

from __future__ import annotations

from mobu.history.queries import longest_outage, main_event
from mobu.history.recorder import BucketRow
from mobu.services.stats import Tally
from tests.history.conftest import T0


def row(minute: int, count: int, failures: int, event: str = "check") -> BucketRow:
    """A minute row ``minute`` minutes after T0."""
    tally = Tally()
    tally.count, tally.failures = count, failures
    return BucketRow("f", event, "B", int(T0) + 60 * minute, tally, 1)


def test_longest_outage_spans_quiet_minutes() -> None:
    """Down minutes with quiet ones between them are one outage; a success ends it."""
    rows = [row(0, 5, 0), row(1, 2, 2), row(3, 1, 1), row(4, 3, 1), row(5, 1, 1), row(6, 1, 1)]
    longest, current = longest_outage(rows)
    assert longest is not None
    assert longest.seconds == 180
    assert longest.start.timestamp() == T0 + 60
    assert not longest.ongoing
    assert current is not None
    assert current.seconds == 120
    assert current.ongoing


def test_no_outage_when_something_succeeds() -> None:
    """Failures mixed with successes are no outage; the main event is the busiest."""
    rows = [row(0, 5, 1), row(1, 4, 3), row(1, 10, 0, "other")]
    assert longest_outage(rows) == (None, None)
    assert main_event(rows) == "other"
    assert main_event([]) is None
