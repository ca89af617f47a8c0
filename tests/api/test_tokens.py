"""Monkey tokens never leave the process through the API."""

from __future__ import annotations

import httpx

from mobu.events import Events
from tests.api.conftest import SECRET_TOKEN, AppFactory, TokenIdentity, flock_body


async def test_token_never_in_output(app_factory: AppFactory, events: Events) -> None:
    """Flock data, monkey data, summaries, logs and solitary results omit the token."""
    async with app_factory(identity=TokenIdentity(), events=events) as client:
        client: httpx.AsyncClient  # type: ignore[no-redef]
        responses = [await client.put("/mobu/flocks", json=flock_body(count=2))]
        assert events.recorder is not None
        await events.recorder.wait_for("empty_loop", 2)
        paths = [
            "/mobu/flocks/test",
            "/mobu/flocks/test/monkeys/bot-mobu-testuser1",
            "/mobu/flocks/test/monkeys/bot-mobu-testuser1/log",
            "/mobu/flocks/test/summary",
            "/mobu/summary",
        ]
        responses.extend([await client.get(path) for path in paths])
        body = {"user": {"username": "bot-mobu-solo"}, "business": {"type": "EmptyLoop"}}
        responses.append(await client.post("/mobu/run", json=body))
        for r in responses:
            assert r.status_code in (200, 201), r.text
            assert SECRET_TOKEN not in r.text
        monkey = responses[2].json()
        assert "token" not in monkey["user"]
