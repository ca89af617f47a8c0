"""The pieces taken from safir keep mobu's contracts (durations, Slack text, X-Forwarded)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import BaseModel, ValidationError
from safir.datetime import parse_timedelta as safir_parse_timedelta

from mobu.alerts.messages import format_api_error
from mobu.models.timedelta import HumanTimedelta, parse_timedelta
from tests.api.conftest import flock_body, running_app

SAFIR_FORMS = ["8d", "4h 3minutes", "5w4d", "1h", "5m30s", "30s", "2weeks", "3 hours 2 mins"]
"""Durations in the form safir's HumanTimedelta (the reference's type) documents."""


class _Options(BaseModel):
    idle_time: HumanTimedelta


@pytest.mark.parametrize("text", SAFIR_FORMS)
def test_reference_durations_parse_the_same(text: str) -> None:
    """Every duration the reference accepts (safir's grammar) means the same here."""
    assert parse_timedelta(text) == safir_parse_timedelta(text)
    assert _Options(idle_time=text).idle_time == safir_parse_timedelta(text)  # type: ignore[arg-type]


def test_duration_errors_name_field_not_input() -> None:
    """A bad duration names the field and does not echo the value (safir's message would)."""
    secret = "5 parsecs-of-secret"
    with pytest.raises(ValidationError) as excinfo:
        _Options(idle_time=secret)  # type: ignore[arg-type]
    error = excinfo.value.errors(include_input=False)[0]
    assert error["loc"] == ("idle_time",)
    assert "secret" not in error["msg"]
    with pytest.raises(ValueError, match="secret"):
        safir_parse_timedelta(secret)
    assert _Options(idle_time=1.5).model_dump(mode="json") == {"idle_time": 1.5}  # type: ignore[arg-type]
    assert _Options(idle_time="250ms").idle_time == timedelta(milliseconds=250)  # type: ignore[arg-type]


def test_slack_blocks_escape_mentions() -> None:
    """Block texts are verbatim and escaped: an error text cannot mention a channel."""
    message = format_api_error("GET", "/mobu/x", RuntimeError("boom <!channel> & <@U123>"), 2000)
    assert message["text"].startswith(
        ":x: Uncaught exception in the mobu API: GET /mobu/x: RuntimeError: boom <!channel>"
    )
    texts = [b["text"] for b in message["blocks"] if b["type"] == "section"]
    assert texts
    for text in texts:
        assert text["verbatim"] is True
        assert "<!channel>" not in text["text"]
        assert "&lt;!channel&gt;" in text["text"]
    assert message["blocks"][-1] == {"type": "divider"}


async def test_x_forwarded_proto_honoured() -> None:
    """Behind the ingress (TLS terminated there) the Location of a new flock is https."""
    forwarded = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
    async with running_app() as client:
        r = await client.put("/mobu/flocks", json=flock_body("fwd", 1), headers=forwarded)
        assert r.status_code == 201, r.text
        assert r.headers["Location"] == "https://testserver/mobu/flocks/fwd"
        r = await client.put("/mobu/flocks", json=flock_body("direct", 1))
        assert r.headers["Location"] == "http://testserver/mobu/flocks/direct"
