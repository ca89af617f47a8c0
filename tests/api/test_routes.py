"""Every route of the API, through the app with its lifespan."""

from __future__ import annotations

import json

import httpx

from mobu.events import Events
from tests.api.conftest import flock_body


async def test_index_and_health(client: httpx.AsyncClient) -> None:
    """The prefix index returns metadata; /health is outside the prefix."""
    r = await client.get("/mobu/")
    assert r.status_code == 200
    metadata = r.json()["metadata"]
    assert metadata["name"] == "mobu"
    assert metadata["version"]
    assert "repository_url" not in metadata  # nulls are excluded
    index = r.json()
    assert index["data_dir"]
    assert index["dashboard"] == "/mobu/ui"
    history = index["history"]
    assert history["enabled"] is True
    assert history["path"].startswith(index["data_dir"])
    assert history["store"].startswith("sqlite+aiosqlite:///")
    r = await client.get("/health")
    assert r.json() == {"status": "ok"}


async def test_docs_under_prefix(client: httpx.AsyncClient) -> None:
    """OpenAPI, Swagger UI and ReDoc live under the prefix."""
    r = await client.get("/mobu/openapi.json")
    assert r.status_code == 200
    paths = r.json()["paths"]
    assert "/mobu/flocks/{flock}/monkeys/{monkey}/log" in paths
    assert "/health" not in paths
    assert (await client.get("/mobu/docs")).status_code == 200
    assert (await client.get("/mobu/redoc")).status_code == 200


async def test_flock_lifecycle(client: httpx.AsyncClient, events: Events) -> None:
    """PUT → 201 with Location; list, show, monkeys, summary, refresh, delete."""
    assert (await client.get("/mobu/flocks")).json() == []
    r = await client.put("/mobu/flocks", json=flock_body(count=3))
    assert r.status_code == 201
    assert r.headers["Location"] == "http://testserver/mobu/flocks/test"
    assert r.text.startswith("{\n    ")  # pretty: indented
    data = r.json()
    assert list(data) == sorted(data)  # sorted keys
    assert data["name"] == "test"
    assert "start_batch_size" not in data["config"]  # only fields that were set
    assert [m["name"] for m in data["monkeys"]] == [
        "bot-mobu-testuser1",
        "bot-mobu-testuser2",
        "bot-mobu-testuser3",
    ]
    assert events.recorder is not None
    await events.recorder.wait_for("empty_loop", 3)

    assert (await client.get("/mobu/flocks")).json() == ["test"]
    r = await client.get("/mobu/flocks/test")
    assert r.status_code == 200
    assert r.json()["config"]["count"] == 3

    r = await client.get("/mobu/flocks/test/monkeys")
    assert r.json() == ["bot-mobu-testuser1", "bot-mobu-testuser2", "bot-mobu-testuser3"]
    r = await client.get("/mobu/flocks/test/monkeys/bot-mobu-testuser2")
    monkey = r.json()
    assert monkey["name"] == "bot-mobu-testuser2"
    assert monkey["user"]["uidnumber"] == 1001
    assert monkey["user"]["scopes"] == ["exec:notebook"]
    assert monkey["business"]["name"] == "EmptyLoop"
    assert monkey["state"] in ("RUNNING", "IDLE")

    r = await client.get("/mobu/flocks/test/summary")
    summary = r.json()
    assert summary["name"] == "test"
    assert summary["business"] == "EmptyLoop"
    assert summary["monkey_count"] == 3
    assert summary["started_count"] == 3
    assert summary["success_count"] >= 1
    assert "start_time" in summary

    r = await client.get("/mobu/summary")
    assert [f["name"] for f in r.json()["flocks"]] == ["test"]
    assert r.json()["autostart_failures"] == []

    r = await client.post("/mobu/flocks/test/refresh")
    assert r.status_code == 202
    monkey = (await client.get("/mobu/flocks/test/monkeys/bot-mobu-testuser1")).json()
    assert monkey["business"]["refreshing"] is True

    r = await client.delete("/mobu/flocks/test")
    assert r.status_code == 204
    assert (await client.get("/mobu/flocks")).json() == []
    assert (await client.get("/mobu/flocks/test")).status_code == 404


async def test_same_name_replaces(client: httpx.AsyncClient) -> None:
    """Starting a flock with a taken name replaces the old one."""
    await client.put("/mobu/flocks", json=flock_body(count=2))
    r = await client.put("/mobu/flocks", json=flock_body(count=1))
    assert r.status_code == 201
    assert (await client.get("/mobu/flocks")).json() == ["test"]
    assert (await client.get("/mobu/flocks/test/monkeys")).json() == ["bot-mobu-testuser1"]


async def test_monkey_log(client: httpx.AsyncClient, events: Events) -> None:
    """The log is a text/plain attachment named <flock>-<monkey>-<timestamp>."""
    await client.put("/mobu/flocks", json=flock_body(count=1))
    assert events.recorder is not None
    await events.recorder.wait_for("empty_loop", 2)
    r = await client.get("/mobu/flocks/test/monkeys/bot-mobu-testuser1/log")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    disposition = r.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="test-bot-mobu-testuser1-')
    assert "Starting" in r.text


async def test_solitary_success(client: httpx.AsyncClient) -> None:
    """POST /run returns success and the log."""
    body = {"user": {"username": "bot-mobu-solo"}, "business": {"type": "EmptyLoop"}}
    r = await client.post("/mobu/run", json=body)
    assert r.status_code == 200
    result = r.json()
    assert result["success"] is True
    assert "error" not in result
    assert result["log"]


async def test_solitary_failure_is_200(client: httpx.AsyncClient, target_url: str) -> None:
    """A failing business still gives 200, with success false, the error and the log."""
    body = {
        "user": {"username": "bot-mobu-solo"},
        "business": {"type": "HTTPCheck", "options": {"url": f"{target_url}/status/503"}},
    }
    r = await client.post("/mobu/run", json=body)
    assert r.status_code == 200
    result = r.json()
    assert result["success"] is False
    assert "503" in result["error"]
    assert "503" in result["log"]


async def test_businesses(client: httpx.AsyncClient) -> None:
    """Every registered business with its options schema."""
    r = await client.get("/mobu/businesses")
    assert r.status_code == 200
    by_type = {b["type"]: b for b in r.json()}
    assert {"EmptyLoop", "HTTPCheck"} <= set(by_type)
    schema = by_type["HTTPCheck"]["options_schema"]
    assert "url" in schema["properties"]
    assert "url" in schema["required"]
    json.dumps(by_type)  # plain JSON
