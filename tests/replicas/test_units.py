"""The pure parts of the replica group: its configuration, liveness bookkeeping and merging."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from mobu.models.flock import FlockConfig
from mobu.replicas.config import ReplicasConfig
from mobu.replicas.liveness import SilenceWatch
from mobu.replicas.view import ReplicaReport, decode_state, encode_state, merge_summary
from mobu.ui.group import missing_text

SPEC = FlockConfig.model_validate(
    {
        "name": "f",
        "count": 9,
        "user_spec": {"username_prefix": "bot-mobu-f"},
        "business": {"type": "EmptyLoop"},
    }
)


def test_stale_after_must_exceed_heartbeat() -> None:
    """A staleness window not longer than the heartbeat is refused, naming both keys."""
    with pytest.raises(ValidationError, match="stale_after must be longer"):
        ReplicasConfig.model_validate({"heartbeat_interval": "10s", "stale_after": "5s"})
    with pytest.raises(ValidationError, match="advertise_url"):
        ReplicasConfig.model_validate({"advertise_url": "mobu-0:8080"})


def _part(monkeys: int, generation: int = 1, successes: int = 0) -> dict[str, Any]:
    summary = {
        "name": "f",
        "business": "EmptyLoop",
        "monkey_count": monkeys,
        "started_count": monkeys,
        "success_count": successes,
        "failure_count": 0,
        "monkey_states": {"RUNNING": monkeys},
    }
    return {
        "generation": generation,
        "summary": summary,
        "total": {},
        "window": {},
        "window_seconds": 300.0,
        "monkeys": [],
        "config": {},
    }


def test_silence_and_recovery_posted_once_by_the_lowest_reporting_replica() -> None:
    """Replica 2 falls silent: one alert with its monkeys; back at the generation: recovery."""
    posted: list[dict[str, Any]] = []
    watch = SilenceWatch(0, posted.append)
    desired = {"f": (SPEC, 1)}
    alive = [ReplicaReport(i, fresh=True, seen=1.0, flocks={"f": _part(3)}) for i in range(3)]
    assert watch.check(alive, desired) == []
    silent = [*alive[:2], ReplicaReport(2, fresh=False, seen=1_800_000_000.0)]
    texts = watch.check(silent, desired)
    assert texts == [
        ":rotating_light: mobu replica 2 silent since 08:00:00 UTC, 3 monkeys not running"
    ]
    assert watch.check(silent, desired) == []
    back_old = [*alive[:2], ReplicaReport(2, fresh=True, seen=2.0, flocks={"f": _part(3, 0)})]
    assert watch.check(back_old, desired) == []
    texts = watch.check(alive, desired)
    assert len(texts) == 1
    assert "replica 2 is back" in texts[0]
    assert [m["text"] for m in posted][1] == texts[0]
    assert len(posted) == 2
    other = SilenceWatch(1, posted.append)
    other.check(silent, desired)
    assert len(posted) == 2  # replica 1 is not the lowest reporting index: it only logs


def test_merged_summary_counts_missing_monkeys() -> None:
    """Counts are summed over reporting replicas; a missing one's share is missing_count."""
    reports = [
        ReplicaReport(0, fresh=True, flocks={"f": _part(3, successes=5)}),
        ReplicaReport(1, fresh=True, flocks={"f": _part(3, successes=7)}),
        ReplicaReport(2, fresh=False, flocks={"f": _part(3, successes=100)}),
    ]
    summary = merge_summary("f", SPEC, reports)
    assert summary is not None
    assert (summary.monkey_count, summary.success_count) == (6, 12)
    assert (summary.expected_count, summary.missing_count) == (9, 3)
    assert [r.status for r in summary.replicas] == ["reporting", "reporting", "missing"]
    assert merge_summary("other", None, reports) is None


def test_dashboard_names_the_missing_replicas() -> None:
    """The dashboard's line for silent replicas: which ones and their share of monkeys."""
    reports = [
        ReplicaReport(0, fresh=True, flocks={"f": _part(3)}),
        ReplicaReport(1, fresh=False),
        ReplicaReport(2, fresh=False),
    ]
    summary = merge_summary("f", SPEC, reports)
    assert summary is not None
    assert missing_text(summary) == "replicas 1, 2 missing (6 monkeys)"
    one = merge_summary("f", SPEC, [*reports[:2], ReplicaReport(2, fresh=True)])
    assert one is not None
    assert missing_text(one) == "replica 1 missing (3 monkeys)"
    alive = merge_summary("f", SPEC, [ReplicaReport(i, fresh=True) for i in range(3)])
    assert alive is not None
    assert missing_text(alive) == ""


def test_heartbeat_state_carries_the_autostart_failures() -> None:
    """A heartbeat's state holds the flocks and autostart failures; an older one, flocks only."""
    failure = {"name": "broken", "error": "IdentityError: no token for bot-mobu-broken2"}
    report = ReplicaReport(1, fresh=True, flocks={"f": _part(3)}, autostart_failures=[failure])
    flocks, failures = decode_state(json.loads(encode_state(report)))
    assert (flocks, failures) == (report.flocks, [failure])
    assert decode_state({"f": _part(3)}) == ({"f": _part(3)}, [])
