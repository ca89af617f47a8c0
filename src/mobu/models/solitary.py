"""A single business run for one user."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from mobu.models.business.config import BusinessConfig
from mobu.models.flock import drop_unknown_keys
from mobu.models.timedelta import HumanTimedelta
from mobu.models.user import User

__all__ = ["SolitaryConfig", "SolitaryResult"]


class SolitaryConfig(BaseModel):
    """Run one business once. Unknown keys at this level are ignored with a warning."""

    model_config = ConfigDict(extra="ignore", hide_input_in_errors=True)

    user: User = Field(..., description="User to run as")
    scopes: list[str] = Field(default_factory=list, description="Token scopes")
    business: BusinessConfig = Field(..., description="Business to run")
    timeout: HumanTimedelta = Field(
        timedelta(hours=1), description="Give up (and clean up) after this long"
    )

    @model_validator(mode="before")
    @classmethod
    def _unknown(cls, data: Any) -> Any:
        return drop_unknown_keys(cls, data, "solitary spec")


class SolitaryResult(BaseModel):
    """Result of a solitary run."""

    success: bool = Field(..., description="Whether the business succeeded")
    error: str | None = Field(None, description="Error if it failed")
    log: str = Field(..., description="Log of the run")
