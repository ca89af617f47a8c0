"""``mobu serve``: startup checks, and SIGTERM/SIGINT stop every flock and exit 0."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import httpx
import pytest

from mobu.cli import mobu
from tests.cli.conftest import invoke, mobu_server
from tests.support.target import Target


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
async def test_signal_stops_hung_flock(tmp_path: Path, target: Target, sig: int) -> None:
    """A monkey stuck on a backend that never answers does not keep the process alive."""
    hung = {
        "name": "hung",
        "count": 2,
        "user_spec": {"username_prefix": "bot-mobu-hung"},
        "business": {
            "type": "HTTPCheck",
            "options": {"url": f"{target.url}/hang", "timeout": "1h"},
        },
    }
    config = {"stop_grace": "1s", "autostart": [hung]}
    async with mobu_server(tmp_path, config) as server:
        async with httpx.AsyncClient(base_url=server.url + "/", timeout=60) as client:
            r = await client.put(
                "flocks",
                json={
                    "name": "idle",
                    "count": 1,
                    "user_spec": {"username_prefix": "bot-mobu-idle"},
                    "business": {"type": "EmptyLoop"},
                },
            )
            assert r.status_code == 201
            summary = (await client.get("summary")).json()
            assert [f["name"] for f in summary["flocks"]] == ["hung", "idle"]
        status = await server.terminate(sig)
    assert status == 0, server.log
    assert "All flocks stopped" in server.log
    assert "Traceback" not in server.log


async def test_port_zero_prints_url(tmp_path: Path) -> None:
    """--port 0 binds a free port and prints the URL with the API prefix."""
    async with mobu_server(tmp_path, {"path_prefix": "/api/mobu"}) as server:
        assert server.url.startswith("http://127.0.0.1:")
        assert server.url.endswith("/api/mobu")
        async with httpx.AsyncClient() as client:
            r = await client.get(server.url + "/")
            assert r.json()["metadata"]["name"] == "mobu"
            base = server.url.removesuffix("/api/mobu")
            assert (await client.get(base + "/health")).status_code == 200
        assert await server.terminate() == 0


async def test_bad_config(tmp_path: Path) -> None:
    """An unknown key or a bad value: a message naming it and exit 2."""
    path = tmp_path / "bad.yaml"
    path.write_text("pathPrefix: /mobu\nreplica_count: 0\ncolour: red\n")
    r = await invoke(mobu, ["serve", "--config", str(path)])
    assert r.exit_code == 2
    assert "colour: unknown key" in r.stderr
    assert "replica_count" in r.stderr
    assert "Traceback" not in r.output

    path.write_text("autostart:\n  - name: x\n    count: 1\n    business: {type: Nope}\n")
    r = await invoke(mobu, ["serve", "--config", str(path)])
    assert r.exit_code == 2
    assert "autostart.0" in r.stderr

    # Valid keys, but the identity provider lacks the hub URL it needs.
    path.write_text("identity:\n  provider: jupyterhub\n  admin_token: some-token\n")
    r = await invoke(mobu, ["serve", "--config", str(path)])
    assert r.exit_code == 2
    assert "hub_url" in r.stderr
    assert "Traceback" not in r.output


async def test_auth_none_refused_off_loopback(tmp_path: Path) -> None:
    """Without authentication the server only binds to loopback."""
    r = await invoke(mobu, ["serve", "--host", "0.0.0.0", "--port", "0"])
    assert r.exit_code == 2
    assert "loopback" in r.stderr
    r = await invoke(mobu, ["serve"], MOBU_HOST="0.0.0.0", MOBU_CONFIG_PATH=str(tmp_path / "x"))
    assert r.exit_code == 2


async def test_signal_during_batched_start(tmp_path: Path) -> None:
    """A flock still starting (long batch waits) ends its start; the server exits 0 promptly."""
    body = {
        "name": "slow",
        "count": 3,
        "start_batch_size": 1,
        "start_batch_wait": "1h",
        "user_spec": {"username_prefix": "bot-mobu-slow"},
        "business": {"type": "EmptyLoop"},
    }
    async with (
        mobu_server(tmp_path, {"stop_grace": "1s"}) as server,
        httpx.AsyncClient(base_url=server.url + "/", timeout=120) as client,
    ):
        put = asyncio.create_task(client.put("flocks", json=body))
        await server.wait_for_output("starting batch")
        status = await server.terminate()
        response = await put
    assert status == 0, server.log
    assert response.status_code == 201
    assert "All flocks stopped" in server.log


async def test_signal_during_autostart(tmp_path: Path) -> None:
    """SIGTERM while a configured flock is still starting: the start ends and the exit is 0."""
    slow = {
        "name": "slow",
        "count": 3,
        "start_batch_size": 1,
        "start_batch_wait": "1h",
        "user_spec": {"username_prefix": "bot-mobu-slow"},
        "business": {"type": "EmptyLoop"},
    }
    later = {**slow, "name": "later", "start_batch_wait": None, "start_batch_size": None}
    config = {"stop_grace": "1s", "autostart": [slow, later]}
    async with mobu_server(tmp_path, config, wait_ready=False) as server:
        await server.wait_for_output("starting batch")
        status = await server.terminate()
    assert status == 0, server.log
    assert "Autostart interrupted by shutdown" in server.log
    assert "flock=later" not in server.log
