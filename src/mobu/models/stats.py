"""Latency statistics as the API shows them."""

from __future__ import annotations

from pydantic import BaseModel, Field

__all__ = ["EventStatistics", "LatencySummary"]


class LatencySummary(BaseModel):
    """Count, failures and latency percentiles of one kind of event (durations in seconds).

    Percentiles are within 0.5 % of the exact value; they are null when no event carried a
    duration.
    """

    count: int = Field(..., description="Events published")
    failures: int = Field(..., description="Events with success false")
    p50: float | None = Field(None, description="Median duration (seconds)")
    p90: float | None = Field(None, description="90th percentile duration (seconds)")
    p95: float | None = Field(None, description="95th percentile duration (seconds)")
    p99: float | None = Field(None, description="99th percentile duration (seconds)")
    max: float | None = Field(None, description="Longest duration (seconds)")


class EventStatistics(BaseModel):
    """Statistics of one event type of a flock, for the whole run and a recent window."""

    event: str = Field(..., description="Event name", examples=["tap_query"])
    total: LatencySummary = Field(..., description="Since the flock started")
    window: LatencySummary = Field(..., description="Over the sliding window")
    window_seconds: float = Field(..., description="Length of the sliding window (seconds)")
