"""Secret options and credentials never come back out: API answers, logs, reports, events."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from asgi_lifespan import LifespanManager

from mobu.cli.report import write_report
from mobu.client import MobuClient
from mobu.config import Config
from mobu.events import Events
from mobu.factory import ProcessContext
from mobu.main import create_app
from mobu.models.flock import FlockConfig
from mobu.services.builder import null_logger
from tests.api.conftest import SECRET_TOKEN, TokenIdentity, flock_body, running_app
from tests.support.target import Target

HEADER_SECRET = "header-value-hunter2"
URL_PASSWORD = "url-password-swordfish"
QUERY_KEY = "query-apikey-0xdeadbeef"
SECRETS = (HEADER_SECRET, URL_PASSWORD, QUERY_KEY, SECRET_TOKEN)


def http_check(target: Target, path: str = "/echo", **options: Any) -> dict[str, Any]:
    """An HTTPCheck with a secret header, a password in the URL and an apikey in its query."""
    host = target.url.removeprefix("http://")
    return {
        "type": "HTTPCheck",
        "options": {
            "url": f"http://bob:{URL_PASSWORD}@{host}{path}?apikey={QUERY_KEY}",
            "headers": {"X-Probe": HEADER_SECRET},
            "send_token": True,
            "idle_time": "10ms",
            **options,
        },
    }


def assert_no_secret(text: str, where: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"{where} shows {secret}"


async def test_api_answers_logs_and_events_never_carry_secrets(
    target: Target, tmp_path: Path
) -> None:
    """GET flock/monkey/log and the JSONL events show masks, while the real values are sent."""
    events_path = tmp_path / "events.jsonl"
    config = Config(stop_grace=timedelta(seconds=1), events={"file": {"path": events_path}})
    events = Events()
    async with running_app(config, events=events, identity=TokenIdentity()) as client:
        body = flock_body(count=1, **http_check(target, body_regex="^GET"))
        r = await client.put("/mobu/flocks", json=body)
        assert r.status_code == 201, r.text
        assert events.recorder is not None
        await events.recorder.wait_for("http_check", 2)
        answers = {
            "PUT /flocks": r.text,
            "GET /flocks/test": (await client.get("/mobu/flocks/test")).text,
            "GET monkey": (await client.get("/mobu/flocks/test/monkeys/bot-mobu-testuser1")).text,
            "GET log": (await client.get("/mobu/flocks/test/monkeys/bot-mobu-testuser1/log")).text,
        }
        flock = json.loads(answers["GET /flocks/test"])
        options = flock["config"]["business"]["options"]
        assert options["headers"] == {"X-Probe": "**********"}
        assert options["url"].startswith("http://bob:**********@127.0.0.1:")
        assert "bob:**********@" in answers["GET monkey"]  # the URL in its dump, masked
        await client.delete("/mobu/flocks/test")
    for where, text in answers.items():
        assert_no_secret(text, where)
    assert_no_secret(events_path.read_text(), "JSONL events")
    assert_no_secret(repr(events.recorder.published()), "memory events")
    received = target.received[0]
    assert received["X-Probe"] == HEADER_SECRET, "the business sends the real header value"
    assert received["Authorization"] == f"Bearer {SECRET_TOKEN}"


async def test_client_sends_real_secrets_and_report_masks_them(
    target: Target, tmp_path: Path
) -> None:
    """MobuClient sends the real secret options; the flock report written from it has none."""
    config = Config(stop_grace=timedelta(seconds=1))
    events = Events()
    context = ProcessContext(config, logger=null_logger(), events=events, identity=TokenIdentity())
    app = create_app(config, context=context)
    async with (
        LifespanManager(app) as manager,
        MobuClient("http://testserver/mobu", transport=httpx.ASGITransport(app=manager.app)) as c,
    ):
        flock = FlockConfig.model_validate(flock_body(count=1, **http_check(target)))
        data = await c.start_flock(flock)
        assert data.config.business.options["headers"] == {"X-Probe": "**********"}
        assert events.recorder is not None
        await events.recorder.wait_for("http_check", 1)
        files = await write_report(c, "test", tmp_path / "report")
        await c.stop_flock("test")
    assert target.received[0]["X-Probe"] == HEADER_SECRET
    assert files
    for path in files:
        assert_no_secret(path.read_text(), path.name)


async def test_solitary_result_is_redacted(target: Target) -> None:
    """A failing /run answers an error and log without the URL password, apikey or header."""
    async with running_app(identity=TokenIdentity()) as client:
        r = await client.post(
            "/mobu/run",
            json={
                "user": {"username": "bot-mobu-solo"},
                "business": http_check(target, path="/status/500", log_level="DEBUG"),
            },
        )
    assert r.status_code == 200, r.text
    result = r.json()
    assert result["success"] is False
    assert "status 500" in result["error"]
    assert "bob:" in result["error"]  # the URL is still recognisable...
    assert_no_secret(r.text, "/run result")  # ...without its secrets
