"""Bad input ends every command with one ``Error:`` line and exit status 2, never a traceback."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
import yaml
from click.testing import Result

from mobu.cli import mobu
from mobu.cli.common import MobuGroup, debug_option
from mobu.cli.monkeyflocker import monkeyflocker
from tests.cli.conftest import invoke
from tests.test_yamlload import alias_bomb


def assert_one_line_error(result: Result, *fragments: str, code: int = 2) -> None:
    """The command exited ``code`` with a single ``Error:`` line holding every fragment."""
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    assert result.stderr.startswith("Error: "), result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    for fragment in fragments:
        assert fragment in result.stderr


@pytest.fixture
def bad_files(tmp_path: Path) -> dict[str, Path]:
    """One YAML file per kind of unusable input, and a valid solitary spec."""
    files = {
        "latin1": b"user:\n  username: caf\xe9\n",
        "deep": b"business: " + b"[" * 5000 + b"]" * 5000 + b"\n",
        "bigint": b"count: " + b"7" * 10_000 + b"\n",
        "bomb": alias_bomb().encode(),
        "valid": b"user: {username: bot-mobu-solo}\nbusiness: {type: EmptyLoop}\n",
    }
    paths = {}
    for name, content in files.items():
        paths[name] = tmp_path / f"{name}.yaml"
        paths[name].write_bytes(content)
    return paths


EXPECTED = {
    "latin1": "line 2: not UTF-8 text",
    "deep": "nested deeper than",
    "bigint": "Exceeds the limit (4300 digits)",
    "bomb": "line 6, column 5: YAML aliases expand to more than 100000 extra nodes",
}


@pytest.mark.parametrize("kind", sorted(EXPECTED))
async def test_bad_yaml_everywhere(bad_files: dict[str, Path], kind: str) -> None:
    """Non-UTF-8, deeply nested, huge-integer and alias-bomb files: one line, exit 2."""
    path = str(bad_files[kind])
    for args in (
        ["run", path],
        ["flock", "start", path],
        ["serve", "--port", "0", "--config", path],
        ["run", "--config", path, str(bad_files["valid"])],
    ):
        assert_one_line_error(await invoke(mobu, args), path, EXPECTED[kind])
    r = await invoke(monkeyflocker, ["start", "-f", path, "-k", "token"])
    assert_one_line_error(r, path, EXPECTED[kind])


async def test_bomb_in_service_config_options(tmp_path: Path) -> None:
    """The issue's bomb, in an autostart flock's user_options, stops ``mobu serve`` at once."""
    config = tmp_path / "config.yaml"
    config.write_text(
        "autostart:\n  - name: bomb\n    business:\n      type: EmptyLoop\n      options:\n"
        "        user_options:\n" + alias_bomb(indent="          ")
    )
    r = await invoke(mobu, ["serve", "--port", "0", "--config", str(config)])
    assert_one_line_error(r, "line 12, column 15: YAML aliases expand to more than")


async def test_invalid_url() -> None:
    """A URL that does not parse, or is not http(s), is refused before any request."""
    r = await invoke(mobu, ["flock", "list", "--url", "http://[::1"])
    assert_one_line_error(r, "invalid --url 'http://[::1'")
    r = await invoke(mobu, ["flock", "show", "x", "--url", "ftp://example.org/mobu"])
    assert_one_line_error(r, "not an http:// or https:// URL")
    r = await invoke(mobu, ["flock", "stop", "x"], MOBU_URL="http://127.0.0.1:99999/mobu")
    assert_one_line_error(r, "port 99999 out of range")
    r = await invoke(monkeyflocker, ["stop", "x", "-e", "http://[::1", "-k", "token"])
    assert_one_line_error(r, "invalid --base-url")


async def test_unwritable_report_directory() -> None:
    """``flock report -o`` into a directory that cannot be created: one line, exit 2."""
    r = await invoke(mobu, ["flock", "report", "x", "-o", "/proc/nope"])
    assert_one_line_error(r, "/proc/nope")
    r = await invoke(monkeyflocker, ["report", "x", "-o", "/proc/nope", "-k", "token"])
    assert_one_line_error(r, "/proc/nope")


async def test_serve_unbindable_host(tmp_path: Path) -> None:
    """``serve --host 256.1.1.1`` fails before starting anything (not uvicorn's exit 3)."""
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"auth": {"tokens": ["a-token"]}}))
    r = await invoke(mobu, ["serve", "--host", "256.1.1.1", "--config", str(config)])
    assert_one_line_error(r, "cannot listen on 256.1.1.1:8080")
    assert r.stdout == ""
    r = await invoke(mobu, ["serve", "--host", "256.1.1.1"])
    assert_one_line_error(r, "only on a loopback address")


@click.group(cls=MobuGroup)
@debug_option
def _buggy(debug: bool) -> None:
    """A group with the error boundary, whose commands raise."""


@_buggy.command()
def bug() -> None:
    """Raise what no command expects."""
    raise KeyError("surprise")


@_buggy.command()
def bad_value() -> None:
    """Raise a parsing ValueError spanning lines."""
    raise ValueError("not a number:\n  'abc'")


async def test_unexpected_error_is_one_line_with_hint() -> None:
    """A bug is named in one line with a --debug hint, exit 1; --debug shows the traceback."""
    r = await invoke(_buggy, ["bug"])
    assert_one_line_error(r, "unexpected KeyError: 'surprise'", "--debug", code=1)
    r = await invoke(_buggy, ["bad-value"])
    assert_one_line_error(r, "not a number: 'abc'")
    with pytest.raises(KeyError, match="surprise"):
        await invoke(_buggy, ["--debug", "bug"])
    with pytest.raises(KeyError, match="surprise"):
        await invoke(_buggy, ["bug"], MOBU_DEBUG="1")


async def test_usage_errors_unchanged() -> None:
    """click's own usage errors still show the usage (exit 2); --help still exits 0."""
    r = await invoke(mobu, ["flock", "start"])
    assert r.exit_code == 2
    assert "Missing argument 'SPEC'" in r.stderr
    assert (await invoke(mobu, ["--help"])).exit_code == 0
