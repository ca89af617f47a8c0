"""The CI app's GitHub calls: installation clients, check runs and the changed files.

Every call goes through :class:`gidgethub.httpx.GitHubAPI`; the app authenticates with its JWT to
get an installation token (Safir's :class:`GitHubAppClientFactory`), then as the installation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from gidgethub import GitHubException
from gidgethub.httpx import GitHubAPI
from safir.github import GitHubAppClientFactory

from mobu.exceptions import MobuError
from mobu.github.notebookcheck import existing_at_head

__all__ = [
    "CheckRun",
    "GitHubApiError",
    "GitHubClients",
    "RepoRef",
    "changed_files",
    "truncate",
]

MAX_OUTPUT = 65_000
"""GitHub refuses check-run summaries and texts longer than 65,535 characters."""


class GitHubApiError(MobuError):
    """A call to the GitHub API failed."""

    error = "github_api_error"
    status_code = 502


@dataclass(frozen=True, slots=True)
class RepoRef:
    """A repository a job checks."""

    owner: str
    name: str
    clone_url: str
    html_url: str

    @property
    def full_name(self) -> str:
        """``owner/name``."""
        return f"{self.owner}/{self.name}"


class GitHubClients(GitHubAppClientFactory):
    """Safir's GitHub App client factory, talking to ``base_url`` (GitHub or GitHub Enterprise)."""

    def __init__(
        self, *, id: int, key: str, name: str, http_client: httpx.AsyncClient, base_url: str
    ) -> None:
        super().__init__(id=id, key=key, name=name, http_client=http_client)
        self._base_url = base_url.rstrip("/")
        self._client = http_client

    def _create_client(self, *, oauth_token: str | None = None) -> GitHubAPI:
        return GitHubAPI(
            self._client, self.app_name, oauth_token=oauth_token, base_url=self._base_url
        )

    async def installation(self, installation_id: int) -> GitHubAPI:
        """A client authenticated as the installation.

        Raises
        ------
        GitHubApiError
            The installation token could not be created.
        """
        try:
            return await self.create_installation_client(installation_id)
        except (GitHubException, httpx.HTTPError) as exc:
            raise GitHubApiError(f"Cannot get an installation token: {_describe(exc)}") from exc


def _describe(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}".strip()


def _now() -> str:
    return datetime.now(tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def truncate(text: str, limit: int = MAX_OUTPUT) -> str:
    """``text`` cut to fit a check-run output field."""
    if len(text) <= limit:
        return text
    return text[: limit - 40] + "\n\n… (truncated by mobu)"


class CheckRun:
    """One check run of a repository's commit, created queued and concluded once.

    Parameters
    ----------
    repo
        The repository.
    name
        Name of the check (``Mobu (<environment>)``).
    head_sha
        The commit.
    """

    def __init__(self, repo: RepoRef, name: str, head_sha: str) -> None:
        self.repo = repo
        self.name = name
        self.head_sha = head_sha
        self.id: int | None = None
        self._started = False

    def _url(self) -> str:
        base = f"/repos/{self.repo.owner}/{self.repo.name}/check-runs"
        return base if self.id is None else f"{base}/{self.id}"

    def _output(self, summary: str, text: str | None) -> dict[str, str]:
        output = {"title": self.name, "summary": truncate(summary)}
        if text:
            output["text"] = truncate(text)
        return output

    async def create(self, gh: GitHubAPI, external_id: str) -> None:
        """Create the check run, queued."""
        body = {
            "name": self.name,
            "head_sha": self.head_sha,
            "status": "queued",
            "external_id": external_id,
            "output": self._output("Waiting for Mobu to run...", None),
        }
        data = await self._call(gh, "post", body)
        self.id = int(data["id"])

    async def start(self, gh: GitHubAPI, summary: str) -> None:
        """Mark the check run in progress."""
        body: dict[str, Any] = {"status": "in_progress", "output": self._output(summary, None)}
        if not self._started:
            body["started_at"] = _now()
        await self._call(gh, "patch", body)
        self._started = True

    async def conclude(
        self, gh: GitHubAPI, conclusion: str, summary: str, text: str | None = None
    ) -> None:
        """Complete the check run with ``conclusion`` (success, failure, neutral, cancelled)."""
        body: dict[str, Any] = {
            "status": "completed",
            "conclusion": conclusion,
            "completed_at": _now(),
            "output": self._output(summary, text),
        }
        await self._call(gh, "patch", body)

    async def _call(self, gh: GitHubAPI, method: str, body: dict[str, Any]) -> dict[str, Any]:
        try:
            if method == "post":
                data = await gh.post(self._url(), data=body)
            else:
                data = await gh.patch(self._url(), data=body)
        except (GitHubException, httpx.HTTPError) as exc:
            what = "create" if method == "post" else "update"
            raise GitHubApiError(f"Cannot {what} the check run: {_describe(exc)}") from exc
        return data if isinstance(data, dict) else {}


async def changed_files(
    gh: GitHubAPI, repo: RepoRef, *, pull_number: int | None, base: str | None, head: str
) -> list[str]:
    """Paths changed by a pull request (all its commits) or between two commits, that exist
    at the head; sorted.

    Raises
    ------
    GitHubApiError
        GitHub did not answer as documented.
    """
    try:
        if pull_number is not None:
            url = f"/repos/{repo.owner}/{repo.name}/pulls/{pull_number}/files"
            files = [f async for f in gh.getiter(url)]
        elif base is not None:
            data = await gh.getitem(f"/repos/{repo.owner}/{repo.name}/compare/{base}...{head}")
            files = list(data.get("files", []))
        else:
            files = []
    except (GitHubException, httpx.HTTPError) as exc:
        raise GitHubApiError(f"Cannot list the changed files: {_describe(exc)}") from exc
    return existing_at_head(
        (str(entry.get("status")), str(entry.get("filename")))
        for entry in files
        if isinstance(entry, dict)
    )
