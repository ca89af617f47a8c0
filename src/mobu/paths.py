"""Where mobu writes: one data directory, chosen so that a read-only root filesystem works.

The reference's chart leaves only ``/tmp`` writable (``readOnlyRootFilesystem``, ``HOME`` not
writable), so the default is ``$XDG_STATE_HOME/mobu`` (``~/.local/state/mobu``) when that can be
created and written, else ``<tempdir>/mobu-<uid>``. Everything mobu writes (the history store,
per-monkey logs, repository clones, git-lfs work trees, the libraries' caches) goes under it, one
sub-directory per purpose (:class:`DataDirs`), unless a feature is configured with its own path
(an event file, a report directory).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

__all__ = ["DataDirs", "Purpose", "default_data_dir", "ensure_writable"]

Purpose = Literal["logs", "repos", "work", "cache", "config"]
"""The sub-directories of the data directory: monkey logs, notebook clones, scratch work trees
(GitLFS), and the caches and configuration of libraries (astropy)."""


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


@dataclass(frozen=True, slots=True)
class DataDirs:
    """The sub-directories of one data directory, created (mode 0700) when first asked for.

    Several mobu processes may share a data directory: what one process owns (its monkey
    logs, its clones) is a fresh directory of its own inside the purpose's directory
    (:meth:`private`), removed when the process ends.
    """

    root: Path

    def path(self, purpose: Purpose) -> Path:
        """Return ``<root>/<purpose>``, created if needed.

        Raises
        ------
        OSError
            It cannot be created.
        """
        path = self.root / purpose
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        return path

    def private(self, purpose: Purpose, prefix: str) -> Path:
        """Return a new directory of this process under ``<root>/<purpose>``."""
        return Path(tempfile.mkdtemp(prefix=prefix, dir=self.path(purpose)))

    def library_environment(self) -> dict[str, str]:
        """Variables that point the libraries' own caches and configuration here.

        astropy (through pyvo) otherwise creates ``~/.astropy`` or ``~/.config/astropy``, which
        fails on a read-only ``HOME``. Variables already set are left to the operator.
        """
        wanted = {
            "ASTROPY_CACHE_DIR": self.path("cache"),
            "ASTROPY_CONFIG_DIR": self.path("config"),
        }
        return {name: str(path) for name, path in wanted.items() if not os.environ.get(name)}

    def export_library_environment(self) -> None:
        """Set :meth:`library_environment` in this process's environment (composition root)."""
        os.environ.update(self.library_environment())
