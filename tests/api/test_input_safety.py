"""Requests cannot make mobu read files, reveal paths or echo what they sent."""

from __future__ import annotations

import shutil
import unicodedata
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from mobu.config import Config
from tests.api.conftest import PLANTED_SECRET, AppFactory, Planted, flock_body

QUERY_SET_LOC = ["body", "business", "options", "query_set"]


def run_body(business: str, **options: Any) -> dict[str, Any]:
    """A solitary run of ``business`` with ``options``."""
    return {
        "user": {"username": "bot-mobu-solo"},
        "business": {"type": business, "options": options},
    }


def problem(r: httpx.Response, status: int = 422) -> dict[str, Any]:
    """The single problem of an error response."""
    assert r.status_code == status, r.text
    [detail] = r.json()["detail"]
    assert set(detail) == {"loc", "msg", "type"}
    return detail


@pytest.mark.parametrize("which", ["/etc/passwd", "secret_file", "config_file"])
async def test_sia_query_set_path_is_not_read(
    client: httpx.AsyncClient, planted: Planted, which: str
) -> None:
    """A file path as SIA query_set is refused with 422, and nothing of the file shows."""
    path = which if which.startswith("/") else str(getattr(planted, which))
    for r in (
        await client.post("/mobu/run", json=run_body("SIAQuerySetRunner", query_set=path)),
        await client.put(
            "/mobu/flocks",
            json=flock_body(type="SIAQuerySetRunner", options={"query_set": path}),
        ),
    ):
        detail = problem(r)
        assert detail["loc"] == QUERY_SET_LOC
        assert PLANTED_SECRET not in r.text
        assert "root:" not in r.text
        assert path not in r.text


async def test_tap_query_set_existence_is_not_revealed(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    """An existing and a missing directory (or name outside the sets) get the same answer."""
    (tmp_path / "set").mkdir()
    shutil.copy(Path(__file__), tmp_path / "set" / "x.sql")
    missing = tmp_path / "nothing"
    messages = []
    for value in (str(tmp_path / "set"), str(missing), "/etc", "/nonexistent-dir"):
        r = await client.post("/mobu/run", json=run_body("TAPQuerySetRunner", query_set=value))
        messages.append(problem(r)["msg"])
    assert len(set(messages)) == 1
    # Plain names are looked up only among the sets: "tests" exists relative to the working
    # directory, "nosuchset" nowhere; both are unknown, worded alike.
    texts = []
    for name in ("tests", "nosuchset"):
        r = await client.post("/mobu/run", json=run_body("TAPQuerySetRunner", query_set=name))
        detail = problem(r)
        assert detail["type"] == "invalid_query_set"
        texts.append(detail["msg"].replace(repr(name), "NAME"))
    assert texts[0] == texts[1]


async def test_query_sets_from_configured_dirs(client: httpx.AsyncClient) -> None:
    """Sets under query_set_dirs are found by name (the run then fails on discovery only)."""
    for business, name in (("TAPQuerySetRunner", "mine"), ("SIAQuerySetRunner", "sia.yaml")):
        r = await client.post("/mobu/run", json=run_body(business, query_set=name))
        assert r.status_code == 200, r.text
        result = r.json()
        assert result["success"] is False
        assert "query set" not in result["error"].lower()
        assert "demo" in result["error"]  # the dataset, missing from discovery


async def test_invalid_configured_set_does_not_quote_it(client: httpx.AsyncClient) -> None:
    """An invalid params file under query_set_dirs: 422 naming the key, not the content."""
    r = await client.post("/mobu/run", json=run_body("SIAQuerySetRunner", query_set="bad.yaml"))
    detail = problem(r)
    assert detail["type"] == "invalid_query_set"
    assert "surprise: unknown key" in detail["msg"]
    assert PLANTED_SECRET not in r.text


@pytest.mark.parametrize(
    "name", ["../querysets/mine", "mine/../mine", "..", "./mine", "mine/", "a..b"]
)
async def test_query_set_escapes_refused(client: httpx.AsyncClient, name: str) -> None:
    """Names with '/', '..' or other path syntax are refused before any lookup."""
    for business in ("TAPQuerySetRunner", "SIAQuerySetRunner"):
        r = await client.post("/mobu/run", json=run_body(business, query_set=name))
        detail = problem(r)
        assert detail["loc"] == QUERY_SET_LOC
        assert detail["type"] == "value_error"


async def test_symlinks_out_of_query_set_dirs_refused(
    app_factory: AppFactory, planted: Planted, tmp_path: Path
) -> None:
    """A link under query_set_dirs to a file or set outside it is an unknown set."""
    sets = tmp_path / "sets"
    outside = tmp_path / "outside"
    sets.mkdir()
    shutil.copytree(planted.query_set_dirs / "mine", outside)
    (sets / "tapleak").symlink_to(outside, target_is_directory=True)
    (sets / "sialeak.yaml").symlink_to(planted.secret_file)
    (sets / "gone.yaml").symlink_to(tmp_path / "missing.yaml")
    (sets / "halfleak").mkdir()
    shutil.copy(outside / "params.yaml", sets / "halfleak" / "params.yaml")
    (sets / "halfleak" / "x.sql").symlink_to(planted.secret_file)
    config = Config(stop_grace=timedelta(seconds=1), query_set_dirs=[sets])
    async with app_factory(config) as client:
        unknown: dict[str, set[str]] = {}
        for business, name in [
            ("TAPQuerySetRunner", "tapleak"),
            ("TAPQuerySetRunner", "nosuch"),
            ("SIAQuerySetRunner", "sialeak.yaml"),
            ("SIAQuerySetRunner", "gone.yaml"),
            ("SIAQuerySetRunner", "nosuch"),
        ]:
            r = await client.post("/mobu/run", json=run_body(business, query_set=name))
            detail = problem(r)
            assert detail["type"] == "invalid_query_set"
            msg = detail["msg"].replace(repr(name), "NAME")
            unknown.setdefault(business, set()).add(msg)
        # one message per kind (TAP and SIA list their own shipped sets)
        assert [len(messages) for messages in unknown.values()] == [1, 1]
        r = await client.post("/mobu/run", json=run_body("TAPQuerySetRunner", query_set="halfleak"))
        assert "template outside its directory" in problem(r)["msg"]


async def test_not_found_names_are_sanitised(client: httpx.AsyncClient) -> None:
    """404s quote path names without control or bidi characters, cut to about 100."""
    evil = "a%00b%E2%80%AEc%0A" + "x" * 10_000
    for path in (f"/mobu/flocks/{evil}", f"/mobu/flocks/{evil}/monkeys/x"):
        detail = problem(await client.get(path), 404)
        msg = detail["msg"]
        assert not any(unicodedata.category(c).startswith("C") for c in msg)
        assert len(msg) < 130
        assert msg.startswith("Flock abcx")
        assert "…" in msg
    await client.put("/mobu/flocks", json=flock_body(count=1))
    detail = problem(await client.get(f"/mobu/flocks/test/monkeys/{evil}"), 404)
    assert detail["type"] == "monkey_not_found"
    assert len(detail["msg"]) < 130


@pytest.mark.parametrize(
    ("field", "value"),
    [("count", True), ("count", "5"), ("count", 5.0), ("start_batch_size", "2")],
)
async def test_counts_are_strict_integers(
    client: httpx.AsyncClient, field: str, value: object
) -> None:
    """JSON counts must be integers: booleans, strings and floats are refused."""
    body = flock_body()
    body[field] = value
    body["start_batch_wait"] = "1s"
    detail = problem(await client.put("/mobu/flocks", json=body))
    assert detail["loc"] == ["body", field]
    assert detail["type"] == "int_type"


async def test_solitary_log_has_no_traceback_frames(client: httpx.AsyncClient) -> None:
    """/run's log keeps the error line but no traceback frames or server source paths."""
    r = await client.post("/mobu/run", json=run_body("SIAQuerySetRunner"))
    assert r.status_code == 200
    result = r.json()
    assert result["success"] is False
    log = result["log"]
    assert "Exception thrown while doing monkey business" in log
    assert "SIAClientError" in log
    assert "Traceback" not in log
    assert 'File "' not in log
    assert ".py" not in log
