"""Service discovery from configuration: which applications and services the platform has."""

from __future__ import annotations

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field

from mobu.exceptions import MobuError

__all__ = ["DatasetServices", "Discovery", "DiscoveryConfig", "DiscoveryError"]


class DiscoveryError(MobuError):
    """A dataset or service a business needs is not configured."""


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


class Discovery:
    """Answers businesses' questions about where services are.

    Every lookup of something that is not configured raises :class:`DiscoveryError` naming what
    is missing, so a business fails its startup with a clear message.
    """

    def __init__(self, config: DiscoveryConfig | None = None) -> None:
        self.config = config or DiscoveryConfig()

    @property
    def environment_name(self) -> str | None:
        """Name of the environment, if configured."""
        return self.config.environment_name

    @property
    def applications(self) -> set[str]:
        """Applications deployed."""
        return set(self.config.applications)

    def dataset_url(self, dataset: str, service: str) -> str:
        """Return the URL of ``service`` (``tap`` or ``sia``) for ``dataset``."""
        entry = self.config.datasets.get(dataset)
        if entry is None:
            known = ", ".join(sorted(self.config.datasets)) or "none"
            raise DiscoveryError(
                f"dataset {dataset!r} is not in discovery.datasets (configured: {known})"
            )
        url = getattr(entry, service, None)
        if url is None:
            raise DiscoveryError(f"dataset {dataset!r} has no {service} service in discovery")
        return str(url)

    def service_url(self, name: str) -> str:
        """Return the URL of a UI or internal service such as ``hub``."""
        url = self.config.services.get(name)
        if url is None:
            known = ", ".join(sorted(self.config.services)) or "none"
            raise DiscoveryError(
                f"service {name!r} is not in discovery.services (configured: {known})"
            )
        return str(url)
