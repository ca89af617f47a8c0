"""EmptyLoop and HTTPCheck acknowledge a stop at once, even while their backend hangs."""

from __future__ import annotations

from typing import Any

import pytest

from mobu.events import Events
from mobu.models.business.config import BusinessConfig
from mobu.models.user import AuthenticatedUser
from mobu.services.builder import MonkeyBuilder
from mobu.services.business.base import Business
from tests.support.stopping import assert_stops_by_itself
from tests.support.target import Target

USER = AuthenticatedUser(username="bot-mobu-stop")


def business(builder: MonkeyBuilder, kind: str, **options: Any) -> Business[Any]:
    config = BusinessConfig.model_validate({"type": kind, "options": options})
    return builder.prepare(config, flock="f").build(USER).business


@pytest.mark.parametrize("client", ["fast", "aiohttp"])
async def test_httpcheck_stops_during_hung_request(
    builder: MonkeyBuilder, target: Target, client: str
) -> None:
    """A stop while the server never answers ends HTTPCheck at once (not after its timeout)."""
    check = business(builder, "HTTPCheck", url=f"{target.url}/hang", timeout="1h", client=client)
    await assert_stops_by_itself(check, target.hung.wait)
    assert target.hung.is_set()


async def test_empty_loop_stops_during_idle(builder: MonkeyBuilder, events: Events) -> None:
    """A stop during EmptyLoop's hour-long idle ends it at once."""
    loop = business(builder, "EmptyLoop", idle_time="1h")
    assert events.recorder is not None
    recorder = events.recorder
    await assert_stops_by_itself(loop, lambda: recorder.wait_for("empty_loop"))
    assert loop.success_count == 1
