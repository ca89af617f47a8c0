"""Process-wide cache of notebook repository clones, one per (url, ref), reference-counted.

Every monkey of a flock (and of other flocks with the same repository) shares one clone. A
refresh invalidates the entry: the first monkey to ask again re-clones, the others get that new
clone, and the old directory is removed when its last user lets it go. Local paths and
``file://`` URLs work like remote ones (``git clone`` handles them); a local directory that is
not a git repository (such as ``examples/notebooks``) is copied instead, and its "hash" is a
digest of its contents.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from structlog.typing import FilteringBoundLogger

from mobu.exceptions import BusinessError, redact
from mobu.redaction import mask_url
from mobu.storage.git import kill_process_group

__all__ = ["ClonedRepo", "RepoCache", "RepoCloneError"]

GIT_TIMEOUT = 300.0
"""Longest time a clone, checkout or rev-parse may take, in seconds."""


class RepoCloneError(BusinessError):
    """A git command failed while cloning a notebook repository."""


@dataclass(frozen=True, slots=True)
class ClonedRepo:
    """One checked-out clone."""

    url: str
    ref: str
    hash: str
    path: Path


class RepoCache:
    """Clones repositories on demand and shares them.

    Parameters
    ----------
    logger
        Logger for clone activity.
    parent
        Directory under which this cache makes its own directory of clones (created on the
        first clone; the data directory's ``repos``); default the system's temp directory.
    """

    def __init__(self, logger: FilteringBoundLogger, *, parent: Path | None = None) -> None:
        self.logger = logger
        self.parent = parent
        self._root: Path | None = None
        self._lock = asyncio.Lock()
        self._current: dict[tuple[str, str], ClonedRepo] = {}
        self._refs: dict[Path, int] = {}
        self._count = 0
        self.clones = 0
        """Number of ``git clone`` runs so far (for tests and metrics)."""

    async def acquire(self, url: str, ref: str) -> ClonedRepo:
        """Return the current clone of ``url`` at ``ref``, cloning it if needed.

        Raises
        ------
        RepoCloneError
            A git command failed or timed out.
        """
        async with self._lock:
            key = (url, ref)
            repo = self._current.get(key)
            if repo is None:
                repo = await self._clone(url, ref)
                self._current[key] = repo
            else:
                self.logger.debug("Returning repo from cache", url=mask_url(url), ref=ref)
            self._refs[repo.path] = self._refs.get(repo.path, 0) + 1
            return repo

    async def release(self, repo: ClonedRepo, *, invalidate: bool = False) -> None:
        """Give a clone back; with ``invalidate``, the next :meth:`acquire` re-clones."""
        async with self._lock:
            key = (repo.url, repo.ref)
            if invalidate and self._current.get(key) == repo:
                del self._current[key]
            count = self._refs.get(repo.path, 0) - 1
            if count > 0:
                self._refs[repo.path] = count
                return
            self._refs.pop(repo.path, None)
            if self._current.get(key) != repo:
                await asyncio.to_thread(shutil.rmtree, repo.path, True)

    async def aclose(self) -> None:
        """Delete every clone."""
        async with self._lock:
            self._current.clear()
            self._refs.clear()
            if self._root is not None:
                await asyncio.to_thread(shutil.rmtree, self._root, True)
                self._root = None

    async def _clone(self, url: str, ref: str) -> ClonedRepo:
        if self._root is None:
            self._root = Path(await asyncio.to_thread(_make_root, self.parent))
        self._count += 1
        path = self._root / str(self._count)
        source = url
        local = url.removeprefix("file://") if url.startswith("file://") else url
        if "://" not in local and not url.startswith("git@") and os.path.isdir(local):  # noqa: ASYNC240
            source = os.path.abspath(local)  # noqa: ASYNC240
            if not _is_git_repository(Path(source)):
                self.logger.info("Copying local notebook directory", url=mask_url(url))
                digest = await asyncio.to_thread(_copy_directory, Path(source), path)
                self.clones += 1
                return ClonedRepo(url=url, ref=ref, hash=f"local-{digest}", path=path)
        self.logger.info("Cloning notebook repository", url=mask_url(url), ref=ref)
        await _git("clone", "--quiet", "--no-checkout", source, str(path), url=url)
        await _git("checkout", "--quiet", ref, "--", cwd=path, url=url)
        head = await _git("rev-parse", "HEAD", cwd=path, url=url)
        self.clones += 1
        return ClonedRepo(url=url, ref=ref, hash=head.strip(), path=path)


def _make_root(parent: Path | None) -> str:
    if parent is not None:
        parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    return tempfile.mkdtemp(prefix="mobu-notebooks-", dir=parent)


def _is_git_repository(path: Path) -> bool:
    return (path / ".git").exists() or ((path / "HEAD").is_file() and (path / "objects").is_dir())


def _copy_directory(source: Path, dest: Path) -> str:
    """Copy a plain directory of notebooks; return a digest of its contents."""
    shutil.copytree(source, dest, ignore=shutil.ignore_patterns(".git", ".ipynb_checkpoints"))
    digest = hashlib.sha256()
    for file in sorted(p for p in dest.rglob("*") if p.is_file()):
        digest.update(str(file.relative_to(dest)).encode())
        digest.update(file.read_bytes())
    return digest.hexdigest()[:12]


async def _git(*args: str, url: str, cwd: Path | None = None) -> str:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),  # noqa: S108
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_CONFIG_NOSYSTEM": "1",
        "LANG": "C",
    }
    # Its own process group: a stop or timeout kills git's helpers (git-remote-http) too,
    # which would otherwise keep the pipes open and the wait for git hanging.
    proc = await asyncio.create_subprocess_exec(
        "git",
        *args,
        cwd=cwd,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
    )
    try:
        async with asyncio.timeout(GIT_TIMEOUT):
            out, err = await proc.communicate()
    finally:
        if proc.returncode is None:
            await kill_process_group(proc)
    if proc.returncode != 0:
        raise RepoCloneError(
            f"git {args[0]} failed for {mask_url(url)}",
            command=redact(" ".join(("git", *args)), []),
            returncode=proc.returncode,
            stderr=redact(err.decode(errors="replace")[-2000:], []),
            repo=mask_url(url),
        )
    return out.decode(errors="replace")
