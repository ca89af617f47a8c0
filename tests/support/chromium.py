"""Debian's Chromium, as the browser tests drive it (installed by scripts/install/chromium.sh;
never downloaded any other way: no ``playwright install``)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["CHROMIUM", "CHROMIUM_FLAGS", "NO_CHROMIUM", "chromium_installed"]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
NO_CHROMIUM = "chromium not installed (run scripts/install/chromium.sh)"


def chromium_installed() -> bool:
    """Whether Debian's Chromium is there."""
    return Path(CHROMIUM).exists()
