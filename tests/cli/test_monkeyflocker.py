"""``monkeyflocker``: the reference's commands and options, honouring the API prefix."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from mobu.cli.monkeyflocker import monkeyflocker
from tests.cli.conftest import invoke, mobu_server

TOKEN = "flocker-token"


async def test_start_report_refresh_stop(tmp_path: Path) -> None:
    """start -f, report -o, refresh, stop -o against a server with a non-default prefix."""
    config = {"path_prefix": "/monkeys", "auth": {"tokens": [TOKEN]}}
    spec = tmp_path / "flock.yaml"
    spec.write_text(
        yaml.safe_dump(
            {
                "name": "flocker",
                "count": 2,
                "user_spec": {"username_prefix": "bot-mobu-flocker"},
                "business": {"type": "EmptyLoop", "options": {"idle_time": "50ms"}},
            }
        )
    )
    async with mobu_server(tmp_path, config) as server:
        base = server.url.removesuffix("/monkeys")
        env = {"MONKEYFLOCKER_BASE_URL": base, "MONKEYFLOCKER_TOKEN": TOKEN}
        prefix = ["--path-prefix", "/monkeys"]
        r = await invoke(monkeyflocker, ["start", "-f", str(spec), *prefix], **env)
        assert r.exit_code == 0, r.output

        out = tmp_path / "report"
        r = await invoke(monkeyflocker, ["report", "-o", str(out), *prefix, "flocker"], **env)
        assert r.exit_code == 0, r.output
        assert sorted(p.name for p in out.iterdir()) == [
            "bot-mobu-flocker1_log.txt",
            "bot-mobu-flocker1_stats.json",
            "bot-mobu-flocker2_log.txt",
            "bot-mobu-flocker2_stats.json",
        ]
        stats_text = (out / "bot-mobu-flocker2_stats.json").read_text()
        assert stats_text.startswith("{\n    ")
        assert json.loads(stats_text)["business"]["name"] == "EmptyLoop"

        r = await invoke(monkeyflocker, ["refresh", *prefix, "flocker"], **env)
        assert r.exit_code == 0, r.output

        final = tmp_path / "final"
        r = await invoke(
            monkeyflocker,
            ["stop", "-e", base, "-k", TOKEN, "-o", str(final), *prefix, "flocker"],
        )
        assert r.exit_code == 0, r.output
        assert (final / "bot-mobu-flocker1_log.txt").exists()

        # Stopped: a second stop fails with a message and a non-zero status.
        r = await invoke(monkeyflocker, ["stop", *prefix, "flocker"], **env)
        assert r.exit_code == 1
        assert "Flock flocker not found" in r.stderr

        # A wrong prefix (the reference's hard-coded /mobu) is a clear 404, not a crash.
        r = await invoke(monkeyflocker, ["refresh", "flocker"], **env)
        assert r.exit_code == 1


async def test_help_and_required_options() -> None:
    """help [TOPIC]; a missing token is a usage error."""
    r = await invoke(monkeyflocker, ["help"])
    assert "start" in r.stdout
    assert "report" in r.stdout
    r = await invoke(monkeyflocker, ["help", "report"])
    assert "--output" in r.stdout
    r = await invoke(monkeyflocker, ["refresh", "x"])
    assert r.exit_code == 2
    assert "--token" in r.stderr
