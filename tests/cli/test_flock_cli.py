"""``mobu flock ...`` against a real ``mobu serve``."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import yaml

from mobu.cli import mobu
from tests.cli.conftest import ServerProcess, invoke, mobu_server


def write_spec(tmp_path: Path, **overrides: Any) -> Path:
    spec = {
        "name": "cli",
        "count": 4,
        "user_spec": {"username_prefix": "bot-mobu-cli", "uid_start": 2000},
        "business": {"type": "EmptyLoop", "options": {"idle_time": "50ms"}},
        **overrides,
    }
    path = tmp_path / f"{spec['name']}.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


async def test_flock_commands(server: ServerProcess, tmp_path: Path) -> None:
    """start (batched, with progress), list, show, summary, report, refresh, stop."""
    spec = write_spec(tmp_path, start_batch_size=2, start_batch_wait="1.5s")
    url = ["--url", server.url]
    r = await invoke(mobu, ["flock", "start", str(spec), *url])
    assert r.exit_code == 0, r.output
    assert "Flock cli started with 4 monkeys" in r.stdout
    assert "monkeys started" in r.stderr  # progress of the batched start

    r = await invoke(mobu, ["flock", "list", *url])
    assert r.exit_code == 0, r.output
    assert "FLOCK" in r.stdout
    assert "cli" in r.stdout
    assert "EmptyLoop" in r.stdout

    r = await invoke(mobu, ["flock", "list", "--json", *url])
    data = json.loads(r.stdout)
    assert [f["name"] for f in data["flocks"]] == ["cli"]
    assert data["flocks"][0]["monkey_count"] == 4

    r = await invoke(mobu, ["flock", "show", "cli", *url])
    assert "bot-mobu-cli1" in r.stdout
    assert "bot-mobu-cli4" in r.stdout
    r = await invoke(mobu, ["flock", "show", "cli", "--json", *url])
    assert json.loads(r.stdout)["config"]["start_batch_size"] == 2

    r = await invoke(mobu, ["flock", "summary", "cli", "--json", *url])
    assert json.loads(r.stdout)["started_count"] == 4
    r = await invoke(mobu, ["flock", "summary", *url])
    assert "cli" in r.stdout

    out = tmp_path / "report"
    r = await invoke(mobu, ["flock", "report", "cli", "-o", str(out), *url])
    assert r.exit_code == 0, r.output
    stats = json.loads((out / "bot-mobu-cli1_stats.json").read_text())
    assert stats["name"] == "bot-mobu-cli1"
    assert "Starting up" in (out / "bot-mobu-cli1_log.txt").read_text()

    r = await invoke(mobu, ["flock", "refresh", "cli", *url])
    assert r.exit_code == 0, r.output
    r = await invoke(mobu, ["flock", "stop", "cli", *url])
    assert r.exit_code == 0, r.output
    r = await invoke(mobu, ["flock", "show", "cli", *url])
    assert r.exit_code == 1
    assert "Flock cli not found" in r.stderr


async def test_errors_and_environment(server: ServerProcess, tmp_path: Path) -> None:
    """MOBU_URL is honoured; a rejected spec exits 2 naming the field; bad YAML exits 2."""
    bad = write_spec(tmp_path, business={"type": "HTTPCheck", "options": {"url": "nope"}})
    r = await invoke(mobu, ["flock", "start", str(bad)], MOBU_URL=server.url)
    assert r.exit_code == 2
    assert "body.business.options.url" in r.stderr
    assert "Traceback" not in r.output

    broken = tmp_path / "broken.yaml"
    broken.write_text("name: [unclosed\n")
    r = await invoke(mobu, ["flock", "start", str(broken)], MOBU_URL=server.url)
    assert r.exit_code == 2
    assert "not valid YAML" in r.stderr

    r = await invoke(mobu, ["flock", "start", str(tmp_path / "missing.yaml")])
    assert r.exit_code == 2

    r = await invoke(mobu, ["flock", "list", "--json"], MOBU_URL=server.url)
    assert r.exit_code == 0
    assert json.loads(r.stdout)["flocks"] == []


async def test_unreachable_server(tmp_path: Path) -> None:
    """A server that is not there: a message and exit 1, no traceback."""
    r = await invoke(mobu, ["flock", "list", "--url", "http://127.0.0.1:9/mobu"])
    assert r.exit_code == 1
    assert "cannot reach mobu" in r.stderr


async def test_token(tmp_path: Path) -> None:
    """--token / MOBU_TOKEN authenticate against a server with admin tokens."""
    config = {"auth": {"tokens": ["cli-secret-token"]}}
    async with mobu_server(tmp_path, config) as server:
        r = await invoke(mobu, ["flock", "list", "--url", server.url])
        assert r.exit_code == 1
        assert "401" in r.stderr
        r = await invoke(mobu, ["flock", "list", "--url", server.url, "--token", "wrong-token"])
        assert "403" in r.stderr
        r = await invoke(
            mobu, ["flock", "list", "--url", server.url], MOBU_TOKEN="cli-secret-token"
        )
        assert r.exit_code == 0, r.output
        assert "cli-secret-token" not in server.log


async def test_every_option_from_environment(tmp_path: Path) -> None:
    """Options without an explicit variable follow MOBU_<COMMAND>_<OPTION>; logs may be absent."""
    from click.testing import CliRunner

    config = {"log_monkeys_to_file": False}
    async with mobu_server(tmp_path, config) as server:
        spec = write_spec(tmp_path, count=1)
        r = await invoke(mobu, ["flock", "start", str(spec), "--url", server.url])
        assert r.exit_code == 0, r.output
        runner = CliRunner()
        env = {"MOBU_URL": server.url, "MOBU_JSON": "1"}
        r = await asyncio.to_thread(
            runner.invoke, mobu, ["flock", "list"], env=env, auto_envvar_prefix="MOBU"
        )
        assert r.exit_code == 0, r.output
        assert json.loads(r.stdout)["flocks"][0]["name"] == "cli"
        out = tmp_path / "report"
        env = {"MOBU_URL": server.url, "MOBU_FLOCK_REPORT_OUTPUT": str(out)}
        r = await asyncio.to_thread(
            runner.invoke, mobu, ["flock", "report", "cli"], env=env, auto_envvar_prefix="MOBU"
        )
        assert r.exit_code == 0, r.output
        assert sorted(p.name for p in out.iterdir()) == ["bot-mobu-cli1_stats.json"]
