"""Base of the notebook runners: run a repository's notebooks cell by cell in a lab."""

from __future__ import annotations

import asyncio
import random
import time
from abc import abstractmethod
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path
from typing import Generic, TypedDict, TypeVar

import httpx
from structlog.typing import FilteringBoundLogger
from typing_extensions import override

from mobu.discovery import Discovery
from mobu.events import Events, TimedEvent
from mobu.models.business.notebookrunner import NotebookRunnerData, NotebookRunnerOptions
from mobu.models.secrets import mask_url
from mobu.models.user import AuthenticatedUser
from mobu.services.business.nublado import NubladoBusiness
from mobu.services.notebooks import (
    CodeCell,
    NotebookRepositoryError,
    find_notebooks,
    load_repo_config,
    read_code_cells,
)
from mobu.services.repo import ClonedRepo, RepoCache
from mobu.storage.jupyter import CodeExecutionError, JupyterError, LabClient, LabSession

__all__ = [
    "NotebookBase",
    "NotebookCellError",
    "NotebookCellExecution",
    "NotebookCellFailure",
    "NotebookExecution",
    "NotebookFailure",
    "NotebookRunner",
]

T = TypeVar("T", bound=NotebookRunnerOptions)


class _NotebookAttrs(TypedDict):
    flock: str | None
    username: str
    business: str
    notebook: str
    repo: str
    repo_ref: str
    repo_hash: str


class NotebookBase(TimedEvent):
    """Fields of the notebook events: which notebook of which repository."""

    notebook: str
    repo: str
    repo_ref: str
    repo_hash: str


class NotebookExecution(NotebookBase):
    """``notebook_execution``: one whole notebook."""


class NotebookCellExecution(NotebookBase):
    """``notebook_cell_execution``: one cell of a notebook."""

    cell_id: str


class NotebookCellFailure(NotebookCellExecution):
    """``notebook_cell_execution`` of a failed cell: what ran and how it failed."""

    cell_number: int
    code: str
    error: str


class NotebookFailure(NotebookExecution):
    """``notebook_execution`` of a failed notebook: the failing cell and the error."""

    cell_id: str | None = None
    cell_number: int | None = None
    error: str


class NotebookCellError(JupyterError):
    """A notebook cell failed (raised, timed out or lost its kernel)."""

    def __str__(self) -> str:
        text = super().__str__()
        code = self.context.get("code")
        error = self.context.get("error")
        if code is not None:
            text += f"\nCode: {code}"
        if error:
            text += f"\nError: {error}"
        return text


class NotebookRunner(NubladoBusiness[T], Generic[T]):
    """Runs the notebooks of a repository, in shuffled cycles, cell by cell.

    Parameters
    ----------
    repo_cache
        The process-wide clone cache.
    """

    def __init__(
        self,
        *,
        options: T,
        user: AuthenticatedUser,
        events: Events,
        logger: FilteringBoundLogger,
        flock: str | None,
        http_client: httpx.AsyncClient,
        discovery: Discovery,
        repo_cache: RepoCache,
    ) -> None:
        super().__init__(
            options=options,
            user=user,
            events=events,
            logger=logger,
            flock=flock,
            http_client=http_client,
            discovery=discovery,
        )
        self.repo_cache = repo_cache
        self.repo: ClonedRepo | None = None
        self.notebooks: list[Path] = []
        self.remaining: list[Path] = []
        self.notebook: Path | None = None
        self.running_code: str | None = None
        self._notebooks = events.publisher("notebook_execution", NotebookExecution)
        self._cells = events.publisher("notebook_cell_execution", NotebookCellExecution)

    @abstractmethod
    def iterations(self) -> Iterable[int]:
        """Indices of the notebooks to run in one lab session."""

    def total_label(self) -> str:
        """How many notebooks a session runs, for log messages."""
        return "infinite"

    # Lifecycle ------------------------------------------------------------------------------

    @override
    async def startup(self) -> None:
        await self.initialize()
        await super().startup()

    async def initialize(self) -> None:
        """Get the clone (shared), read ``mobu.yaml`` and compute the runnable notebooks.

        Raises
        ------
        NotebookRepositoryError
            Bad ``mobu.yaml`` or notebook, or no notebook left to run.
        """
        if self.repo is None:
            async with self.step("clone_repo", timedelta(minutes=10)):
                self.repo = await self.repo_cache.acquire(
                    self.options.repo_url, self.options.repo_ref
                )
        repo = self.repo
        config = await asyncio.to_thread(load_repo_config, repo.path)
        self.notebooks = await asyncio.to_thread(
            find_notebooks,
            repo.path,
            exclude_dirs=[*self.options.exclude_dirs, *config.exclude_dirs],
            collection_rules=[*self.options.collection_rules, *config.collection_rules],
            applications=self.discovery.applications,
            logger=self.logger,
        )
        self.remaining = []
        if not self.notebooks:
            raise NotebookRepositoryError(
                f"No runnable notebooks in {mask_url(repo.url)} at {repo.ref} after collection"
                " rules and required_applications",
                repo=mask_url(repo.url),
                repo_ref=repo.ref,
                phase="find_notebooks",
            )
        self.logger.info(
            "Repository cloned and ready",
            repo=mask_url(repo.url),
            ref=repo.ref,
            hash=repo.hash,
            notebooks=len(self.notebooks),
        )

    async def refresh(self) -> None:
        """Drop this clone (the first monkey to ask re-clones) and find the notebooks again."""
        self.logger.info("Getting new notebooks and forcing new execution")
        await self._release(invalidate=True)
        self.refreshing = False
        await self.initialize()

    @override
    async def close(self) -> None:
        await self._release(invalidate=False)
        await super().close()

    async def _release(self, *, invalidate: bool) -> None:
        repo, self.repo = self.repo, None
        self.notebook = None
        self.remaining = []
        self.running_code = None
        if repo is not None:
            await self.repo_cache.release(repo, invalidate=invalidate)

    @override
    def session_name(self) -> str | None:
        if not self.remaining:
            self._new_cycle()
        return str(self.remaining[-1]) if self.remaining else None

    @override
    def dump(self) -> NotebookRunnerData:
        return NotebookRunnerData(
            **super().dump().model_dump(),
            notebook=None if self.notebook is None else self.notebook.name,
            running_code=self.running_code,
        )

    # Running notebooks -----------------------------------------------------------------------

    @override
    async def execute_code(self, lab: LabClient, session: LabSession) -> None:
        for index in self.iterations():
            if self.refreshing:
                await self.refresh()
                return
            await self.execute_notebook(self._next_notebook(), index + 1)
            if self.stopping:
                break

    def _new_cycle(self) -> None:
        self.remaining = list(self.notebooks)
        random.shuffle(self.remaining)

    def _next_notebook(self) -> Path:
        if not self.remaining:
            self.logger.info("Done with this cycle of notebooks")
            self._new_cycle()
        return self.remaining.pop()

    async def execute_notebook(self, notebook: Path, iteration: int) -> None:
        """Run every code cell of ``notebook``; publish ``notebook_execution``."""
        repo = self.repo
        assert repo is not None
        self.notebook = notebook
        self.logger.info(
            "Running notebook",
            notebook=str(notebook),
            iteration=f"{iteration}/{self.total_label()}",
        )
        start = time.perf_counter()
        try:
            cells = await asyncio.to_thread(read_code_cells, repo.path / notebook)
            if not cells:
                self.logger.warning("Notebook has no code cells", notebook=str(notebook))
                await self.pause(self.options.execution_idle_time)
            for cell in cells:
                await self.execute_cell(notebook, cell)
                if not await self.pause(self.options.execution_idle_time):
                    break
        except Exception as exc:
            if not self.stopping:
                context = getattr(exc, "context", {})
                await self._notebooks.publish(
                    NotebookFailure(
                        **self._notebook_attrs(notebook),
                        success=False,
                        duration=timedelta(seconds=time.perf_counter() - start),
                        cell_id=context.get("cell_id"),
                        cell_number=context.get("cell_number"),
                        error=self.redact(str(context.get("error") or exc)),
                    )
                )
            raise
        duration = time.perf_counter() - start
        self.timings.record("notebook", duration)
        self.logger.info(
            "Success running notebook", notebook=str(notebook), seconds=round(duration, 3)
        )
        await self._notebooks.publish(
            NotebookExecution(
                **self._notebook_attrs(notebook),
                success=True,
                duration=timedelta(seconds=duration),
            )
        )
        await self.pause(self.options.notebook_idle_time)

    async def execute_cell(self, notebook: Path, cell: CodeCell) -> None:
        """Run one cell; on failure publish it and raise :class:`NotebookCellError`."""
        self.logger.info(
            "Executing cell",
            notebook=str(notebook),
            cell_id=cell.id,
            cell_number=cell.number,
            code=cell.source,
        )
        self.running_code = cell.source
        start = time.perf_counter()
        try:
            result = await self.run_code(
                cell.source, phase="execute_cell", timeout=self.options.cell_timeout
            )
        except JupyterError as exc:
            if self.stopping:
                raise
            error = self.redact(self._error_text(exc))
            self.logger.error(
                "Error executing cell",
                notebook=str(notebook),
                cell_id=cell.id,
                cell_number=cell.number,
                code=cell.source,
                error=error,
            )
            await self._cells.publish(
                NotebookCellFailure(
                    **self._notebook_attrs(notebook),
                    cell_id=cell.id,
                    success=False,
                    duration=timedelta(seconds=time.perf_counter() - start),
                    cell_number=cell.number,
                    code=cell.source,
                    error=error,
                )
            )
            raise NotebookCellError(
                f"{notebook}: error executing cell {cell.id} (#{cell.number})",
                notebook=str(notebook),
                cell_id=cell.id,
                cell_number=cell.number,
                code=cell.source,
                error=error,
                phase="execute_cell",
                user=self.user.username,
                **self.lab.where(),
            ) from exc
        self.running_code = None
        self.logger.info("Cell result", cell_id=cell.id, output=result.output)
        await self._cells.publish(
            NotebookCellExecution(
                **self._notebook_attrs(notebook),
                cell_id=cell.id,
                success=True,
                duration=timedelta(seconds=result.duration),
            )
        )

    @staticmethod
    def _error_text(exc: JupyterError) -> str:
        if isinstance(exc, CodeExecutionError) and exc.traceback:
            return exc.traceback
        return f"{type(exc).__name__}: {exc}"

    def _notebook_attrs(self, notebook: Path) -> _NotebookAttrs:
        repo = self.repo
        common = self.common_event_attrs()
        return {
            "flock": common["flock"],
            "username": common["username"],
            "business": common["business"],
            "notebook": str(notebook),
            "repo": mask_url(repo.url) if repo else "",
            "repo_ref": repo.ref if repo else "",
            "repo_hash": repo.hash if repo else "unknown",
        }
