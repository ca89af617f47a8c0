"""The dashboard's static files: its own (``static/``) and the vendored htmx and uPlot.

``scripts/install/ui-assets.sh`` installs htmx and uPlot from the npm registry into
``$MOBU_PLATFORM_DIR/ui-assets/vendor``; ``MOBU_UI_ASSETS_DIR`` names another directory (the
container image sets it). Without them the pages still render and say what is missing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["OWN", "VENDORED", "Assets"]

OWN = {"dashboard.js": "text/javascript", "dashboard.css": "text/css"}
"""The dashboard's own files, in the package."""

VENDORED = {
    "htmx.min.js": "text/javascript",
    "uPlot.iife.min.js": "text/javascript",
    "uPlot.min.css": "text/css",
}
"""The files ``scripts/install/ui-assets.sh`` vendors."""

_STATIC = Path(__file__).parent / "static"


def _vendor_dir() -> Path:
    named = os.environ.get("MOBU_UI_ASSETS_DIR")
    if named:
        return Path(named)
    platform = os.environ.get("MOBU_PLATFORM_DIR") or str(Path.cwd() / ".services")
    return Path(platform) / "ui-assets" / "vendor"


@dataclass(frozen=True, slots=True)
class Assets:
    """Where the static files are; ``missing`` lists the vendored files not installed."""

    vendor_dir: Path

    @classmethod
    def find(cls) -> Assets:
        """The assets of this process's environment."""
        return cls(_vendor_dir())

    @property
    def missing(self) -> list[str]:
        """Vendored files that are not installed."""
        return [name for name in VENDORED if not (self.vendor_dir / name).is_file()]

    def path(self, name: str) -> tuple[Path, str] | None:
        """The file and media type of ``name`` (None: not one of the dashboard's files)."""
        if name in OWN:
            return _STATIC / name, OWN[name]
        if name in VENDORED and (self.vendor_dir / name).is_file():
            return self.vendor_dir / name, VENDORED[name]
        return None
