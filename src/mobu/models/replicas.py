"""The merged view of a replica group as the API shows it."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from mobu.models.api import AutostartFailureData
from mobu.models.flock import FlockData, FlockSummary

__all__ = [
    "GroupAutostartFailure",
    "GroupFlockData",
    "GroupFlockSummary",
    "ReplicaFlockRow",
    "ReplicaStatus",
]


class GroupAutostartFailure(AutostartFailureData):
    """A flock that failed to start on one replica of a group."""

    replica: int = Field(..., description="The replica it failed on")


class ReplicaStatus(BaseModel):
    """One replica's part of a flock."""

    replica: int = Field(..., description="Replica index")
    status: Literal["reporting", "missing"] = Field(
        ..., description="missing: silent beyond the staleness window (or never reported)"
    )
    last_seen: datetime | None = Field(None, description="Its last heartbeat")
    expected_monkeys: int = Field(..., description="Monkeys of its share of the flock")
    monkey_count: int = Field(..., description="Monkeys it reported (0 when missing)")


class GroupFlockSummary(FlockSummary):
    """Counters of a flock over every replica (``monkey_count``: all reporting replicas)."""

    expected_count: int = Field(..., description="Monkeys the flock should have (its count)")
    missing_count: int = Field(..., description="Monkeys of the missing replicas")
    replicas: list[ReplicaStatus] = Field(..., description="Each replica's part")


class ReplicaFlockRow(BaseModel):
    """One replica's summary of a flock (``?by=replica``)."""

    replica: int = Field(..., description="Replica index")
    status: Literal["reporting", "missing"] = Field(..., description="Whether it reports")
    last_seen: datetime | None = Field(None, description="Its last heartbeat")
    expected_monkeys: int = Field(..., description="Monkeys of its share of the flock")
    generation: int | None = Field(
        None, description="Generation of the desired flock it runs (bumped by every PUT)"
    )
    summary: FlockSummary | None = Field(None, description="Its last reported summary")


class GroupFlockData(FlockData):
    """A flock with the monkeys of every reporting replica."""

    missing_replicas: list[int] = Field(
        default_factory=list, description="Replicas silent beyond the staleness window"
    )
