"""Monkey state and status."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field, SerializeAsAny

from mobu.models.business.base import BusinessData
from mobu.models.user import AuthenticatedUser

__all__ = ["MonkeyData", "MonkeyState"]


class MonkeyState(StrEnum):
    """State of a monkey."""

    IDLE = "IDLE"
    RUNNING = "RUNNING"
    STOPPING = "STOPPING"
    FINISHED = "FINISHED"
    ERROR = "ERROR"


class MonkeyData(BaseModel):
    """Status of one monkey. Never contains its token."""

    name: str = Field(..., description="Name of the monkey (its username)")
    state: MonkeyState = Field(..., description="State of the monkey")
    user: AuthenticatedUser = Field(..., description="User the monkey runs as (no token)")
    business: SerializeAsAny[BusinessData] = Field(..., description="Status of its business")
