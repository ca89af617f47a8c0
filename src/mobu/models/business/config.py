"""The business envelope of a flock or solitary config: type, options, restart."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["BusinessConfig"]


class BusinessConfig(BaseModel):
    """Which business to run and with which options.

    ``type`` is the name of a registered business (an entry point of ``mobu.businesses``).
    ``options`` is kept as given: the business registry of whoever runs the business validates
    it against that business's own options model when the business is prepared (before any
    monkey is built), so a flock or solitary config parses the same anywhere, with no registry.
    An unknown type or a bad option is then reported with its place, e.g.
    ``business.options.url``.
    """

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    type: str = Field(
        ...,
        pattern=r"^[A-Za-z][A-Za-z0-9_.-]{0,99}$",
        description="Business type",
        examples=["EmptyLoop", "HTTPCheck"],
    )
    options: dict[str, Any] = Field(
        default_factory=dict,
        description="Options of the business type (see GET /mobu/businesses for each schema)",
        repr=False,  # as given, secrets unmasked
    )
    restart: bool = Field(
        False, description="Restart the business after a failure (after error_idle_time)"
    )
