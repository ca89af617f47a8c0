"""The result document of a load test or capacity search (``results.json``, ``--json``)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

__all__ = [
    "Breach",
    "CapacityResult",
    "EventResult",
    "LoadTestResult",
    "StageMark",
    "StepResult",
    "ThresholdResult",
    "TimelinePoint",
]


class Breach(BaseModel):
    """A threshold outside its limit: when, for how long, by how much."""

    threshold: str = Field(..., description="The threshold, e.g. 'http_check p95 <= 1s'")
    where: str = Field(..., description="'window' (while running), 'end' (whole run) or 'step'")
    start: float = Field(..., description="Seconds since the test began")
    end: float | None = Field(None, description="When it ended (None: still breached)")
    value: float = Field(..., description="Worst value seen")
    limit: float = Field(..., description="The limit it crossed")
    excess: float = Field(..., description="By how much (value - limit, positive)")
    monkeys: int = Field(..., description="Monkeys when it began")
    stage: int | None = Field(None, description="Stage (or search step) index when it began")


class ThresholdResult(BaseModel):
    """One threshold of the plan and its verdict."""

    label: str
    event: str | None
    stat: str
    max: float | None
    min: float | None
    passed: bool
    value: float | None = Field(None, description="Value over the whole run")
    breaches: list[Breach] = Field(default_factory=list)


class TimelinePoint(BaseModel):
    """One sample, for the charts."""

    t: float = Field(..., description="Seconds since the test began")
    stage: int
    monkeys: int
    rate: float | None = Field(None, description="Iterations per second since the last sample")
    failure_rate: float | None = Field(None, description="Over the sliding window")
    lag: float | None = None
    events: dict[str, dict[str, float | None]] = Field(
        default_factory=dict, description="Per event: rate, p50, p95, p99 (window)"
    )


class StageMark(BaseModel):
    """Where a stage (or search step) began."""

    index: int
    start: float
    label: str


class EventResult(BaseModel):
    """Whole-run counts and latencies of one event (seconds)."""

    count: int
    failures: int
    p50: float | None = None
    p90: float | None = None
    p95: float | None = None
    p99: float | None = None
    max: float | None = None
    mean: float | None = None


class StepResult(BaseModel):
    """One monkey count tried by the capacity search."""

    count: int
    held: bool
    start: float
    end: float
    breaches: list[str] = Field(default_factory=list)
    layer: str | None = None


class CapacityResult(BaseModel):
    """The answer of ``mobu capacity``."""

    capacity: int | None = Field(..., description="Largest count that held every threshold")
    first_breach: Breach | None = Field(None, description="First breach of the first bad step")
    layer: str | None = Field(None, description="The layer that broke first")
    max_reached: bool = Field(False, description="The search reached max without a breach")
    steps: list[StepResult] = Field(default_factory=list)


class LoadTestResult(BaseModel):
    """Everything a load test found."""

    name: str
    mode: str = Field(..., description="'loadtest' or 'capacity'")
    target: str = Field(..., description="'embedded' or the API URL")
    started_at: datetime
    duration: float
    passed: bool
    aborted: bool = False
    abort_reason: str | None = None
    thresholds: list[ThresholdResult] = Field(default_factory=list)
    stages: list[StageMark] = Field(default_factory=list)
    timeline: list[TimelinePoint] = Field(default_factory=list)
    events: dict[str, EventResult] = Field(default_factory=dict)
    errors: dict[str, int] = Field(default_factory=dict, description="Failures by error")
    lag_warning: float | None = None
    capacity: CapacityResult | None = None
