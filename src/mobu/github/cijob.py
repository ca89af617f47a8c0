"""One CI job: find the notebooks a change touched, run them once on the platform, report.

The notebooks are those the pull request (all its commits) or the compared commits added or
modified, kept only if the repository's own selection keeps them: its ``mobu.yaml`` collection
rules and ``exclude_dirs``, and each notebook's ``required_applications``, exactly as a flock's
notebook runner selects them (:func:`mobu.services.notebooks.find_notebooks`). They run as one
solitary ``NotebookRunnerList`` (:func:`mobu.services.solitary.run_solitary`) as the worker's
user; its notebook events give the table of the check's summary.
"""

from __future__ import annotations

import asyncio
import dataclasses
import glob
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from structlog.typing import FilteringBoundLogger

from mobu.alerts.reporting import Reporters
from mobu.discovery import Discovery
from mobu.events import EventBase, Events
from mobu.github.checks import CheckRun, GitHubClients, RepoRef, changed_files
from mobu.github.models import CiJobData, CiJobState, NotebookResult
from mobu.identity import IdentityProvider
from mobu.models.business.config import BusinessConfig
from mobu.models.business.notebookrunner import NotebookRunnerOptions
from mobu.models.repo import CollectionRule
from mobu.models.solitary import SolitaryConfig, SolitaryResult
from mobu.models.timedelta import HumanTimedelta
from mobu.models.user import User
from mobu.services.builder import MonkeyBuilder
from mobu.services.notebooks import NotebookRepositoryError, find_notebooks, load_repo_config
from mobu.services.repo import RepoCache, RepoCloneError
from mobu.services.solitary import run_solitary

__all__ = ["NO_NOTEBOOKS", "CiJob", "CiRunner", "Outcome", "render_results"]

NO_NOTEBOOKS = "No changed notebooks to run."
DOCS_URL = "https://github.com/lsst-sqre/mobu/blob/main/docs/github.md"


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a job's check run is concluded."""

    conclusion: str
    summary: str
    text: str | None = None


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


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_results(results: Sequence[NotebookResult], error: str | None) -> str:
    """The Markdown summary: a table (notebook, result, duration), then each failure's cell,
    code and traceback; ``error`` is the run's error when no notebook failure explains it."""
    icon = {"success": "✅ success", "failure": "❌ failure"}
    lines = ["| Notebook | Result | Duration |", "| --- | --- | --- |"]
    for r in results:
        duration = "" if r.duration is None else f"{r.duration:.1f} s"
        lines.append(f"| `{_cell(r.notebook)}` | {icon.get(r.result, r.result)} | {duration} |")
    for r in results:
        if r.result != "failure":
            continue
        lines += ["", f"### `{r.notebook}`", "", f"Failed in cell {r.cell or '(unknown)'}."]
        if r.code:
            lines += ["", "```python", r.code, "```"]
        if r.error:
            lines += ["", "```", r.error, "```"]
    if error and not any(r.result == "failure" for r in results):
        lines += ["", "```", error, "```"]
    return "\n".join(lines)


def _results(
    notebooks: Sequence[str], events: Events, result: SolitaryResult
) -> list[NotebookResult]:
    recorder = events.recorder
    assert recorder is not None
    runs: dict[str, EventBase] = {}
    for published in recorder.published("notebook_execution"):
        runs[getattr(published, "notebook", "")] = published
    codes = {
        (getattr(e, "notebook", ""), getattr(e, "cell_id", "")): getattr(e, "code", None)
        for e in recorder.published("notebook_cell_execution")
        if not getattr(e, "success", True)
    }
    rows = []
    for name in notebooks:
        run = runs.get(name)
        if run is None:
            rows.append(NotebookResult(notebook=name, result="not run"))
            continue
        event = run
        duration = getattr(event, "duration", None)
        seconds = None if duration is None else duration.total_seconds()
        if getattr(event, "success", False):
            rows.append(NotebookResult(notebook=name, result="success", duration=seconds))
            continue
        cell_id, number = getattr(event, "cell_id", None), getattr(event, "cell_number", None)
        rows.append(
            NotebookResult(
                notebook=name,
                result="failure",
                duration=seconds,
                cell=None if cell_id is None else f"{cell_id} (#{number})",
                code=codes.get((name, cell_id or "")),
                error=getattr(event, "error", None) or result.error,
            )
        )
    return rows


@dataclass(frozen=True, slots=True, kw_only=True)
class CiRunner:
    """Runs jobs: everything a job needs from the process."""

    clients: GitHubClients
    builder: MonkeyBuilder
    identity: IdentityProvider
    repo_cache: RepoCache
    discovery: Discovery
    scopes: list[str]
    options: dict[str, object]
    timeout: HumanTimedelta
    logger: FilteringBoundLogger

    async def run(self, job: CiJob, user: User) -> Outcome:
        """Run ``job`` as ``user``: the check goes in progress, the outcome concludes it."""
        gh = await self.clients.installation(job.installation_id)
        await job.check.start(gh, "Finding the notebooks this change touches...")
        files = await changed_files(
            gh, job.repo, pull_number=job.pull_number, base=job.base_sha, head=job.head_sha
        )
        changed = [f for f in files if f.endswith(".ipynb")]
        if not changed:
            return Outcome("neutral", NO_NOTEBOOKS)
        options = self._options(job, changed)
        try:
            repo = await self.repo_cache.acquire(job.repo.clone_url, job.head_sha)
        except RepoCloneError as exc:
            return Outcome("failure", "Mobu could not clone the repository.", str(exc))
        try:
            try:
                selected = await asyncio.to_thread(self._select, repo.path, options)
            except NotebookRepositoryError as exc:
                return Outcome("failure", "The repository's notebooks are unusable.", str(exc))
            if not selected:
                excluded = "\n".join(f"- `{n}`" for n in changed)
                note = f"Changed notebooks, excluded by mobu.yaml or metadata:\n{excluded}"
                return Outcome("neutral", NO_NOTEBOOKS, note)
            listed = "\n".join(f"- `{n}`" for n in selected)
            await job.check.start(gh, f"Running these notebooks via Mobu:\n{listed}")
            result, events = await self._solitary(user, options)
        finally:
            await self.repo_cache.release(repo, invalidate=True)
        job.results = _results(selected, events, result)
        summary = render_results(job.results, result.error)
        return Outcome("success" if result.success else "failure", summary)

    def _options(self, job: CiJob, changed: list[str]) -> dict[str, object]:
        """The NotebookRunnerList options: the configured ones, this commit, its notebooks."""
        rule = CollectionRule(type="intersect_union_of", patterns=[glob.escape(n) for n in changed])
        configured = self.options.get("collection_rules")
        rules = list(configured) if isinstance(configured, list) else []
        return {
            **self.options,
            "repo_url": job.repo.clone_url,
            "repo_ref": job.head_sha,
            "collection_rules": [*rules, rule.model_dump()],
        }

    def _select(self, root: Path, given: dict[str, object]) -> list[str]:
        options = NotebookRunnerOptions.model_validate(given)
        config = load_repo_config(root)
        found = find_notebooks(
            root,
            exclude_dirs=[*options.exclude_dirs, *config.exclude_dirs],
            collection_rules=[*options.collection_rules, *config.collection_rules],
            applications=self.discovery.applications,
            logger=self.logger,
        )
        return [str(p) for p in found]

    async def _solitary(
        self, user: User, options: dict[str, object]
    ) -> tuple[SolitaryResult, Events]:
        events = Events()
        builder = dataclasses.replace(self.builder, events=events, reporters=Reporters())
        business = BusinessConfig(
            type="NotebookRunnerList",
            options=options,
            restart=False,
        )
        config = SolitaryConfig(
            user=user, scopes=self.scopes, business=business, timeout=self.timeout
        )
        result = await run_solitary(config, builder=builder, identity=self.identity)
        return result, events
