"""One CI job of the GitHub app: a check run around the shared :class:`NotebookCheck`.

The changed files are those the pull request (all its commits) or the compared commits added or
modified (:func:`mobu.github.checks.changed_files`); :class:`NotebookCheck` selects and runs the
notebooks among them and renders the summary, exactly as ``mobu ci`` does from a local diff.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from mobu.github.checks import CheckRun, GitHubClients, RepoRef, changed_files
from mobu.github.models import CiJobData, CiJobState, NotebookResult
from mobu.github.notebookcheck import NotebookCheck, Outcome
from mobu.models.user import User

__all__ = ["CiJob", "CiRunner"]


@dataclass(eq=False)
class CiJob:
    """A queued, running or finished check of one commit."""

    id: int
    repo: RepoRef
    installation_id: int
    head_sha: str
    check: CheckRun
    pull_number: int | None = None
    base_sha: str | None = None
    state: CiJobState = CiJobState.queued
    conclusion: str | None = None
    user: User | None = None
    queued_at: datetime = field(default_factory=lambda: datetime.now(tz=UTC))
    started_at: datetime | None = None
    finished_at: datetime | None = None
    results: list[NotebookResult] = field(default_factory=list)
    cancel_reason: str | None = None
    """Why the job was (or is being) cancelled: a newer push, or mobu stopping."""

    @property
    def commit_url(self) -> str:
        """Web page of the commit."""
        return f"{self.repo.html_url.rstrip('/')}/commit/{self.head_sha}"

    def data(self) -> CiJobData:
        """The job as the API lists it."""
        return CiJobData(
            id=self.id,
            repo=self.repo.full_name,
            head_sha=self.head_sha,
            pull_number=self.pull_number,
            commit_url=self.commit_url,
            check_run_id=self.check.id,
            state=self.state,
            conclusion=self.conclusion,
            user=None if self.user is None else self.user.username,
            queued_at=self.queued_at,
            started_at=self.started_at,
            finished_at=self.finished_at,
            notebooks=self.results,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class CiRunner:
    """Runs jobs: the GitHub side (check run, changed files) around the shared check."""

    clients: GitHubClients
    check: NotebookCheck

    async def run(self, job: CiJob, user: User) -> Outcome:
        """Run ``job`` as ``user``: the check goes in progress, the outcome concludes it."""
        gh = await self.clients.installation(job.installation_id)
        await job.check.start(gh, "Finding the notebooks this change touches...")
        files = await changed_files(
            gh, job.repo, pull_number=job.pull_number, base=job.base_sha, head=job.head_sha
        )

        async def progress(summary: str) -> None:
            await job.check.start(gh, summary)

        outcome = await self.check.run(
            clone_url=job.repo.clone_url,
            head=job.head_sha,
            changed=files,
            user=user,
            progress=progress,
        )
        job.results = outcome.results
        return outcome
