"""Sentry reports against a local receiver of Sentry envelopes (what the SDK really sends)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from mobu.alerts.config import SentryConfig
from mobu.alerts.sentry import _only_errored
from tests.observability.conftest import TOKEN, flock, process
from tests.observability.receivers import Receiver


def sentry(receiver: Receiver, **options: Any) -> dict[str, Any]:
    return {"sentry": {"dsn": receiver.dsn, "environment": "test", **options}}


async def test_failure_event(receiver: Receiver) -> None:
    """A cell failure arrives with its tags, per-cell fingerprint, user and attachments."""
    async with process(alerts=sentry(receiver)) as context:
        assert context.events.recorder is not None
        await context.manager.start_flock(flock("sentry", "Flaky", failures=1))
        ((event, attachments),) = await _events(receiver, 1)
        (monkey,) = context.manager.get_flock("sentry").list_monkeys()
    assert event["environment"] == "test"
    assert event["level"] == "error"
    tags = event["tags"]
    assert tags == {
        "flock": "sentry",
        "business": "Flaky",
        "notebook": "tutorials/01-intro.ipynb",
        "cell": "cell-7",
        "phase": "execute_cell",
        "node": "node-a",
        "image_reference": "lab:w_2026_47",
    }
    assert event["user"] == {"username": monkey}
    assert event["fingerprint"] == [
        "{{ default }}", "{{ tags.flock }}", "{{ tags.business }}", "{{ tags.notebook }}",
        "{{ tags.cell }}", "test",
    ]  # fmt: skip
    (exception,) = event["exception"]["values"]
    assert exception["type"] == "CellError"
    assert "<redacted>" in exception["value"]
    files = {a.header["filename"]: a.payload.decode() for a in attachments}
    assert set(files) == {"traceback.txt", "spawn-log.txt", "code.txt"}
    assert files["spawn-log.txt"] == "Spawning server...\nPulling image\nServer ready"
    traceback = files["traceback.txt"]
    assert "CellError: cell failed for token <redacted>: ZeroDivisionError" in traceback
    assert files["code.txt"].startswith("x0 = compute(0)")
    everything = str(receiver.envelopes)
    assert TOKEN not in everything
    assert TOKEN.split(".")[1] not in everything


async def _events(receiver: Receiver, count: int) -> list[tuple[dict[str, Any], list[Any]]]:
    while len(receiver.events()) < count:
        await receiver.wait_envelopes(len(receiver.envelopes) + 1)
    return receiver.events()


async def test_nothing_sent_while_stopping(receiver: Receiver) -> None:
    """A monkey interrupted by a stop is not reported; a later real failure is the only event."""
    async with process(alerts=sentry(receiver)) as context:
        await context.manager.start_flock(
            flock("hung", "HTTPCheck", url=f"{receiver.url}/hang", timeout=timedelta(hours=1))
        )
        await receiver.hanging.wait()
        await context.manager.stop_flock("hung")
        # a sentinel: the SDK sends in order, so an event for "hung" would arrive before it
        await context.manager.start_flock(flock("sentinel", "Flaky", failures=1))
        (first, _) = (await _events(receiver, 1))[0]
        assert context.observability.sentry is not None
        await context.observability.sentry.flush()
    assert [e["tags"]["flock"] for e, _ in receiver.events()] == ["sentinel"]
    assert first["tags"]["flock"] == "sentinel"


def test_traces_sampling_config() -> None:
    """Sampling is a fraction or 'errors' (only transactions tagged errored=true are kept)."""
    assert SentryConfig(dsn="http://k@127.0.0.1:1/1", traces_sample_rate=0.25).traces_sample_rate
    errors = SentryConfig(dsn="http://k@127.0.0.1:1/1", traces_sample_rate="errors")
    assert errors.traces_sample_rate == "errors"
    with pytest.raises(ValidationError, match="traces_sample_rate"):
        SentryConfig(dsn="http://k@127.0.0.1:1/1", traces_sample_rate=1.5)
    assert _only_errored({"tags": {"errored": "true"}}, {}) is not None
    assert _only_errored({"tags": {}}, {}) is None


async def test_failure_storm_is_rate_limited(receiver: Receiver) -> None:
    """Thousands of identical failures must not cost the loop: a few per minute are sent."""
    config = sentry(receiver, max_events_per_minute=3)
    async with process(alerts=config) as context:
        assert context.events.recorder is not None
        await context.manager.start_flock(
            flock("storm", "Flaky", restart=True, failures=50, error_idle_time=0, idle_time=3600)
        )
        await context.events.recorder.wait_for("notebook_like", 51)
        reporter = context.observability.sentry
        assert reporter is not None
        await reporter.flush()
        sent = len(receiver.events())
    assert reporter.captured == sent
    assert sent + reporter.suppressed == 50
    assert 3 <= sent <= 6  # 3 per minute; the run may straddle one minute boundary
