"""The ``discovery:`` configuration section: where the platform's services are."""

from __future__ import annotations

from datetime import timedelta

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field

from mobu.models.timedelta import HumanTimedelta

__all__ = ["DatasetServices", "DiscoveryConfig"]


class DatasetServices(BaseModel):
    """Service URLs of one dataset."""

    model_config = ConfigDict(extra="forbid")

    tap: AnyHttpUrl | None = Field(None, description="TAP service base URL")
    sia: AnyHttpUrl | None = Field(None, description="SIA v2 query URL")


class DiscoveryConfig(BaseModel):
    """The ``discovery:`` configuration section."""

    model_config = ConfigDict(extra="forbid")

    environment_name: str | None = Field(None, description="Name of the environment (for alerts)")
    applications: list[str] = Field(
        default_factory=list,
        description="Applications deployed (checked against notebooks' required_applications)",
    )
    datasets: dict[str, DatasetServices] = Field(
        default_factory=dict,
        description="Per-dataset service URLs",
        examples=[{"dp1": {"tap": "https://host/api/tap"}}],
    )
    services: dict[str, AnyHttpUrl] = Field(
        default_factory=dict,
        description="UI and internal service URLs by name (hub, muster, ...)",
        examples=[{"hub": "http://127.0.0.1:8000/"}],
    )
    refresh_interval: HumanTimedelta = Field(
        timedelta(minutes=5),
        description="With Repertoire (REPERTOIRE_BASE_URL): how often discovery is re-read",
    )
