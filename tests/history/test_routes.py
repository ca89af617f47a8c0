"""The history routes: buckets, failures, uptime, overview, status; bad parameters are 422."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from mobu.config import Config
from mobu.events import Events
from mobu.registry import BusinessRegistry
from mobu.services.business.empty import EmptyLoop
from tests.api.conftest import running_app
from tests.observability.businesses import Flaky


def registry() -> BusinessRegistry:
    """EmptyLoop and Flaky (fails like a notebook cell, then recovers)."""
    return BusinessRegistry({"EmptyLoop": EmptyLoop, "Flaky": Flaky})


def config(tmp_path: Path, **history: Any) -> Config:
    """Monkey logs kept, history in a SQLite file of ``tmp_path``."""
    return Config(
        stop_grace=timedelta(seconds=1),
        data_dir=tmp_path,
        history={"flush_interval": "1h", **history},
    )


def flock(name: str, business: str, count: int = 1, **options: Any) -> dict[str, Any]:
    """A flock body."""
    return {
        "name": name,
        "count": count,
        "user_spec": {"username_prefix": f"bot-mobu-{name}"},
        "business": {"type": business, "options": {"idle_time": 0, **options}},
    }


async def run_flock(client: httpx.AsyncClient, events: Events, body: dict[str, Any]) -> None:
    """Start a flock, wait for 20 events of its business, stop it."""
    assert events.recorder is not None
    name = "empty_loop" if body["business"]["type"] == "EmptyLoop" else "notebook_like"
    count = events.recorder.count(name)
    response = await client.put("/mobu/flocks", json=body)
    assert response.status_code == 201
    await events.recorder.wait_for(name, count + 20)
    assert (await client.delete(f"/mobu/flocks/{body['name']}")).status_code == 204


async def test_history_survives_restart_and_replacement(tmp_path: Path) -> None:
    """A flock's history is kept across a replacement of the flock and a restart of mobu."""
    events = Events()
    async with running_app(config(tmp_path), registry=registry(), events=events) as client:
        await run_flock(client, events, flock("e", "EmptyLoop"))
        await run_flock(client, events, flock("e", "EmptyLoop", count=2))
        history = (await client.get("/mobu/flocks/e/history", params={"since": "1h"})).json()
        assert history["totals"]["empty_loop"]["count"] >= 40
        before = history["totals"]["empty_loop"]["count"]
        status = (await client.get("/mobu/history/status")).json()
        assert status["path"] == str(tmp_path / "history.sqlite3")
    async with running_app(config(tmp_path), registry=registry(), events=Events()) as client:
        history = (await client.get("/mobu/flocks/e/history", params={"since": "1h"})).json()
        assert history["totals"]["empty_loop"]["count"] == before
        assert history["step"] == 60
        assert history["buckets"][-1]["end"] >= history["buckets"][0]["start"]
        uptime = (await client.get("/mobu/flocks/e/uptime")).json()
        assert [w["window"] for w in uptime["windows"]] == ["1h", "24h", "7d", "30d"]
        assert uptime["windows"][0]["success_ratio"] == 1.0
        overview = (await client.get("/mobu/history/overview")).json()
        (entry,) = overview["flocks"]
        assert entry["name"] == "e"
        assert entry["running"] is False
        assert entry["main_event"] == "empty_loop"
        assert len(entry["sparkline"]) == 60


async def test_failures_uptime_and_overview(tmp_path: Path) -> None:
    """Failures reach the failure log and the overview; the running flock shows its monkeys."""
    events = Events()
    async with running_app(config(tmp_path), registry=registry(), events=events) as client:
        body = flock("nb", "Flaky", failures=3)
        body["business"]["restart"] = True
        body["business"]["options"]["error_idle_time"] = 0
        assert (await client.put("/mobu/flocks", json=body)).status_code == 201
        assert events.recorder is not None
        await events.recorder.wait_for("notebook_like", 6)
        failures = (await client.get("/mobu/failures", params={"flock": "nb"})).json()
        assert len(failures) == 3
        assert failures[0]["time"] >= failures[-1]["time"]
        assert failures[0]["error_type"] == "CellError"
        assert failures[0]["log_url"].startswith("/mobu/flocks/nb/monkeys/bot-mobu-nb")
        overview = (await client.get("/mobu/history/overview")).json()
        (entry,) = overview["flocks"]
        assert entry["running"] is True
        assert entry["monkeys"] == 1
        assert entry["business"] == "Flaky"
        assert entry["last_failure"]["error_type"] == "CellError"
        assert entry["last_failure"]["seconds_ago"] >= 0
        assert 0 < entry["success_ratio_hour"] < 1
        uptime = (await client.get("/mobu/flocks/nb/uptime")).json()
        assert uptime["windows"][0]["failures"] == 3
        assert "current_outage" not in uptime


@pytest.mark.parametrize(
    ("path", "params", "location"),
    [
        ("/mobu/flocks/x/history", {"since": "yesterday-ish"}, ["query", "since"]),
        ("/mobu/flocks/x/history", {"until": "not a time"}, ["query", "until"]),
        ("/mobu/flocks/x/history", {"since": "1h", "until": "2h"}, ["query", "since"]),
        ("/mobu/flocks/x/history", {"since": "900d"}, ["query", "since"]),
        ("/mobu/flocks/x/history", {"step": "30s"}, ["query", "step"]),
        ("/mobu/flocks/x/history", {"step": "90s"}, ["query", "step"]),
        ("/mobu/flocks/x/history", {"step": "often"}, ["query", "step"]),
        ("/mobu/flocks/x/history", {"since": "30d", "step": "1m"}, ["query", "step"]),
        ("/mobu/flocks/bad%20name/history", {}, ["path", "flock"]),
        ("/mobu/failures", {"limit": "0"}, ["query", "limit"]),
        ("/mobu/failures", {"limit": "many"}, ["query", "limit"]),
        ("/mobu/failures", {"since": "soon"}, ["query", "since"]),
        ("/mobu/failures", {"flock": "../x"}, ["query", "flock"]),
    ],
)
async def test_bad_parameters_are_422(
    tmp_path: Path, path: str, params: dict[str, str], location: list[str]
) -> None:
    """Every bad query parameter is a 422 naming the parameter, never echoing its value."""
    async with running_app(config(tmp_path), registry=registry()) as client:
        response = await client.get(path, params=params)
    assert response.status_code == 422
    (detail,) = response.json()["detail"]
    assert detail["loc"] == location
    for value in params.values():
        assert value not in detail["msg"]


async def test_disabled_history(tmp_path: Path) -> None:
    """With history disabled the routes answer 404 and the status says so."""
    async with running_app(config(tmp_path, enabled=False), registry=registry()) as client:
        response = await client.get("/mobu/flocks/x/history")
        assert response.status_code == 404
        assert response.json()["detail"][0]["type"] == "history_disabled"
        assert (await client.get("/mobu/history/status")).json()["enabled"] is False
    assert not (tmp_path / "history.sqlite3").exists()
