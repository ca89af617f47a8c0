"""Autostart: configured flocks start at boot; a failing one is reported, the others run."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from mobu.config import ConfigError, load_config
from mobu.events import Events
from mobu.registry import BusinessRegistry
from mobu.services.business.empty import EmptyLoop
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


def test_autostart_businesses_checked_against_the_given_registry(tmp_path: Path) -> None:
    """load_config checks each autostart business (type, options) with the root's registry."""
    path = tmp_path / "mobu.yaml"
    flock = "autostart:\n  - {name: a, count: 1, users: [{username: bot-mobu-a}], business: %s}\n"
    path.write_text(flock % "{type: Mine, options: {idle_time: soon}}")
    with pytest.raises(ConfigError, match=r"autostart\.0\.business\.type: Unknown business type"):
        load_config(path, registry=BusinessRegistry({"EmptyLoop": EmptyLoop}))
    with pytest.raises(ConfigError, match=r"autostart\.0\.business\.options\.idle_time: "):
        load_config(path, registry=BusinessRegistry({"Mine": EmptyLoop}))
    path.write_text(flock % "{type: Mine, options: {idle_time: 10ms}}")
    config = load_config(path, registry=BusinessRegistry({"Mine": EmptyLoop}))
    assert config.autostart[0].business.options == {"idle_time": "10ms"}
