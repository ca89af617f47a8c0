"""``mobu run SPEC``: exit 0 on success, 1 on business failure, 2 on a bad spec."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from mobu.cli import mobu
from tests.cli.conftest import invoke
from tests.support.target import Target


def spec(tmp_path: Path, business: dict[str, Any]) -> str:
    path = tmp_path / "solitary.yaml"
    path.write_text(yaml.safe_dump({"user": {"username": "bot-mobu-solo"}, "business": business}))
    return str(path)


async def test_success(tmp_path: Path, target: Target) -> None:
    """A successful run prints its log and exits 0."""
    path = spec(tmp_path, {"type": "HTTPCheck", "options": {"url": f"{target.url}/ok"}})
    r = await invoke(mobu, ["run", path])
    assert r.exit_code == 0, r.output
    assert "Starting up" in r.stdout
    assert target.hits["ok"] == 1


async def test_failure(tmp_path: Path, target: Target) -> None:
    """A failing business exits 1 with its error; --json gives the result."""
    path = spec(tmp_path, {"type": "HTTPCheck", "options": {"url": f"{target.url}/status/500"}})
    r = await invoke(mobu, ["run", path])
    assert r.exit_code == 1
    assert "status 500" in r.stderr
    r = await invoke(mobu, ["run", path, "--json"])
    assert r.exit_code == 1
    result = json.loads(r.stdout)
    assert result["success"] is False
    assert "status 500" in result["error"]


async def test_bad_spec(tmp_path: Path) -> None:
    """Invalid specs exit 2 with the validation message, never a traceback."""
    path = spec(tmp_path, {"type": "EmptyLoop", "options": {"colour": "red"}})
    r = await invoke(mobu, ["run", path])
    assert r.exit_code == 2
    assert "business.options.colour: unknown key" in r.stderr

    path = spec(tmp_path, {"type": "NoSuchThing"})
    r = await invoke(mobu, ["run", path])
    assert r.exit_code == 2
    assert "Unknown business type 'NoSuchThing'" in r.stderr

    broken = tmp_path / "broken.yaml"
    broken.write_text("- just\n- a list\n")
    r = await invoke(mobu, ["run", str(broken)])
    assert r.exit_code == 2
    assert "mapping" in r.stderr

    r = await invoke(mobu, ["run", str(tmp_path / "absent.yaml")])
    assert r.exit_code == 2
    assert "cannot read" in r.stderr
    for result in [r]:
        assert "Traceback" not in result.output


async def test_bad_spec_does_not_quote_files(tmp_path: Path) -> None:
    """A file path as query_set exits 2 without reading or quoting the file."""
    secret = tmp_path / "secret.txt"
    secret.write_text("token: cli-planted-secret-9b2f\n")
    for business in ("SIAQuerySetRunner", "TAPQuerySetRunner"):
        path = spec(tmp_path, {"type": business, "options": {"query_set": str(secret)}})
        r = await invoke(mobu, ["run", path])
        assert r.exit_code == 2
        assert "business.options.query_set: Value error, a query set is a plain name" in r.stderr
        assert "cli-planted-secret-9b2f" not in r.output
