"""History as the API shows it: time buckets, failures, uptime, the dashboard's overview."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

__all__ = [
    "EventBucket",
    "FailureEntry",
    "FlockHistory",
    "FlockOverview",
    "FlockUptime",
    "HistoryBucket",
    "HistoryOverview",
    "HistoryStatus",
    "LastFailure",
    "Outage",
    "SparkPoint",
    "UptimeWindow",
]


class EventBucket(BaseModel):
    """Count, failures and latency percentiles of one event type in one time bucket."""

    count: int = Field(..., description="Events published")
    failures: int = Field(..., description="Events with success false")
    monkeys: int = Field(0, description="Most monkeys seen publishing it in one minute")
    p50: float | None = Field(None, description="Median duration (seconds)")
    p90: float | None = Field(None, description="90th percentile duration (seconds)")
    p95: float | None = Field(None, description="95th percentile duration (seconds)")
    p99: float | None = Field(None, description="99th percentile duration (seconds)")
    max: float | None = Field(None, description="Longest duration (seconds)")


class HistoryBucket(BaseModel):
    """One time bucket of a flock's history."""

    start: datetime = Field(..., description="Start of the bucket (UTC)")
    end: datetime = Field(..., description="End of the bucket (exclusive)")
    events: dict[str, EventBucket] = Field(
        default_factory=dict, description="By event type; empty when nothing happened"
    )


class FlockHistory(BaseModel):
    """History of one flock over a time range, in equal buckets."""

    flock: str = Field(..., description="Name of the flock")
    since: datetime = Field(..., description="Start of the first bucket")
    until: datetime = Field(..., description="End of the last bucket")
    step: int = Field(..., description="Length of a bucket (seconds)")
    resolution: Literal["minute", "hour"] = Field(
        ..., description="Resolution of the rows read (hour for steps of whole hours)"
    )
    events: list[str] = Field(..., description="Event types present, sorted")
    totals: dict[str, EventBucket] = Field(..., description="The whole range, by event type")
    buckets: list[HistoryBucket] = Field(..., description="Every bucket, oldest first")


class FailureEntry(BaseModel):
    """One monkey failure of the failure log (message redacted)."""

    time: datetime = Field(..., description="When it failed (UTC)")
    flock: str = Field(..., description="Flock of the monkey")
    monkey: str = Field(..., description="The monkey (its username)")
    business: str = Field(..., description="Business type")
    error_type: str = Field(..., description="Exception type", examples=["TAPQueryError"])
    message: str = Field(..., description="Error message (credentials redacted)")
    step: str | None = Field(
        None, description="The failing step: notebook, cell, query, phase", examples=["cell=3"]
    )
    log_url: str | None = Field(None, description="The monkey's log (while the flock runs)")


class UptimeWindow(BaseModel):
    """Success ratio of a flock's events over one window ending now."""

    window: str = Field(..., description="Name of the window", examples=["24h"])
    seconds: int = Field(..., description="Length of the window (seconds)")
    count: int = Field(..., description="Events in the window")
    failures: int = Field(..., description="Failed events in the window")
    success_ratio: float | None = Field(
        None, description="Successful events / events (0..1); null without events"
    )


class Outage(BaseModel):
    """A stretch of time in which every event of the flock failed."""

    start: datetime = Field(..., description="Start of the first failing bucket")
    end: datetime = Field(..., description="End of the last failing bucket")
    seconds: float = Field(..., description="Length (seconds)")
    ongoing: bool = Field(..., description="Nothing has succeeded since")


class FlockUptime(BaseModel):
    """Uptime and SLO figures of one flock."""

    flock: str = Field(..., description="Name of the flock")
    windows: list[UptimeWindow] = Field(..., description="1 h, 24 h, 7 d and 30 d")
    longest_outage: Outage | None = Field(None, description="Longest outage in the last 30 days")
    current_outage: Outage | None = Field(None, description="The outage going on, if any")


class SparkPoint(BaseModel):
    """One point of an overview sparkline (the flock's main event)."""

    start: datetime = Field(..., description="Start of the bucket")
    count: int = Field(..., description="Events")
    failures: int = Field(..., description="Failed events")
    p95: float | None = Field(None, description="95th percentile duration (seconds)")


class LastFailure(BaseModel):
    """The newest failure of a flock."""

    time: datetime = Field(..., description="When it failed")
    seconds_ago: float = Field(..., description="How long ago (seconds)")
    monkey: str = Field(..., description="The monkey")
    error_type: str = Field(..., description="Exception type")
    message: str = Field(..., description="Error message (redacted)")
    step: str | None = Field(None, description="The failing step")


class FlockOverview(BaseModel):
    """One flock on the dashboard's overview."""

    name: str = Field(..., description="Name of the flock")
    business: str | None = Field(None, description="Business type")
    running: bool = Field(..., description="The flock runs in this replica now")
    monkeys: int = Field(0, description="Monkeys of the flock in this replica")
    monkeys_running: int = Field(0, description="Monkeys running")
    monkeys_failed: int = Field(0, description="Monkeys in error")
    success_count: int = Field(0, description="Successful iterations since the flock started")
    failure_count: int = Field(0, description="Failed iterations since the flock started")
    success_ratio_hour: float | None = Field(None, description="Event success ratio, last hour")
    success_ratio_day: float | None = Field(None, description="Event success ratio, last day")
    main_event: str | None = Field(None, description="The event type published most (last day)")
    p95_hour: float | None = Field(None, description="p95 of the main event, last hour (s)")
    sparkline: list[SparkPoint] = Field(
        default_factory=list, description="The main event over the last hour, per minute"
    )
    last_failure: LastFailure | None = Field(None, description="The newest failure")


class HistoryOverview(BaseModel):
    """Every flock, running now or with history in the last day."""

    generated_at: datetime = Field(..., description="When this was computed")
    flocks: list[FlockOverview] = Field(..., description="Sorted by name")


class HistoryStatus(BaseModel):
    """The history store and its writer: what was written, what was dropped."""

    enabled: bool = Field(..., description="History is kept")
    store: str | None = Field(None, description="Database URL (no password)")
    path: str | None = Field(None, description="File of the embedded SQLite store")
    connected: bool = Field(False, description="The last write or open succeeded")
    schema_revision: str | None = Field(None, description="Alembic revision of the schema")
    seen_events: int = Field(0, description="Flock events received")
    written_events: int = Field(0, description="Events written to the store")
    written_rows: int = Field(0, description="Time-bucket rows written")
    written_failures: int = Field(0, description="Failures written")
    dropped_events: int = Field(0, description="Events lost (buffer full while the store lagged)")
    dropped_rows: int = Field(0, description="Time-bucket rows lost")
    dropped_failures: int = Field(0, description="Failures lost")
    queued_rows: int = Field(0, description="Rows waiting in memory")
    queued_failures: int = Field(0, description="Failures waiting in memory")
    write_errors: int = Field(0, description="Writes that failed (their rows were retried)")
    last_error: str | None = Field(None, description="The last store error")
    size_bytes: int | None = Field(None, description="Size of the SQLite store on disk")
