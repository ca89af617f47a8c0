"""The files a range of commits of a local git repository changed, as GitHub would list them.

``mobu ci`` checks ``base...head`` of a local clone the way the CI app checks a pull request:
``git diff --name-status base...head`` (from the merge base, like GitHub's pull-request files and
compare), each git status mapped to GitHub's file status so that
:func:`mobu.github.notebookcheck.existing_at_head` filters both the same way.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from mobu.exceptions import ClientRequestError
from mobu.github.notebookcheck import existing_at_head

__all__ = ["GIT_STATUSES", "GitRangeError", "LocalChange", "local_change"]

GIT_TIMEOUT = 120.0
"""Longest time one local git command may take."""

GIT_STATUSES = {
    "A": "added",
    "M": "modified",
    "T": "changed",
    "R": "renamed",
    "C": "copied",
    "D": "removed",
}
"""``git diff --name-status`` letters as GitHub's file statuses (``U``/``X``: none, not kept)."""


class GitRangeError(ClientRequestError):
    """The repository or a ref of ``mobu ci`` is not usable."""

    error = "invalid_git_range"
    status_code = 422


@dataclass(frozen=True, slots=True)
class LocalChange:
    """What ``base...head`` of a local repository changed."""

    repo: Path
    base: str
    head: str
    """The head commit (full SHA)."""
    changed: list[str]
    """Paths added or modified that exist at the head, sorted."""


def _git(repo: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        ["git", "-C", str(repo), *args],
        capture_output=True,
        stdin=subprocess.DEVNULL,
        timeout=GIT_TIMEOUT,
        check=False,
    )


def _commit(repo: Path, ref: str, option: str) -> str:
    if not ref or ref.startswith("-"):
        raise GitRangeError(f"{option} must name a commit", ("option", option))
    found = _git(repo, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}")
    if found.returncode != 0:
        raise GitRangeError(f"{option} is not a commit of {repo}", ("option", option))
    return found.stdout.decode().strip()


def _parse(output: bytes) -> list[tuple[str, str]]:
    """``(GitHub status, path)`` of ``git diff --name-status -z`` output."""
    fields = output.decode(errors="surrogateescape").split("\0")
    entries: list[tuple[str, str]] = []
    i = 0
    while i < len(fields) and fields[i]:
        letter = fields[i][0]
        if letter in "RC":  # R100 old new
            entries.append((GIT_STATUSES[letter], fields[i + 2]))
            i += 3
        else:
            entries.append((GIT_STATUSES.get(letter, "unknown"), fields[i + 1]))
            i += 2
    return entries


def local_change(repo: Path, base: str, head: str) -> LocalChange:
    """The files ``base...head`` of the git repository ``repo`` changed.

    Raises
    ------
    GitRangeError
        ``repo`` is not a git repository, or ``base`` or ``head`` is not one of its commits.
    """
    repo = repo.resolve()
    inside = _git(repo, "rev-parse", "--is-inside-work-tree")
    if inside.returncode != 0 or inside.stdout.strip() != b"true":
        raise GitRangeError(f"{repo} is not a git work tree", ("argument", "REPO_DIR"))
    base_sha = _commit(repo, base, "--base")
    head_sha = _commit(repo, head, "--head")
    diff = _git(
        repo, "diff", "--name-status", "-z", "-M", "--no-ext-diff", f"{base_sha}...{head_sha}"
    )
    if diff.returncode != 0:
        raise GitRangeError(
            f"--base and --head have no common ancestor in {repo}", ("option", "--base")
        )
    return LocalChange(
        repo=repo, base=base_sha, head=head_sha, changed=existing_at_head(_parse(diff.stdout))
    )
