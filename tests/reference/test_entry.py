"""The app's entry points and open routes: the chart's uvicorn command, GET /, anonymous routes."""

from __future__ import annotations

import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
import yaml
from asgi_lifespan import LifespanManager
from fastapi import APIRouter, FastAPI

from mobu.config import Config
from mobu.dependencies.auth import ANONYMOUS, AnonymousRoute
from mobu.main import create_app
from tests.reference.support import chart_environment, deployment, run_process
from tests.support.target import Target

ADMIN = "admin-token-entry"
METADATA_KEYS = {"name", "version", "description", "repository_url", "documentation_url"}


@asynccontextmanager
async def _client(
    app: FastAPI, client: tuple[str, int] = ("127.0.0.1", 50000)
) -> AsyncIterator[httpx.AsyncClient]:
    async with LifespanManager(app, shutdown_timeout=60) as manager:
        transport = httpx.ASGITransport(app=manager.app, client=client)
        async with httpx.AsyncClient(transport=transport, base_url="http://mobu.test") as http:
            yield http


async def test_metadata_open() -> None:
    """GET / and GET {prefix}/ answer the metadata without the admin token; the rest needs it."""
    app = create_app(Config(auth={"tokens": [ADMIN]}, name="mobu-test"))
    async with _client(app) as client:
        root = await client.get("/")
        assert root.status_code == 200
        assert set(root.json()) == METADATA_KEYS
        assert root.json()["name"] == "mobu-test"
        index = await client.get("/mobu/")
        assert index.status_code == 200
        assert index.json()["metadata"]["name"] == "mobu-test"
        assert (await client.get("/mobu/summary")).status_code == 401
        assert (await client.post("/")).status_code == 405


async def test_routes_opt_out_of_auth() -> None:
    """A router with AnonymousRoute, or a route with ANONYMOUS, needs no authentication."""
    app = create_app(Config(auth={"trust_header": "X-Auth-Request-User"}))
    hooks = APIRouter(route_class=AnonymousRoute)

    @hooks.post("/refresh/webhook")
    async def refresh() -> dict[str, str]:
        return {"ok": "refresh"}

    other = APIRouter()

    @other.post("/ci/webhook", openapi_extra=ANONYMOUS)
    async def ci() -> dict[str, str]:
        return {"ok": "ci"}

    @other.get("/ci/status")
    async def status() -> dict[str, str]:
        return {"ok": "status"}

    app.include_router(hooks, prefix="/mobu/github")
    app.include_router(other, prefix="/mobu/github")
    async with _client(app) as client:
        assert (await client.post("/mobu/github/refresh/webhook")).json() == {"ok": "refresh"}
        assert (await client.post("/mobu/github/ci/webhook")).json() == {"ok": "ci"}
        assert (await client.get("/mobu/github/ci/status")).status_code == 401
        assert (await client.get("/mobu/github/refresh/webhook")).status_code == 401


async def test_factory_none_serves_loopback_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The factory cannot see its bind address: with auth none only loopback clients get in."""
    path = tmp_path / "config.yaml"
    path.write_text("auth: none\n")
    monkeypatch.setenv("MOBU_CONFIG_PATH", str(path))
    async with _client(create_app(), client=("10.1.2.3", 40000)) as client:
        assert (await client.get("/")).status_code == 200
        refused = await client.get("/mobu/flocks")
        assert refused.status_code == 403
    async with _client(create_app()) as client:
        assert (await client.get("/mobu/flocks")).status_code == 200


@pytest.mark.parametrize(
    "command",
    [
        ["uvicorn", "--factory", "mobu.main:create_app"],
        ["uvicorn", "mobu.main:app"],
    ],
    ids=["factory", "app"],
)
async def test_chart_command(command: list[str], target: Target, tmp_path: Path) -> None:
    """The container's uvicorn command with the chart's config and environment; SIGTERM exits 0."""
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(deployment("01-metrics")))
    env = {
        **chart_environment(target.url),
        "MOBU_CONFIG_PATH": str(config),
        "XDG_STATE_HOME": str(tmp_path / "state"),
    }
    args = [*command, "--host", "127.0.0.1", "--port", "0"]
    async with run_process(args, env, tmp_path) as server:
        found = await server.wait_for(r"Uvicorn running on http://127\.0\.0\.1:(\d+)")
        base = f"http://127.0.0.1:{found.group(1)}"
        async with httpx.AsyncClient(timeout=60) as client:
            root = await client.get(base + "/")
            assert root.status_code == 200
            assert set(root.json()) == METADATA_KEYS
            assert (await client.get(base + "/mobu/flocks")).status_code == 401
            user = {"X-Auth-Request-User": "someone"}
            running = (await client.get(base + "/mobu/flocks", headers=user)).json()
            summary = (await client.get(base + "/mobu/summary", headers=user)).json()
            failed = [f["name"] for f in summary["autostart_failures"]]
            assert sorted(running + failed) == ["empty"]  # Gafaelfawr is not reachable here
        status = await server.terminate()
    # uvicorn re-raises SIGTERM once its graceful shutdown is over (mobu serve exits 0).
    assert status in (0, -signal.SIGTERM), server.log
    assert "All flocks stopped" in server.log
    assert "Traceback" not in server.log


async def test_chart_command_bad_config(tmp_path: Path) -> None:
    """A bad configuration: the factory prints one line naming the key and exits 2."""
    config = tmp_path / "config.yaml"
    config.write_text("logLevel: INFO\ncolour: red\n")
    args = ["uvicorn", "--factory", "mobu.main:create_app", "--port", "0"]
    async with run_process(args, {"MOBU_CONFIG_PATH": str(config)}, tmp_path) as server:
        status = await server.process.wait()
    assert status == 2, server.log
    assert "colour: unknown key" in server.log
    assert "Traceback" not in server.log
