"""Concurrent ``PUT /flocks`` of one name, against a real target: DELETE stops every monkey."""

from __future__ import annotations

import asyncio
from typing import Any

from mobu.events import Events
from tests.api.conftest import AppFactory, flock_body
from tests.support.target import Target, run_target

WAIT = 60.0
"""Generous bound on waits that only a hang would reach."""


def http_flock(name: str, url: str, count: int) -> dict[str, Any]:
    """A flock of HTTPCheck monkeys requesting ``url`` without idling."""
    body = flock_body(name, count, type="HTTPCheck", options={"url": url, "idle_time": "1ms"})
    body["user_spec"] = {"username_prefix": f"bot-mobu-{name}"}
    return body


async def wait_for_checks(events: Events, flock: str, count: int) -> None:
    """Wait until the monkeys of ``flock`` have published ``count`` HTTP checks."""
    recorder = events.recorder
    assert recorder is not None
    seen = recorder.count("http_check")
    async with asyncio.timeout(WAIT):
        while sum(1 for e in recorder.published("http_check") if e.flock == flock) < count:
            seen += 1
            await recorder.wait_for("http_check", seen)


async def test_concurrent_puts_then_delete_stop_all_requests(
    app_factory: AppFactory, events: Events, target: Target
) -> None:
    """After ten concurrent PUTs of one flock and its DELETE, no request reaches the target."""
    async with app_factory(events=events) as client, run_target() as witness:
        body = http_flock("load", f"{target.url}/ok", 4)
        responses = await asyncio.gather(
            *(client.put("/mobu/flocks", json=body) for _ in range(10))
        )
        assert [r.status_code for r in responses] == [201] * 10
        assert (await client.get("/mobu/flocks")).json() == ["load"]
        await wait_for_checks(events, "load", 4)
        assert (await client.delete("/mobu/flocks/load")).status_code == 204
        assert (await client.get("/mobu/flocks")).json() == []
        after_delete = target.hits.get("ok", 0)

        # A second flock on another server proves that time passed in which monkeys would fire.
        probe = http_flock("probe", f"{witness.url}/ok", 1)
        assert (await client.put("/mobu/flocks", json=probe)).status_code == 201
        await wait_for_checks(events, "probe", 20)
        assert (await client.delete("/mobu/flocks/probe")).status_code == 204
        assert target.hits.get("ok", 0) == after_delete
        assert witness.hits["ok"] >= 20
