"""The dashboard's pages and actions over HTTP (in process, no browser)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from mobu.config import Config
from mobu.ui import check_same_origin
from mobu.ui.errors import CrossSiteRequestError
from mobu.ui.views import ago, percent, seconds
from tests.api.conftest import flock_body, running_app

UI = {"X-Mobu-UI": "1"}


async def test_pages_render_without_assets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the vendored assets the pages still render their data and say what is missing;
    nothing is loaded from elsewhere."""
    monkeypatch.setenv("MOBU_UI_ASSETS_DIR", str(tmp_path / "none"))
    config = Config(stop_grace=timedelta(seconds=1), data_dir=tmp_path / "data")
    async with running_app(config) as client:
        assert (await client.put("/mobu/flocks", json=flock_body(name="quiet"))).status_code == 201
        r = await client.get("/mobu/ui")
        assert r.status_code == 200
        assert 'id="assets-missing"' in r.text
        assert "htmx.min.js" in r.text.split('id="assets-missing"')[1]
        assert 'data-flock="quiet"' in r.text
        assert '<script src="/mobu/ui/static/htmx.min.js"' not in r.text
        assert "http://" not in r.text
        assert "https://" not in r.text
        r = await client.get("/mobu/ui/flocks/quiet")
        assert r.status_code == 200
        assert 'data-monkey="bot-mobu-testuser1"' in r.text
        assert (await client.get("/mobu/ui/static/htmx.min.js")).status_code == 404
        assert (await client.get("/mobu/ui/static/dashboard.js")).status_code == 200
        assert (await client.get("/mobu/ui/static/..%2Fviews.py")).status_code == 404


async def test_actions_and_their_errors(tmp_path: Path) -> None:
    """Stop, start and refresh from the dashboard; unknown flocks, bad actions and foreign
    origins are refused with the API's error shape."""
    config = Config(stop_grace=timedelta(seconds=1), data_dir=tmp_path / "data")
    async with running_app(config) as client:
        assert (await client.put("/mobu/flocks", json=flock_body(name="f"))).status_code == 201
        r = await client.post("/mobu/ui/flocks/f/refresh", headers=UI)
        assert r.status_code == 200
        assert r.headers["HX-Trigger"] == "mobu:refresh"
        assert (await client.post("/mobu/ui/flocks/f/stop", headers=UI)).status_code == 200
        assert (await client.get("/mobu/flocks")).json() == []
        assert 'data-action="start"' in (await client.get("/mobu/ui/fragments/flocks/f")).text
        assert (await client.post("/mobu/ui/flocks/f/start", headers=UI)).status_code == 200
        assert (await client.get("/mobu/flocks")).json() == ["f"]
        r = await client.post("/mobu/ui/flocks/other/start", headers=UI)
        assert (r.status_code, r.json()["detail"][0]["type"]) == (404, "flock_config_unknown")
        assert (await client.post("/mobu/ui/flocks/other/stop", headers=UI)).status_code == 404
        r = await client.post("/mobu/ui/flocks/f/explode", headers=UI)
        assert r.status_code == 422
        assert r.json()["detail"][0]["loc"] == ["path", "action"]
        foreign = {**UI, "Origin": "https://evil.example"}
        r = await client.post("/mobu/ui/flocks/f/stop", headers=foreign)
        assert (r.status_code, r.json()["detail"][0]["type"]) == (403, "cross_site_request")
        assert (await client.get("/mobu/flocks")).json() == ["f"]


def test_same_origin_check() -> None:
    """Only the page's own header, from this site, passes."""
    check_same_origin({"x-mobu-ui": "1"}, "h:1")
    check_same_origin(
        {"x-mobu-ui": "1", "origin": "http://h:1", "sec-fetch-site": "same-origin"}, "h:1"
    )
    for headers in (
        {},
        {"x-mobu-ui": "1", "sec-fetch-site": "cross-site"},
        {"x-mobu-ui": "1", "origin": "http://other:1"},
    ):
        with pytest.raises(CrossSiteRequestError):
            check_same_origin(headers, "h:1")


def test_formats() -> None:
    """Figures as the pages show them."""
    assert (percent(None), percent(0.9876)) == ("-", "98.8 %")
    assert (seconds(None), seconds(0.0123), seconds(2.5)) == ("-", "12.3 ms", "2.50 s")
    assert [ago(5), ago(125), ago(7200), ago(200_000)] == [
        "5 s ago",
        "2 min ago",
        "2 h ago",
        "2 d ago",
    ]


async def test_trusted_header_pages_and_history_off(tmp_path: Path) -> None:
    """Behind the ingress the pages are authenticated like the API (and render their data);
    with history off they show the flocks' own counters and say there is no history."""
    config = Config.model_validate(
        {
            "stop_grace": "1s",
            "data_dir": str(tmp_path / "data"),
            "auth": {"mode": "trust_header", "trust_header": "X-Auth-Request-User"},
            "history": {"enabled": False},
        }
    )
    user = {"X-Auth-Request-User": "someone"}
    async with running_app(config) as client:
        assert (await client.get("/mobu/ui")).status_code == 401
        assert (await client.get("/mobu/ui/static/dashboard.css")).status_code == 200
        r = await client.put("/mobu/flocks", json=flock_body(name="plain"), headers=user)
        assert r.status_code == 201
        r = await client.get("/mobu/ui", headers=user)
        assert r.status_code == 200
        assert 'data-flock="plain"' in r.text
        assert "history is off" in r.text
        r = await client.get("/mobu/ui/flocks/plain", headers=user)
        assert "History is off" in r.text
        assert (await client.get("/mobu/", headers=user)).json()["history"] == {
            "enabled": False,
            "connected": False,
        }
