"""Sentry traces against the local envelope receiver: a transaction per iteration, phase spans,
the ``errored`` tag, and both sampling modes of ``sentryTracesSampleConfig``."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from mobu import tracing
from tests.observability.conftest import flock, process
from tests.observability.receivers import Receiver, SentryItem


def _sentry(receiver: Receiver) -> dict[str, Any]:
    return {"sentry": {"dsn": receiver.dsn, "environment": "test"}}


def _transactions(envelopes: list[list[SentryItem]]) -> list[dict[str, Any]]:
    return [i.json() for items in envelopes for i in items if i.header.get("type") == "transaction"]


async def _run(receiver: Receiver, sample: float | str, fail_at: int) -> list[dict[str, Any]]:
    """Run a Phased flock until its failing iteration; return every transaction sent."""
    async with process(alerts=_sentry(receiver), sentry_traces_sample_config=sample) as context:
        assert tracing.enabled()
        assert context.events.recorder is not None
        await context.manager.start_flock(flock("traced", "Phased", fail_at=fail_at, idle_time=0))
        await context.events.recorder.wait_for("phased_spawn", fail_at)
        reporter = context.observability.sentry
        assert reporter is not None
        while reporter.captured < 1:  # the failure event comes after the failed iteration
            await receiver.wait_envelopes(len(receiver.envelopes) + 1)
        await reporter.flush()
    assert not tracing.enabled()
    return _transactions(receiver.envelopes)


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _spans(transaction: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {span["op"]: span for span in transaction["spans"]}


async def test_errors_mode_sends_only_the_errored_iteration(receiver: Receiver) -> None:
    """``errors``: the successful iterations are dropped; the failed one arrives tagged
    errored=true, with a span per phase (the failing one in error) and per timed event."""
    (transaction,) = await _run(receiver, "errors", fail_at=4)
    assert transaction["transaction"] == "Phased - execute"
    assert transaction["contexts"]["trace"]["op"] == "mobu.execute"
    assert transaction["contexts"]["trace"]["status"] == "internal_error"
    tags = transaction["tags"]
    assert tags["errored"] == "true"
    assert (tags["flock"], tags["business"]) == ("traced", "Phased")
    assert transaction["user"]["username"] == "bot-mobu-traced1"
    spans = _spans(transaction)
    assert set(spans) == {"spawn_progress", "phased_spawn", "lab_first_response", "session_create"}
    assert spans["session_create"]["status"] == "internal_error"
    assert spans["session_create"]["tags"]["phase"] == "session_create"
    assert spans["spawn_progress"]["status"] == "ok"
    spawn = spans["phased_spawn"]
    assert spawn["status"] == "ok"
    lasted = _time(spawn["timestamp"]) - _time(spawn["start_timestamp"])
    assert lasted == timedelta(seconds=2)
    (error,) = [e for e, _ in receiver.events()]
    assert error["tags"]["flock"] == "traced"


async def test_rate_one_sends_every_iteration(receiver: Receiver) -> None:
    """A float rate of 1.0 sends every iteration's transaction; only the failed one is errored."""
    transactions = await _run(receiver, 1.0, fail_at=3)
    assert len(transactions) == 3
    assert [t["tags"].get("errored") for t in transactions] == [None, None, "true"]
    assert [t["contexts"]["trace"]["status"] for t in transactions] == [
        "ok", "ok", "internal_error",
    ]  # fmt: skip
    for transaction in transactions:
        assert {"spawn_progress", "phased_spawn", "session_create"} <= set(_spans(transaction))


async def test_rate_zero_traces_nothing(receiver: Receiver) -> None:
    """The default (0): no tracing at all, only the failure event."""
    async with process(alerts=_sentry(receiver)) as context:
        assert not tracing.enabled()
        assert context.events.recorder is not None
        await context.manager.start_flock(flock("quiet", "Phased", fail_at=2, idle_time=0))
        reporter = context.observability.sentry
        assert reporter is not None
        while reporter.captured < 1:
            await receiver.wait_envelopes(len(receiver.envelopes) + 1)
        await reporter.flush()
    assert _transactions(receiver.envelopes) == []
    assert len(receiver.events()) == 1
