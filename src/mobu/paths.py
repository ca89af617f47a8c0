"""Where mobu writes: one data directory, chosen so that a read-only root filesystem works.

The reference's chart leaves only ``/tmp`` writable (``readOnlyRootFilesystem``, ``HOME`` not
writable), so the default is ``$XDG_STATE_HOME/mobu`` (``~/.local/state/mobu``) when that can be
created and written, else ``<tempdir>/mobu-<uid>``. Everything mobu writes (the history store,
per-monkey logs, repository clones, caches) goes under it unless configured otherwise.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["default_data_dir", "ensure_writable"]


def ensure_writable(path: Path) -> bool:
    """Create ``path`` (mode 0700) if needed; true when a file can be written in it."""
    try:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".probe-"):
            pass
    except OSError:
        return False
    return True


def default_data_dir() -> Path:
    """``$XDG_STATE_HOME/mobu`` when writable, else ``<tempdir>/mobu-<uid>``."""
    state_home = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    candidate = Path(state_home) / "mobu"
    if ensure_writable(candidate):
        return candidate
    fallback = Path(tempfile.gettempdir()) / f"mobu-{os.getuid()}"
    ensure_writable(fallback)
    return fallback
