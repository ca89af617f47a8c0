"""Autostart: configured flocks start at boot; a failing one is reported, the others run."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from mobu.config import load_config
from mobu.events import Events
from tests.api.conftest import AppFactory

CONFIG = """
pathPrefix: /monkeys
stopGrace: 2s
identity:
  provider: static
  tokens:
    bot-mobu-first1: tok-first-1
    bot-mobu-first2: tok-first-2
    bot-mobu-third1: tok-third-1
    bot-mobu-third2: tok-third-2
autostart:
  - name: first
    count: 2
    user_spec: {username_prefix: bot-mobu-first, uid_start: 1000}
    business: {type: EmptyLoop, options: {idle_time: 10ms}}
  - name: broken
    count: 2
    user_spec: {username_prefix: bot-mobu-broken}
    business: {type: EmptyLoop, options: {idle_time: 10ms}}
  - name: third
    count: 2
    user_spec: {username_prefix: bot-mobu-third}
    business: {type: EmptyLoop, options: {idle_time: 5m30s}}
"""


async def test_autostart_with_failing_flock(
    app_factory: AppFactory, events: Events, tmp_path: Path
) -> None:
    """A flock whose users cannot be authenticated fails; the others start and /summary says so."""
    path = tmp_path / "mobu.yaml"
    path.write_text(CONFIG)
    config = load_config(path)
    assert config.stop_grace == timedelta(seconds=2)
    async with app_factory(config, events=events) as client:
        summary = (await client.get("/monkeys/summary")).json()
        assert [f["name"] for f in summary["flocks"]] == ["first", "third"]
        assert all(f["start_time"] for f in summary["flocks"])
        [failure] = summary["autostart_failures"]
        assert failure["name"] == "broken"
        assert "no token for bot-mobu-broken1" in failure["error"]
        assert events.recorder is not None
        await events.recorder.wait_for("empty_loop", 4)

        data = (await client.get("/monkeys/flocks/third")).json()
        assert data["config"]["business"]["options"]["idle_time"] == 330.0
        assert (await client.get("/mobu/flocks")).status_code == 404

        # Starting the flock again (fixed) clears its failure.
        body = {
            "name": "broken",
            "count": 1,
            "users": [{"username": "bot-mobu-first1"}],
            "business": {"type": "EmptyLoop"},
        }
        assert (await client.put("/monkeys/flocks", json=body)).status_code == 201
        summary = (await client.get("/monkeys/summary")).json()
        assert summary["autostart_failures"] == []
        assert [f["name"] for f in summary["flocks"]] == ["broken", "first", "third"]
