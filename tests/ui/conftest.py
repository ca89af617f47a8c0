"""Fixtures of the dashboard tests: headless Chromium (Playwright), ``mobu serve``, artifacts.

Playwright drives Debian's Chromium (``executable_path``; never ``playwright install``). The
tests skip when Chromium, Playwright or the vendored front-end assets are missing. Screenshots
go to ``$MOBU_TEST_ARTIFACTS/ui`` when that is set, else to ``ui-screenshots`` under the test
run's temporary directory (pytest prints neither; the test's failure message names the file).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from mobu.ui import Assets
from tests.cli.conftest import ServerProcess, mobu_server
from tests.support.chromium import CHROMIUM, CHROMIUM_FLAGS, NO_CHROMIUM, chromium_installed

if TYPE_CHECKING:
    from playwright.async_api import Browser, ConsoleMessage, Page

NO_ASSETS = "the dashboard's assets are not installed (run scripts/install/ui-assets.sh)"


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the screenshots go."""
    named = os.environ.get("MOBU_TEST_ARTIFACTS")
    path = Path(named) / "ui" if named else tmp_path_factory.mktemp("ui-screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Headless Debian Chromium driven by Playwright."""
    if not chromium_installed():
        pytest.skip(NO_CHROMIUM)
    if Assets.find().missing:
        pytest.skip(NO_ASSETS)
    playwright = pytest.importorskip("playwright.async_api")
    args = [f for f in CHROMIUM_FLAGS if f != "--headless"]
    async with playwright.async_playwright() as driver:
        launched = await driver.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
        try:
            yield launched
        finally:
            await launched.close()


@dataclass
class Console:
    """What a page logged as an error (console errors and uncaught exceptions)."""

    errors: list[str] = field(default_factory=list)

    def watch(self, page: Page) -> None:
        """Record the errors of ``page``."""
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(f"pageerror: {error}"))

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            where = message.location.get("url", "")
            self.errors.append(f"console: {message.text} ({where})")

    def unexpected(self, allowed: Callable[[str], bool] = lambda _: False) -> list[str]:
        """The errors that ``allowed`` does not excuse."""
        return [e for e in self.errors if not allowed(e)]


@pytest.fixture
def console() -> Console:
    """A recorder of page errors."""
    return Console()


@pytest.fixture
def serve(tmp_path: Path) -> Callable[..., Any]:
    """Start ``mobu serve`` with its own data directory (``async with serve(config) as s``)."""

    @asynccontextmanager
    async def start(config: dict[str, Any]) -> AsyncIterator[ServerProcess]:
        env = {"MOBU_DATA_DIR": str(tmp_path / "data")}
        async with mobu_server(tmp_path, {"stop_grace": "1s", **config}, env) as server:
            yield server

    return start


def http_flock(name: str, url: str, count: int = 2) -> dict[str, Any]:
    """A flock of HTTPCheck monkeys checking ``url`` five times a second."""
    return {
        "name": name,
        "count": count,
        "user_spec": {"username_prefix": f"bot-mobu-{name}"},
        "business": {"type": "HTTPCheck", "options": {"url": url, "idle_time": "200ms"}},
    }


def iter_files(path: Path) -> Iterator[Path]:
    """The files under ``path`` (for messages naming the artifacts)."""
    return (p for p in sorted(path.rglob("*")) if p.is_file())
