"""The CI app's queue: one worker per CI user, jobs queued, a newer push cancels the older job.

Every job's check run is concluded exactly once, never left queued or in progress by mobu:
``success`` / ``failure`` from the run, ``neutral`` when no changed notebook is to run,
``cancelled`` when a newer push to the same pull request supersedes it or mobu shuts down
(:data:`STOPPED`, the reference's message: a cancelled check can be re-run from GitHub).
"""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import Self

from structlog.typing import FilteringBoundLogger

from mobu.exceptions import ClientRequestError, MobuError, redact
from mobu.github.checks import CheckRun, GitHubApiError, RepoRef
from mobu.github.cijob import CiJob, CiRunner
from mobu.github.models import (
    CiJobData,
    CiJobState,
    CiManagerSummary,
    CiWorkerSummary,
    CurrentJob,
)
from mobu.github.notebookcheck import Outcome
from mobu.models.user import User

__all__ = ["STOPPED", "CiManager", "CiShuttingDownError", "CiTrigger"]

STOPPED = "Mobu stopped, try re-running this check."
KEEP_FINISHED = 100
"""Finished jobs kept for ``GET {pathPrefix}/github/ci/jobs``."""


class CiShuttingDownError(ClientRequestError):
    """Mobu is stopping: no CI job is queued any more."""

    error = "ci_shutting_down"
    status_code = 503

    def __init__(self) -> None:
        super().__init__("Not queueing the CI job: mobu is shutting down")


@dataclass(frozen=True, slots=True)
class CiTrigger:
    """What a webhook asks to check."""

    installation_id: int
    repo: RepoRef
    head_sha: str
    pull_number: int | None = None
    base_sha: str | None = None


@dataclass(eq=False)
class _Worker:
    user: User
    processed: int = 0
    current: CiJob | None = None


@dataclass(eq=False)
class _Running:
    task: asyncio.Task[Outcome]
    done: asyncio.Event = field(default_factory=asyncio.Event)


class CiManager:
    """Queues CI jobs and runs them, one at a time per CI user.

    Use as an async context manager: entering starts the workers, leaving concludes every
    queued and running job ``cancelled`` with :data:`STOPPED` and waits for the workers.
    """

    def __init__(
        self, *, runner: CiRunner, users: list[User], check_name: str, logger: FilteringBoundLogger
    ) -> None:
        self._runner = runner
        self._workers = [_Worker(user) for user in users]
        self.check_name = check_name
        self._logger = logger
        self._queue: asyncio.Queue[CiJob | None] = asyncio.Queue()
        self._active: list[CiJob] = []
        self._finished: deque[CiJob] = deque(maxlen=KEEP_FINISHED)
        self._running: dict[CiJob, _Running] = {}
        self._ids = itertools.count(1)
        self._lock = asyncio.Lock()
        self._group: asyncio.TaskGroup | None = None
        self._closing = False

    async def __aenter__(self) -> Self:
        self._group = asyncio.TaskGroup()
        await self._group.__aenter__()
        for index, worker in enumerate(self._workers):
            self._group.create_task(self._work(worker), name=f"mobu-ci-worker-{index}")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.shutdown()
        group, self._group = self._group, None
        if group is not None:
            await group.__aexit__(exc_type, exc, tb)

    async def enqueue(self, trigger: CiTrigger) -> CiJob:
        """Create the job's check run (queued) and queue it; cancel older jobs of the same PR.

        A delivery for a commit already queued or running returns that job.

        Raises
        ------
        CiShuttingDownError
            Mobu is stopping.
        GitHubApiError
            The check run could not be created.
        """
        async with self._lock:
            if self._closing or self._group is None:
                raise CiShuttingDownError
            for job in self._active:
                if (
                    job.repo.full_name == trigger.repo.full_name
                    and job.head_sha == trigger.head_sha
                ):
                    return job
            job = CiJob(
                id=next(self._ids),
                repo=trigger.repo,
                installation_id=trigger.installation_id,
                head_sha=trigger.head_sha,
                pull_number=trigger.pull_number,
                base_sha=trigger.base_sha,
                check=CheckRun(trigger.repo, self.check_name, trigger.head_sha),
            )
            gh = await self._runner.clients.installation(job.installation_id)
            await job.check.create(gh, external_id=str(job.id))
            older = [
                j
                for j in self._active
                if trigger.pull_number is not None
                and j.repo.full_name == job.repo.full_name
                and j.pull_number == job.pull_number
            ]
            self._active.append(job)
            self._queue.put_nowait(job)
            self._logger.info(
                "CI job queued", job=job.id, repo=job.repo.full_name, sha=job.head_sha
            )
        for old in older:
            await self.cancel(old, f"Superseded by a newer push ({job.head_sha[:12]}).")
        return job

    async def cancel(self, job: CiJob, reason: str) -> None:
        """Conclude ``job`` cancelled with ``reason``; a running job is stopped first."""
        if job.state is CiJobState.finished:
            return
        job.cancel_reason = reason
        running = self._running.get(job)
        if running is not None:
            running.task.cancel()
            await running.done.wait()
        elif job.state is CiJobState.queued:
            await self._conclude(job, Outcome("cancelled", reason))

    async def shutdown(self) -> None:
        """Conclude every job cancelled (:data:`STOPPED`) and let the workers end."""
        if self._closing:
            return
        self._closing = True
        async with self._lock:
            jobs = list(self._active)
        await asyncio.gather(*(self.cancel(job, STOPPED) for job in jobs))
        for _ in self._workers:
            self._queue.put_nowait(None)

    def jobs(self) -> list[CiJobData]:
        """Queued, running and recently finished jobs, oldest first."""
        jobs = sorted([*self._finished, *self._active], key=lambda j: j.id)
        return [job.data() for job in jobs]

    def summarize(self) -> CiManagerSummary:
        """The workers and the queue length."""
        workers = [
            CiWorkerSummary(
                user=w.user,
                num_processed=w.processed,
                current_job=None
                if w.current is None
                else CurrentJob(commit_url=w.current.commit_url),
            )
            for w in self._workers
        ]
        queued = sum(1 for j in self._active if j.state is CiJobState.queued)
        return CiManagerSummary(workers=workers, num_queued=queued)

    async def _work(self, worker: _Worker) -> None:
        while True:
            job = await self._queue.get()
            if job is None:
                return
            if job.state is not CiJobState.queued:
                continue  # cancelled while queued
            await self._process(job, worker)

    async def _process(self, job: CiJob, worker: _Worker) -> None:
        job.state, job.user = CiJobState.running, worker.user
        job.started_at = datetime.now(tz=UTC)
        worker.current = job
        logger = self._logger.bind(job=job.id, repo=job.repo.full_name, sha=job.head_sha)
        logger.info("CI job started", user=worker.user.username)
        task = asyncio.create_task(self._runner.run(job, worker.user), name=f"mobu-ci-{job.id}")
        running = self._running[job] = _Running(task)
        try:
            await asyncio.wait({task})
            if task.cancelled():
                outcome = Outcome("cancelled", job.cancel_reason or STOPPED)
            elif (error := task.exception()) is not None:
                logger.error("CI job failed", error=f"{type(error).__name__}: {error}")
                text = redact(f"{type(error).__name__}: {error}", [])
                summary = "Mobu could not run the notebooks."
                outcome = Outcome(
                    "failure", summary, text if isinstance(error, MobuError) else None
                )
            else:
                outcome = task.result()
            worker.current = None
            worker.processed += 1
            await self._conclude(job, outcome)
        finally:
            del self._running[job]
            worker.current = None
            running.done.set()

    async def _conclude(self, job: CiJob, outcome: Outcome) -> None:
        job.state, job.conclusion = CiJobState.finished, outcome.conclusion
        job.finished_at = datetime.now(tz=UTC)
        if job in self._active:
            self._active.remove(job)
        self._finished.append(job)
        try:
            gh = await self._runner.clients.installation(job.installation_id)
            await job.check.conclude(gh, outcome.conclusion, outcome.summary, outcome.text)
        except GitHubApiError as exc:
            self._logger.error("Cannot conclude the check run", job=job.id, error=str(exc))
            return
        self._logger.info("CI job finished", job=job.id, conclusion=outcome.conclusion)
