"""Slack alerts against a local receiver that keeps the incoming-webhook contract."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from asgi_lifespan import LifespanManager

from mobu.alerts.config import SlackConfig
from mobu.alerts.messages import format_status, success_percent
from mobu.alerts.slack import SlackWebhook
from mobu.config import Config
from mobu.events import Events
from mobu.factory import ProcessContext
from mobu.main import create_app
from mobu.models.flock import FlockSummary
from mobu.services.builder import null_logger
from tests.observability.conftest import TOKEN, flock, obs_registry, process
from tests.observability.receivers import Receiver


def slack(receiver: Receiver, **options: Any) -> dict[str, Any]:
    return {"slack": {"webhook": receiver.webhook, "status_interval": None, **options}}


async def test_alert_dedup_and_recovery(receiver: Receiver) -> None:
    """Five failures of one cell: one alert naming everything, then one recovery with the count."""
    async with process(alerts=slack(receiver)) as context:
        assert context.events.recorder is not None
        await context.manager.start_flock(
            flock("flaky", "Flaky", restart=True, failures=5, error_idle_time=0, idle_time=3600)
        )
        await context.events.recorder.wait_for("notebook_like", 6)
        assert context.observability.slack is not None
        await context.observability.slack.flush()
        (monkey,) = context.manager.get_flock("flaky").list_monkeys()
    alert, recovery = receiver.slack
    text = alert["text"]
    assert text.startswith(":rotating_light: Monkey failure in flock *flaky*: CellError:")
    for expected in (
        "Flock: flaky",
        f"Monkey: {monkey}",
        "Business: Flaky",
        "Error type: CellError",
        "Notebook: tutorials/01-intro.ipynb",
        "Cell: cell-7",
        "Phase: execute_cell",
        "Node: node-a",
        "x0 = compute(0)",
        "cell failed for token <redacted>",
        "Spawn progress:\nSpawning server...\nPulling image\nServer ready",
    ):
        assert expected in text
    assert TOKEN not in str(alert)
    assert "\x1b" not in str(alert)
    assert alert["blocks"][0]["type"] == "section"
    assert recovery["text"] == (
        ":white_check_mark: Recovered: flock *flaky* (Flaky) succeeds again after 5 failures"
        " of CellError in notebook tutorials/01-intro.ipynb, cell cell-7 over "
        + recovery["text"].rsplit(" over ", 1)[1]
    )


async def test_repeat_message_counts_suppressed_failures(receiver: Receiver) -> None:
    """Failures that keep coming within the window are posted once, as a count."""
    config = slack(receiver, dedup_window=timedelta(seconds=0.5), code_max_chars=200)
    async with process(alerts=config) as context:
        await context.manager.start_flock(
            flock(
                "broken",
                "Flaky",
                restart=True,
                failures=10**9,
                code_lines=500,
                error_idle_time=timedelta(milliseconds=5),
            )
        )
        alert, repeat = await receiver.wait_slack(2)
        await context.manager.stop_flock("broken")
    assert "more characters" in alert["text"]
    assert "x499" not in alert["text"]
    match = re.fullmatch(
        r":repeat: Still failing: flock \*broken\*: CellError in notebook"
        r" tutorials/01-intro.ipynb, cell cell-7: (\d+) more failures? in the last 0s",
        repeat["text"],
    )
    assert match is not None, repeat["text"]
    assert int(match.group(1)) >= 1


async def test_webhook_errors_never_reach_monkeys(receiver: Receiver) -> None:
    """A webhook answering 500 costs the monkeys nothing; the failed post is counted."""
    receiver.slack_status = 500
    async with process(alerts=slack(receiver)) as context:
        assert context.events.recorder is not None
        await context.manager.start_flock(
            flock("noisy", "Flaky", restart=True, failures=3, error_idle_time=0, idle_time=0)
        )
        await context.events.recorder.wait_for("notebook_like", 50)
        slack_alerter = context.observability.slack
        assert slack_alerter is not None
        await slack_alerter.flush()
        assert slack_alerter.failed == 2
        assert slack_alerter.sent == 0
        assert context.observability.metrics is not None
        text = context.observability.metrics.render().decode()
        assert 'mobu_alerts_total{channel="slack",outcome="failed"} 2.0' in text
        (summary,) = context.manager.summarize_flocks()
        assert summary.failure_count == 3
        assert summary.success_count >= 40


def test_status_text() -> None:
    """The daily status follows the reference's wording and rounding rules."""
    day = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
    summaries = [
        FlockSummary(
            name="a", business="EmptyLoop", start_time=day, monkey_count=10,
            success_count=99_999, failure_count=1,
        ),
        FlockSummary(
            name="b", business="TAPQueryRunner", start_time=None, monkey_count=1,
            success_count=0, failure_count=0,
        ),
        FlockSummary(
            name="c", business="GitLFS", start_time=day, monkey_count=2,
            success_count=0, failure_count=0,
        ),
        FlockSummary(
            name="d", business="GitLFS", start_time=day, monkey_count=1,
            success_count=1, failure_count=3,
        ),
    ]  # fmt: skip
    message = format_status(summaries, "idfdev")
    assert message is not None
    assert message["text"] == (
        "Currently running 4 flocks against idfdev:\n"
        "• *a*: 10 monkeys started 2026-11-26 with 1 failure (99.99% success)\n"
        "• *b*: 1 monkey (not started)\n"
        "• *c*: 2 monkeys started 2026-11-26 with 0 failures (100.00% success)\n"
        "• *d*: 1 monkey started 2026-11-26 with 3 failures (25.00% success)"
    )
    only = format_status(summaries[:1], None)
    assert only is not None
    assert only["text"].startswith("Currently running 1 flock:\n")
    assert format_status([], "idfdev") is None
    assert success_percent(1, 0) == "100.00"
    assert success_percent(199_990, 10) == "99.99"


async def test_status_posted_on_schedule(receiver: Receiver) -> None:
    """The status summary is posted every status_interval while flocks run."""
    config = {
        "alerts": slack(receiver, status_interval=timedelta(seconds=0.2)),
        "discovery": {"environment_name": "testenv"},
    }
    async with process(**config) as context:
        assert context.events.recorder is not None
        await context.manager.start_flock(flock("steady", "EmptyLoop", count=3, idle_time=3600))
        await context.events.recorder.wait_for("empty_loop", 3)
        # a status posted while the flock was still starting says "(not started)": wait for more
        count = 1
        while "3 monkeys started" not in (await receiver.wait_slack(count))[-1]["text"]:
            count += 1
    status = receiver.slack[count - 1]
    assert status["text"].startswith("Currently running 1 flock against testenv:\n• *steady*: ")
    assert all(m["text"].startswith("Currently running 1 flock") for m in receiver.slack)


async def test_uncaught_api_error_reported(receiver: Receiver) -> None:
    """An exception escaping a route handler is answered with 500 and posted to Slack."""
    config = Config(alerts=slack(receiver), log_monkeys_to_file=False)
    context = ProcessContext(config, logger=null_logger(), registry=obs_registry(), events=Events())
    app = create_app(config, context=context)

    async def boom() -> None:
        raise RuntimeError(f"kaboom with {TOKEN}")

    app.add_api_route("/boom", boom)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with (
        LifespanManager(app),
        httpx.AsyncClient(transport=transport, base_url="http://mobu") as client,
    ):
        response = await client.get("/boom")
        assert response.status_code == 500
        (message,) = await receiver.wait_slack(1)
    assert message["text"].startswith(
        ":x: Uncaught exception in the mobu API: GET /boom: RuntimeError: kaboom with <redacted>"
    )
    assert TOKEN not in str(message)


async def test_webhook_queue_drops_beyond_its_size(receiver: Receiver) -> None:
    """The transport drops and counts messages beyond queue_size, posts the rest in order."""
    config = SlackConfig(webhook=receiver.webhook, queue_size=2)
    async with httpx.AsyncClient() as shared:
        webhook = SlackWebhook(config, http_client=shared, logger=null_logger())
        for number in range(5):
            webhook.post({"text": f"message {number}"})
        assert webhook.dropped == 3
        webhook.start()
        await webhook.flush()
        await webhook.aclose()
        assert not shared.is_closed
    assert [m["text"] for m in receiver.slack] == ["message 0", "message 1"]
    assert (webhook.sent, webhook.failed) == (2, 0)
