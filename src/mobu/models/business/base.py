"""Options and data models shared by every business."""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from mobu.models.timedelta import HumanTimedelta

__all__ = ["BusinessData", "BusinessOptions", "LogLevel"]


class LogLevel(StrEnum):
    """Level of a monkey's logger."""

    DEBUG = "DEBUG"
    INFO = "INFO"
    WARNING = "WARNING"
    ERROR = "ERROR"
    CRITICAL = "CRITICAL"


class BusinessOptions(BaseModel):
    """Options every business accepts. Subclass it to add a business's own options."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    error_idle_time: HumanTimedelta = Field(
        timedelta(seconds=60),
        title="Time to pause after an error",
        description="How long to wait after a failure before restarting (with restart: true)",
        examples=[60, "5m"],
    )
    idle_time: HumanTimedelta = Field(
        timedelta(seconds=60),
        title="Time to pause between iterations",
        description="How long to wait after each successful execution",
        examples=[60, "30s"],
    )
    log_level: LogLevel = Field(
        LogLevel.INFO, title="Log level", description="Level of the monkey's own log"
    )


class BusinessData(BaseModel):
    """Status of a running business, as shown in monkey data."""

    name: str = Field(..., description="Type of business", examples=["EmptyLoop"])
    failure_count: int = Field(..., description="Number of failures")
    success_count: int = Field(..., description="Number of successes")
    refreshing: bool = Field(False, description="Whether a refresh was requested")

    model_config = ConfigDict(extra="allow")
