"""The check both CI front ends run: changed notebooks → selection → one run → Markdown summary.

The GitHub CI app (:mod:`mobu.github.cijob`) and ``mobu ci`` (:mod:`mobu.cli.ci`) differ only in
where the changed files come from (GitHub's pull-request files or compare API, or ``git diff``
of a local repository) and where the outcome goes (a check run, or the terminal). Everything in
between is :class:`NotebookCheck`: the changed paths are kept only if they exist at the head
(:func:`existing_at_head`, the same status filtering for both), then only the notebooks the
repository's own selection keeps: its ``mobu.yaml`` collection rules and ``exclude_dirs``, and
each notebook's ``required_applications``, exactly as a flock's notebook runner selects them
(:func:`mobu.services.notebooks.find_notebooks`). They run as one solitary
``NotebookRunnerList`` (:func:`mobu.services.solitary.run_solitary`) as the given user; its
notebook events give the table of the summary.
"""

from __future__ import annotations

import asyncio
import dataclasses
import glob
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from structlog.typing import FilteringBoundLogger

from mobu.alerts.reporting import Reporters
from mobu.discovery import Discovery
from mobu.events import EventBase, Events
from mobu.github.models import NotebookResult
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

__all__ = [
    "KEPT_STATUSES",
    "NO_NOTEBOOKS",
    "NotebookCheck",
    "Outcome",
    "Progress",
    "existing_at_head",
    "render_results",
]

NO_NOTEBOOKS = "No changed notebooks to run."

KEPT_STATUSES = frozenset({"added", "modified", "changed", "renamed", "copied"})
"""GitHub's file statuses (pull-request files, compare) of a file that exists at the head;
``removed`` (and ``unchanged``) do not count."""

Progress = Callable[[str], Awaitable[None]]
"""Told what the check is doing (Markdown), e.g. to put a check run in progress."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a check concludes: success, failure, neutral (nothing to run) or cancelled."""

    conclusion: str
    summary: str
    text: str | None = None
    results: list[NotebookResult] = field(default_factory=list)

    @property
    def markdown(self) -> str:
        """The summary, then the details (if any), as one Markdown document."""
        return self.summary if not self.text else f"{self.summary}\n\n{self.text}"


def existing_at_head(entries: Iterable[tuple[str, str]]) -> list[str]:
    """The paths of ``(status, path)`` entries whose file exists at the head; sorted, unique."""
    return sorted({path for status, path in entries if status in KEPT_STATUSES})


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
        event = runs.get(name)
        if event is None:
            rows.append(NotebookResult(notebook=name, result="not run"))
            continue
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


async def _quiet(_: str) -> None:
    return None


@dataclass(frozen=True, slots=True, kw_only=True)
class NotebookCheck:
    """Runs a change's notebooks once on the platform: everything a check needs from the process."""

    builder: MonkeyBuilder
    identity: IdentityProvider
    repo_cache: RepoCache
    discovery: Discovery
    scopes: list[str]
    options: dict[str, object]
    timeout: HumanTimedelta
    logger: FilteringBoundLogger

    async def run(
        self,
        *,
        clone_url: str,
        head: str,
        changed: Sequence[str],
        user: User,
        progress: Progress = _quiet,
    ) -> Outcome:
        """Run the notebooks among ``changed`` (paths that exist at ``head``) as ``user``.

        ``clone_url`` is cloned at ``head`` (any URL or local path ``git clone`` takes).
        """
        notebooks = [f for f in changed if f.endswith(".ipynb")]
        if not notebooks:
            return Outcome("neutral", NO_NOTEBOOKS)
        options = self._options(clone_url, head, notebooks)
        try:
            repo = await self.repo_cache.acquire(clone_url, head)
        except RepoCloneError as exc:
            return Outcome("failure", "Mobu could not clone the repository.", str(exc))
        try:
            try:
                selected = await asyncio.to_thread(self._select, repo.path, options)
            except NotebookRepositoryError as exc:
                return Outcome("failure", "The repository's notebooks are unusable.", str(exc))
            if not selected:
                excluded = "\n".join(f"- `{n}`" for n in notebooks)
                note = f"Changed notebooks, excluded by mobu.yaml or metadata:\n{excluded}"
                return Outcome("neutral", NO_NOTEBOOKS, note)
            listed = "\n".join(f"- `{n}`" for n in selected)
            await progress(f"Running these notebooks via Mobu:\n{listed}")
            result, events = await self._solitary(user, options)
        finally:
            await self.repo_cache.release(repo, invalidate=True)
        results = _results(selected, events, result)
        summary = render_results(results, result.error)
        return Outcome("success" if result.success else "failure", summary, results=results)

    def _options(self, clone_url: str, head: str, changed: list[str]) -> dict[str, object]:
        """The NotebookRunnerList options: the configured ones, this commit, its notebooks."""
        rule = CollectionRule(type="intersect_union_of", patterns=[glob.escape(n) for n in changed])
        configured = self.options.get("collection_rules")
        rules = list(configured) if isinstance(configured, list) else []
        return {
            **self.options,
            "repo_url": clone_url,
            "repo_ref": head,
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
        business = BusinessConfig(type="NotebookRunnerList", options=options, restart=False)
        config = SolitaryConfig(
            user=user, scopes=self.scopes, business=business, timeout=self.timeout
        )
        result = await run_solitary(config, builder=builder, identity=self.identity)
        return result, events
