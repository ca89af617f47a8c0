"""The dashboard in a real browser (headless Chromium) against ``mobu serve``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from tests.support.target import Target
from tests.ui.conftest import Console, http_flock

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page

WAIT_MS = 60_000
"""Longest wait for a condition of the page (a bound against hangs, not a measurement)."""


async def _shot(page: Page, artifacts: Path, name: str) -> None:
    path = artifacts / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 0, path


async def test_overview_charts_failures_and_stop(
    browser: Browser,
    console: Console,
    serve: Callable[..., Any],
    target: Target,
    artifacts: Path,
) -> None:
    """The overview lists a running flock; its page draws the charts, shows a failure as it
    happens, and its stop button stops the flock (the API says so), start starts it again."""
    web = http_flock("web", f"{target.url}/ok")
    async with serve({"autostart": [web]}) as server:
        page = await browser.new_page(viewport={"width": 1280, "height": 900})
        console.watch(page)
        await page.goto(f"{server.url}/ui")
        row = page.locator('tr.flock[data-flock="web"]')
        await row.wait_for(timeout=WAIT_MS)
        assert "HTTPCheck" in await row.inner_text()
        await page.wait_for_function(
            "document.querySelector('tr[data-flock=web] .spark canvas') !== null",
            timeout=WAIT_MS,
        )
        await _shot(page, artifacts, "overview")

        await row.locator("a").first.click()
        await page.wait_for_url("**/ui/flocks/web", timeout=WAIT_MS)
        await page.locator("tr[data-monkey]").first.wait_for(timeout=WAIT_MS)
        await page.wait_for_function(
            "window.mobuCharts.throughput !== null"
            " && window.mobuCharts.throughput.data[1].some(n => n > 0)"
            " && window.mobuCharts.latency.data[3].some(v => v !== null)",
            timeout=WAIT_MS,
        )
        assert await page.locator("#chart-throughput canvas").count() == 1
        assert "No failure" in await page.locator("#failure-log").inner_text()

        async with httpx.AsyncClient(base_url=server.url + "/", timeout=60) as client:
            failing = http_flock("web", f"{target.url}/status/500")
            assert (await client.put("flocks", json=failing)).status_code == 201
            failure = page.locator("#failure-log tr.failure").first
            await failure.wait_for(timeout=WAIT_MS)
            assert "500" in await failure.inner_text()
            await _shot(page, artifacts, "flock")

            await page.locator('button[data-action="stop"]').click()
            await page.locator("#action-result", has_text="stopped").wait_for(timeout=WAIT_MS)
            assert (await client.get("flocks")).json() == []
            await page.locator('button[data-action="start"]').click()
            await page.locator("#action-result", has_text="started").wait_for(timeout=WAIT_MS)
            assert (await client.get("flocks")).json() == ["web"]
        await page.close()
    assert console.unexpected() == []
    assert "data_dir=" in server.log


async def test_token_prompt_and_refused_actions(
    browser: Browser,
    console: Console,
    serve: Callable[..., Any],
    target: Target,
    artifacts: Path,
) -> None:
    """Behind tokens the page asks for the token once (kept in the tab's session storage, sent
    as a header, never in a URL), says when it is refused, and actions need it."""
    config = {
        "auth": {"mode": "tokens", "tokens": ["s3cret-admin-token"]},
        "autostart": [http_flock("web", f"{target.url}/ok", count=1)],
    }
    async with serve(config) as server:
        page = await browser.new_page()
        console.watch(page)
        await page.goto(f"{server.url}/ui")
        prompt = page.locator("#token-form")
        await prompt.wait_for(state="visible", timeout=WAIT_MS)
        assert "web" not in await page.locator("#overview-rows").inner_text()
        await _shot(page, artifacts, "token-prompt")
        await page.fill("#token-input", "wrong-token")
        await page.click("#token-form button")
        await page.locator("#token-error", has_text="refused").wait_for(timeout=WAIT_MS)
        await page.fill("#token-input", "s3cret-admin-token")
        await page.click("#token-form button")
        await page.locator('tr.flock[data-flock="web"]').wait_for(timeout=WAIT_MS)
        assert await prompt.is_hidden()
        stored = await page.evaluate("sessionStorage.getItem('mobu-token')")
        assert stored == "s3cret-admin-token"
        await page.goto(f"{server.url}/ui/flocks/web")
        await page.locator("tr[data-monkey]").first.wait_for(timeout=WAIT_MS)
        assert await prompt.is_hidden()
        assert "s3cret" not in page.url

        async with httpx.AsyncClient(base_url=server.url + "/", timeout=60) as client:
            ui = {"X-Mobu-UI": "1"}
            assert (await client.post("ui/flocks/web/stop", headers=ui)).status_code == 401
            auth = {"Authorization": "Bearer s3cret-admin-token"}
            r = await client.post("ui/flocks/web/stop", headers=auth)
            assert r.status_code == 403
            assert r.json()["detail"][0]["type"] == "cross_site_request"
            assert (await client.get("ui/fragments/overview")).status_code == 401
            assert (await client.get("flocks", headers=auth)).json() == ["web"]
        await page.locator('button[data-action="stop"]').click()
        await page.locator("#action-result", has_text="stopped").wait_for(timeout=WAIT_MS)
        await page.close()
    # The refused token's requests are the only errors the browser logs.
    assert console.unexpected(lambda e: "403" in e) == []
