"""The refresh app: a push to a notebook repository refreshes the flocks that run it.

A flock matches when its business is a notebook runner whose ``repo_url`` names the pushed
repository (compared by :func:`repo_key`: scheme, credentials, case, ``.git`` and trailing
slashes ignored; https, ssh and ``git@host:path`` forms are equal) and whose ``repo_ref`` is the
pushed ref (``refs/heads/<branch>`` matches ``<branch>``, slashes included, or the full ref).
Each matching flock is refreshed through :meth:`FlockManager.refresh_flock`: its monkeys re-clone
(once, shared) at their next notebook boundary. The refresh is a flag, so a burst of pushes
before that boundary is one refresh.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from structlog.typing import FilteringBoundLogger

from mobu.exceptions import FlockNotFoundError
from mobu.github.webhooks import PushEvent
from mobu.models.business.notebookrunner import NotebookRunnerOptions
from mobu.services.manager import FlockManager

__all__ = ["RefreshApp", "ref_names", "repo_key"]

_SCP_FORM = re.compile(r"^(?:[^@/]+@)?(?P<host>[^:/]+):(?P<path>(?!//).+)$")


def repo_key(url: str) -> str:
    """``host/path`` of a repository URL, for comparing URLs of the same repository.

    ``https://github.com/Org/Repo.git/``, ``ssh://git@github.com/org/repo`` and
    ``git@github.com:org/repo.git`` all give ``github.com/org/repo``. A local path is kept as is
    (without ``.git`` and trailing slashes).
    """
    text = url.strip()
    if "://" in text:
        parts = urlsplit(text)
        host = (parts.hostname or "").lower()
        if parts.port is not None and parts.scheme not in ("ssh", "git"):
            host = f"{host}:{parts.port}"
        path = parts.path
    elif match := _SCP_FORM.match(text):
        host, path = match["host"].lower(), match["path"]
    else:
        host, path = "", text
    path = path.rstrip("/").removesuffix(".git").rstrip("/").lstrip("/")
    return f"{host}/{path.lower()}" if host else path


def ref_names(ref: str) -> set[str]:
    """The ``repo_ref`` values a pushed ``ref`` matches: itself and its short name."""
    names = {ref}
    for prefix in ("refs/heads/", "refs/tags/"):
        if ref.startswith(prefix):
            names.add(ref.removeprefix(prefix))
    return names


class RefreshApp:
    """Refreshes the flocks a push concerns.

    Parameters
    ----------
    manager
        The process's flocks.
    logger
        Logger (the delivery is bound by the caller).
    """

    def __init__(self, *, manager: FlockManager, logger: FilteringBoundLogger) -> None:
        self._manager = manager
        self._logger = logger

    def matching_flocks(self, push: PushEvent) -> list[str]:
        """Names of the notebook flocks running the pushed repository at the pushed ref."""
        repo = push.repository
        urls = [str(repo.html_url), repo.clone_url, repo.ssh_url, repo.git_url]
        keys = {repo_key(u) for u in urls if u}
        refs = ref_names(push.ref)
        found = []
        for name in self._manager.list_flocks():
            try:
                options = self._manager.get_flock(name).options
            except FlockNotFoundError:
                continue  # stopped meanwhile
            if not isinstance(options, NotebookRunnerOptions):
                continue
            if repo_key(options.repo_url) in keys and options.repo_ref in refs:
                found.append(name)
        return found

    def handle_push(self, push: PushEvent, logger: FilteringBoundLogger) -> list[str]:
        """Refresh the matching flocks; return their names (sorted)."""
        refreshed = []
        for name in self.matching_flocks(push):
            try:
                self._manager.refresh_flock(name)
            except FlockNotFoundError:
                continue
            refreshed.append(name)
        if refreshed:
            logger.info(
                "GitHub refresh webhook handled",
                repo=push.repository.full_name,
                ref=push.ref,
                flocks=refreshed,
            )
        else:
            logger.debug(
                "No flock runs the pushed repository and ref",
                repo=push.repository.full_name,
                ref=push.ref,
            )
        return refreshed
