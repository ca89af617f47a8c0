"""Response models of the REST API that are not engine models (index, summary, errors)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from mobu.github.models import CiManagerSummary
from mobu.models.flock import FlockSummary

__all__ = [
    "AutostartFailureData",
    "BusinessDescription",
    "ErrorDetail",
    "ErrorResponse",
    "Index",
    "Metadata",
    "Summary",
]


class Metadata(BaseModel):
    """Metadata about the application."""

    name: str = Field(..., description="Name of the application", examples=["mobu"])
    version: str = Field(..., description="Version of the application")
    description: str | None = Field(None, description="What the application does")
    repository_url: str | None = Field(None, description="Source repository")
    documentation_url: str | None = Field(None, description="Documentation")


class IndexHistory(BaseModel):
    """Where the history is kept, as the index shows it."""

    enabled: bool = Field(..., description="History is kept")
    store: str | None = Field(None, description="Database URL (no password)")
    path: str | None = Field(None, description="File of the embedded SQLite store")
    connected: bool = Field(False, description="The last write or open succeeded")


class Index(BaseModel):
    """Response of the API's index route."""

    metadata: Metadata = Field(..., description="Application metadata")
    data_dir: str | None = Field(None, description="The service's data directory")
    history: IndexHistory | None = Field(None, description="The history store")
    dashboard: str | None = Field(None, description="Path of the dashboard")


class AutostartFailureData(BaseModel):
    """A flock from the configuration that could not be started at boot."""

    name: str = Field(..., description="Name of the flock")
    error: str = Field(..., description="Why it failed to start")


class Summary(BaseModel):
    """Summary of every flock of this replica."""

    flocks: list[FlockSummary] = Field(..., description="Flock summaries, sorted by name")
    autostart_failures: list[AutostartFailureData] = Field(
        default_factory=list, description="Flocks of the configuration that failed to start"
    )
    ci_manager: CiManagerSummary | None = Field(
        None, description="The GitHub CI app's workers and queue (null: no CI app)"
    )


class BusinessDescription(BaseModel):
    """A registered business type."""

    type: str = Field(..., description="Name to use as business.type", examples=["EmptyLoop"])
    name: str = Field(..., description="Class name")
    description: str = Field("", description="What the business does")
    options_schema: dict[str, Any] = Field(..., description="JSON schema of business.options")


class ErrorDetail(BaseModel):
    """One problem with a request."""

    loc: list[str | int] = Field(
        ..., description="Where the problem is", examples=[["path", "flock"]]
    )
    msg: str = Field(..., description="What is wrong", examples=["Flock x not found"])
    type: str = Field(..., description="Error code", examples=["flock_not_found"])


class ErrorResponse(BaseModel):
    """Body of every error response."""

    detail: list[ErrorDetail] = Field(..., description="The problems")
