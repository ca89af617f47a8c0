"""Flock configuration and status."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Self

import structlog
from pydantic import BaseModel, ConfigDict, Field, model_validator

from mobu.models.business.config import BusinessConfig
from mobu.models.monkey import MonkeyData, MonkeyState
from mobu.models.stats import EventStatistics
from mobu.models.timedelta import HumanTimedelta
from mobu.models.user import MAX_ID, User, UserSpec

__all__ = ["MAX_MONKEYS", "FlockConfig", "FlockData", "FlockSummary", "drop_unknown_keys"]

MAX_MONKEYS = 100_000
"""Most monkeys of one flock."""

_NAMED_KEYS = 20
"""Unknown keys named in the warning; more are counted."""


def drop_unknown_keys(model: type[BaseModel], data: Any, what: str) -> Any:
    """Drop the keys of ``data`` that ``model`` does not have, with a warning naming them.

    The reference ignores unknown keys at the flock and solitary level (operators' files carry
    such keys, e.g. a stray flock-level ``restart:``); the business and its options stay strict.
    The warning names the keys (at most 20, then a count), never their values.
    """
    if not isinstance(data, dict):
        return data
    unknown = [k for k in data if k not in model.model_fields]
    if not unknown:
        return data
    names = sorted(str(k)[:100] for k in unknown)
    structlog.get_logger("mobu").warning(
        f"Ignoring unknown keys of a {what}",
        spec=str(data.get("name") or "")[:100] or None,
        keys=names[:_NAMED_KEYS],
        more=max(0, len(names) - _NAMED_KEYS),
    )
    return {k: v for k, v in data.items() if k not in unknown}


class FlockConfig(BaseModel):
    """A flock to start: how many monkeys, as which users, running which business.

    Unknown keys at this level are ignored with a warning (as the reference does).
    """

    model_config = ConfigDict(extra="ignore", hide_input_in_errors=True)

    name: str = Field(
        ...,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$",
        description="Name of the flock (letters, digits, '.', '_', '-')",
        examples=["tap-load"],
    )
    count: int = Field(
        ..., strict=True, ge=1, le=MAX_MONKEYS, description="Number of monkeys across all replicas"
    )
    start_batch_size: int | None = Field(
        None,
        strict=True,
        ge=1,
        le=MAX_MONKEYS,
        description="Start monkeys in batches of this size (across all replicas)",
    )
    start_batch_wait: HumanTimedelta | None = Field(
        None, description="Wait between batches; required with start_batch_size"
    )
    users: list[User] | None = Field(None, description="Explicit users, one per monkey")
    user_spec: UserSpec | None = Field(None, description="Generate numbered users")
    scopes: list[str] = Field(
        default_factory=list, description="Token scopes for the monkeys", examples=[["read:tap"]]
    )
    business: BusinessConfig = Field(..., description="Business to run")

    @model_validator(mode="before")
    @classmethod
    def _unknown(cls, data: Any) -> Any:
        return drop_unknown_keys(cls, data, "flock spec")

    @model_validator(mode="after")
    def _check_users(self) -> Self:
        if self.users is None and self.user_spec is None:
            raise ValueError("one of users or user_spec must be provided")
        if self.users is not None and self.user_spec is not None:
            raise ValueError("both users and user_spec provided")
        if self.users is not None:
            if len(self.users) != self.count:
                raise ValueError(f"users list must contain {self.count} elements")
            names = [u.username for u in self.users]
            if len(set(names)) != len(names):
                raise ValueError("usernames in users must be unique")
        spec = self.user_spec
        if spec is not None:
            for key, start in (("uid_start", spec.uid_start), ("gid_start", spec.gid_start)):
                if start is not None and start + self.count - 1 > MAX_ID:
                    raise ValueError(f"user_spec.{key} + count - 1 must be at most {MAX_ID}")
        if self.start_batch_size and self.start_batch_wait is None:
            raise ValueError("start_batch_wait must be given if start_batch_size is given")
        return self


class FlockSummary(BaseModel):
    """Counters of a flock."""

    name: str = Field(..., description="Name of the flock")
    business: str = Field(..., description="Business type")
    start_time: datetime | None = Field(None, description="When the flock finished starting")
    monkey_count: int = Field(..., description="Monkeys in this replica")
    started_count: int = Field(
        0, description="Monkeys started so far (equals monkey_count once the flock has started)"
    )
    success_count: int = Field(..., description="Successes of all monkeys")
    failure_count: int = Field(..., description="Failures of all monkeys")
    statistics: list[EventStatistics] | None = Field(
        None, description="Latency statistics per event type (null when not collected)"
    )
    monkey_states: dict[MonkeyState, int] = Field(
        default_factory=dict,
        exclude=True,
        description="Monkeys by state, for the metrics (not part of the API output)",
    )


class FlockData(BaseModel):
    """A flock with its configuration and monkeys."""

    name: str = Field(..., description="Name of the flock")
    config: FlockConfig = Field(..., description="Configuration of the flock")
    monkeys: list[MonkeyData] = Field(..., description="Monkeys of the flock")
