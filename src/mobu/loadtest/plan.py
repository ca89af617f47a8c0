"""Load-test plans: flocks, stages or a capacity search, thresholds (the YAML a user writes)."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from mobu.exceptions import MobuError
from mobu.models.errors import format_errors
from mobu.models.flock import MAX_MONKEYS, FlockConfig
from mobu.models.timedelta import HumanTimedelta, parse_timedelta
from mobu.yamlload import YamlLoadError, load_yaml_file

__all__ = [
    "LATENCY_STATS",
    "LoadTestPlan",
    "PlanError",
    "SearchSpec",
    "Stage",
    "Threshold",
    "load_plan",
]

LATENCY_STATS = ("p50", "p90", "p95", "p99", "max", "mean")
"""Stats of an event's durations (seconds)."""

Stat = Literal["p50", "p90", "p95", "p99", "max", "mean", "failure_rate", "rate"]

_PERCENT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")


class PlanError(MobuError, ValueError):
    """A plan that cannot be used (the message is one line naming the field); exit status 2."""


class Stage(BaseModel):
    """Move every flock to ``monkeys`` over ``ramp``, then keep it there for ``hold``."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    monkeys: int = Field(..., strict=True, ge=0, le=MAX_MONKEYS, description="Monkeys per flock")
    ramp: HumanTimedelta = Field(timedelta(0), description="Time to get there (linear)")
    hold: HumanTimedelta = Field(timedelta(0), description="Time to stay there")


class SearchSpec(BaseModel):
    """Grow the monkey count until a threshold breaks (``mobu capacity``)."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    start: int = Field(1, strict=True, ge=1, le=MAX_MONKEYS, description="First count")
    factor: float = Field(2.0, gt=1, le=100, description="Growth factor between steps")
    max: int = Field(500, strict=True, ge=1, le=MAX_MONKEYS, description="Largest count tried")
    hold: HumanTimedelta = Field(timedelta(minutes=3), description="Time each count must hold")
    warmup: HumanTimedelta = Field(
        timedelta(0), description="Time after a count is reached that is not judged (settling)"
    )
    refine: bool = Field(True, description="Binary search between last good and first bad")

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.max < self.start:
            raise ValueError("max must be at least start")
        if self.hold <= timedelta(0):
            raise ValueError("hold must be positive")
        return self


class Threshold(BaseModel):
    """A limit on one stat, of one event (latency stats, failure_rate, rate) or of all."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    event: str | None = Field(None, description="Event name (e.g. nublado_spawn_lab)")
    stat: Stat = Field(..., description="p50 p90 p95 p99 max mean failure_rate rate")
    max: float | None = Field(None, description="Upper limit (duration, percent or per second)")
    min: float | None = Field(None, description="Lower limit (usually of rate)")

    @model_validator(mode="before")
    @classmethod
    def _limits(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        stat = data.get("stat")
        out = dict(data)
        for key in ("max", "min"):
            if out.get(key) is not None:
                out[key] = _limit(stat, out[key])
        return out

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.max is None and self.min is None:
            raise ValueError("give max or min")
        if self.stat in LATENCY_STATS and self.event is None:
            raise ValueError(f"stat {self.stat} needs an event")
        return self

    @property
    def label(self) -> str:
        """Short name, e.g. ``nublado_spawn_lab p95 <= 60s``."""
        parts = [self.event or "all", self.stat]
        if self.max is not None:
            parts.append(f"<= {format_value(self.stat, self.max)}")
        if self.min is not None:
            parts.append(f">= {format_value(self.stat, self.min)}")
        return " ".join(parts)

    def breached(self, value: float | None) -> bool:
        """Whether ``value`` is outside the limits (no value: not breached)."""
        if value is None:
            return False
        return (self.max is not None and value > self.max) or (
            self.min is not None and value < self.min
        )


def _limit(stat: Any, value: Any) -> float:
    """Normalise a limit: seconds for latency stats, a fraction for failure_rate."""
    if isinstance(value, bool):
        raise ValueError("a limit must be a number")  # noqa: TRY004 - pydantic wants ValueError
    if stat == "failure_rate":
        if isinstance(value, str):
            match = _PERCENT.match(value)
            if match is None:
                raise ValueError("failure_rate limit must be a fraction or a percent like '1%'")
            return float(match.group(1)) / 100
        fraction = float(value)
        if not 0 <= fraction <= 1:
            raise ValueError("failure_rate limit must be between 0 and 1 (or 0% and 100%)")
        return fraction
    if stat == "rate":
        rate = float(value)
        if rate < 0:
            raise ValueError("rate limit must not be negative")
        return rate
    return parse_timedelta(value).total_seconds()


def format_value(stat: str, value: float | None) -> str:
    """Render a stat's value for people (``1.2s``, ``0.5%``, ``3.1/s``)."""
    if value is None:
        return "-"
    if stat == "failure_rate":
        return f"{100 * value:.3g}%"
    if stat == "rate":
        return f"{value:.3g}/s"
    if value < 1:
        return f"{1000 * value:.3g}ms"
    return f"{value:.3g}s"


class LoadTestPlan(BaseModel):
    """A load test: flocks (as ``PUT /flocks`` takes them), stages or a search, thresholds."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    name: str = Field(..., pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
    flocks: list[FlockConfig] = Field(..., min_length=1, description="count = starting monkeys")
    stages: list[Stage] | None = Field(None, min_length=1, description="For mobu loadtest")
    search: SearchSpec | None = Field(None, description="For mobu capacity")
    thresholds: list[Threshold] = Field(default_factory=list)
    abort_on_fail: bool = Field(False, description="Stop at the first breach lasting > grace")
    grace: HumanTimedelta = Field(timedelta(seconds=30), description="How long a breach may last")
    window: HumanTimedelta = Field(timedelta(seconds=30), description="Sliding window")
    interval: HumanTimedelta = Field(timedelta(seconds=1), description="Sampling interval")

    @model_validator(mode="after")
    def _check(self) -> Self:
        names = [f.name for f in self.flocks]
        if len(set(names)) != len(names):
            raise ValueError("flock names must be unique")
        if self.stages is not None and self.search is not None:
            raise ValueError("give stages (mobu loadtest) or search (mobu capacity), not both")
        if self.window <= timedelta(0) or self.interval <= timedelta(0):
            raise ValueError("window and interval must be positive")
        return self


def load_plan(path: Path, *, mode: Literal["loadtest", "capacity"]) -> LoadTestPlan:
    """Read and check a plan; a :class:`PlanError` (one line naming the field) if unusable."""
    try:
        data = load_yaml_file(path)
    except YamlLoadError as exc:
        raise PlanError(str(exc)) from None
    if not isinstance(data, dict):
        raise PlanError(f"{path}: the top level must be a mapping")
    try:
        plan = LoadTestPlan.model_validate(data)
    except ValidationError as exc:
        first = format_errors(exc.errors()[:1])
        raise PlanError(f"{path}: invalid plan: {first}") from None
    if mode == "loadtest" and plan.stages is None:
        raise PlanError(f"{path}: invalid plan: stages: required by mobu loadtest")
    if mode == "capacity" and plan.search is None:
        raise PlanError(f"{path}: invalid plan: search: required by mobu capacity")
    return plan
