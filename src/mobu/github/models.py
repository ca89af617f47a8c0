"""The CI app's vocabulary: jobs, notebook results and the summaries the API shows."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from mobu.models.user import User

__all__ = [
    "CiJobData",
    "CiJobState",
    "CiManagerSummary",
    "CiWorkerSummary",
    "CurrentJob",
    "NotebookResult",
]


class CiJobState(StrEnum):
    """Where a CI job is."""

    queued = "queued"
    running = "running"
    finished = "finished"


class NotebookResult(BaseModel):
    """How one notebook of a CI job ran."""

    notebook: str = Field(..., description="Path of the notebook in the repository")
    result: str = Field(..., description="success, failure or not run")
    duration: float | None = Field(None, description="Seconds the notebook ran")
    cell: str | None = Field(None, description="Failing cell: id and number among code cells")
    code: str | None = Field(None, description="Code of the failing cell")
    error: str | None = Field(None, description="Traceback or error of the failing cell")


class CiJobData(BaseModel):
    """A CI job as ``GET {pathPrefix}/github/ci/jobs`` lists it."""

    id: int = Field(..., description="Job number in this process")
    repo: str = Field(..., description="owner/name of the repository")
    head_sha: str = Field(..., description="Commit checked")
    pull_number: int | None = Field(None, description="Pull request, if any")
    commit_url: str = Field(..., description="Web page of the commit")
    check_run_id: int | None = Field(None, description="GitHub check run id")
    state: CiJobState = Field(..., description="queued, running or finished")
    conclusion: str | None = Field(None, description="Conclusion of the check once finished")
    user: str | None = Field(None, description="CI user running or having run the job")
    queued_at: datetime = Field(..., description="When the job was queued")
    started_at: datetime | None = Field(None, description="When a worker took it")
    finished_at: datetime | None = Field(None, description="When it finished")
    notebooks: list[NotebookResult] = Field(
        default_factory=list, description="The changed notebooks and how they ran"
    )


class CurrentJob(BaseModel):
    """The job a worker is running."""

    commit_url: str = Field(..., description="Web page of the commit being checked")


class CiWorkerSummary(BaseModel):
    """One CI worker (one configured user)."""

    user: User = Field(..., description="The worker's user")
    num_processed: int = Field(..., description="Jobs this worker finished")
    current_job: CurrentJob | None = Field(None, description="The job it runs now")


class CiManagerSummary(BaseModel):
    """The CI queue, as ``GET {pathPrefix}/summary`` shows it."""

    workers: list[CiWorkerSummary] = Field(..., description="One per CI user")
    num_queued: int = Field(..., description="Jobs waiting for a worker")
