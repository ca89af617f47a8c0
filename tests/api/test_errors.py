"""Every error has the shape {"detail": [{"loc", "msg", "type"}]}; none disturbs running flocks."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from mobu.events import Events
from tests.api.conftest import flock_body


def only_detail(r: httpx.Response, status: int) -> dict[str, Any]:
    """Check the status and shape; return the single problem."""
    assert r.status_code == status, r.text
    body = r.json()
    assert list(body) == ["detail"]
    [detail] = body["detail"]
    assert set(detail) == {"loc", "msg", "type"}
    return detail


async def test_not_found(client: httpx.AsyncClient) -> None:
    """Unknown flock and monkey."""
    detail = only_detail(await client.get("/mobu/flocks/nope"), 404)
    assert detail == {
        "loc": ["path", "flock"],
        "msg": "Flock nope not found",
        "type": "flock_not_found",
    }
    for method, path in [
        ("DELETE", "/mobu/flocks/nope"),
        ("POST", "/mobu/flocks/nope/refresh"),
        ("GET", "/mobu/flocks/nope/monkeys"),
        ("GET", "/mobu/flocks/nope/summary"),
        ("GET", "/mobu/flocks/nope/monkeys/x/log"),
    ]:
        r = await client.request(method, path)
        assert only_detail(r, 404)["type"] == "flock_not_found"
    await client.put("/mobu/flocks", json=flock_body(count=1))
    detail = only_detail(await client.get("/mobu/flocks/test/monkeys/bot-mobu-x"), 404)
    assert detail["type"] == "monkey_not_found"
    assert detail["loc"] == ["path", "monkey"]
    r = await client.get("/mobu/flocks/test/monkeys/bot-mobu-x/log")
    assert only_detail(r, 404)["type"] == "monkey_not_found"


async def test_unknown_route_and_method(client: httpx.AsyncClient) -> None:
    """Routing errors use the same shape."""
    assert only_detail(await client.get("/mobu/nothing"), 404)["type"] == "not_found"
    r = await client.post("/mobu/flocks")
    assert only_detail(r, 405)["type"] == "method_not_allowed"


@pytest.mark.parametrize(
    ("business", "loc", "error_type"),
    [
        (
            {"type": "HTTPCheck", "options": {"url": "not a url"}},
            ["body", "business", "options", "url"],
            "url_parsing",
        ),
        ({"type": "HTTPCheck"}, ["body", "business", "options", "url"], "missing"),
        (
            {"type": "EmptyLoop", "options": {"idle_time": "soon"}},
            ["body", "business", "options", "idle_time"],
            "value_error",
        ),
        (
            {"type": "EmptyLoop", "options": {"colour": "red"}},
            ["body", "business", "options", "colour"],
            "extra_forbidden",
        ),
        ({"type": "NoSuchBusiness"}, ["body", "business", "type"], "unknown_business"),
    ],
)
async def test_business_option_errors(
    client: httpx.AsyncClient, business: dict[str, Any], loc: list[str], error_type: str
) -> None:
    """Option errors carry their place in the body."""
    r = await client.put("/mobu/flocks", json=flock_body(**business))
    detail = only_detail(r, 422)
    assert detail["loc"] == loc
    assert detail["type"] == error_type


async def test_flock_config_errors(client: httpx.AsyncClient) -> None:
    """Model-level errors of the flock config, unknown keys, malformed JSON."""
    body = flock_body()
    del body["user_spec"]
    detail = only_detail(await client.put("/mobu/flocks", json=body), 422)
    assert "one of users or user_spec must be provided" in detail["msg"]
    assert detail["loc"] == ["body"]

    body = flock_body()
    body["business"]["restart"] = "sometimes"
    detail = only_detail(await client.put("/mobu/flocks", json=body), 422)
    assert detail["loc"] == ["body", "business", "restart"]
    body["business"]["colour"] = "red"
    body["business"]["restart"] = True
    detail = only_detail(await client.put("/mobu/flocks", json=body), 422)
    assert detail == {
        "loc": ["body", "business", "colour"],
        "msg": "Extra inputs are not permitted",
        "type": "extra_forbidden",
    }

    r = await client.put(
        "/mobu/flocks", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert only_detail(r, 422)["type"] == "json_invalid"

    r = await client.post(
        "/mobu/run", json={"user": {"username": "root"}, "business": {"type": "EmptyLoop"}}
    )
    assert only_detail(r, 422)["loc"] == ["body", "user", "username"]


async def test_validation_errors_do_not_echo_input(client: httpx.AsyncClient) -> None:
    """The input is not repeated in errors (it may hold secrets)."""
    body = flock_body(
        type="HTTPCheck", options={"url": "x", "headers": {"A": "hunter2-secret"}, "nope": 1}
    )
    r = await client.put("/mobu/flocks", json=body)
    assert r.status_code == 422
    assert "hunter2-secret" not in r.text


async def test_bad_requests_leave_flocks_running(client: httpx.AsyncClient, events: Events) -> None:
    """A flock keeps running through bad requests, including a bad replacement of itself."""
    await client.put("/mobu/flocks", json=flock_body(count=1))
    bad = flock_body(count=1, type="HTTPCheck", options={"url": "nope"})
    assert (await client.put("/mobu/flocks", json=bad)).status_code == 422
    assert (await client.delete("/mobu/flocks/other")).status_code == 404
    assert events.recorder is not None
    before = events.recorder.count("empty_loop")
    await events.recorder.wait_for("empty_loop", before + 2)
    assert (await client.get("/mobu/flocks")).json() == ["test"]
    r = await client.get("/mobu/flocks/test/monkeys/bot-mobu-testuser1")
    assert r.json()["state"] == "RUNNING"


async def test_identity_failure(app_factory: Any) -> None:
    """Users the identity provider refuses: 502 identity_failed, not a bare 500."""
    from mobu.config import Config

    config = Config(identity={"provider": "static", "tokens": {"bot-mobu-known": "tok"}})
    async with app_factory(config) as client:
        r = await client.put("/mobu/flocks", json=flock_body(count=1))
        detail = only_detail(r, 502)
        assert detail["type"] == "identity_failed"
        assert "bot-mobu-testuser1" in detail["msg"]
        body = {"user": {"username": "bot-mobu-other"}, "business": {"type": "EmptyLoop"}}
        assert only_detail(await client.post("/mobu/run", json=body), 502)["loc"] == ["body"]
        assert (await client.get("/mobu/flocks")).json() == []
