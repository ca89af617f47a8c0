"""The Discovery service: answers from the ``discovery:`` section of the configuration."""

from __future__ import annotations

from mobu.discovery.config import DiscoveryConfig
from mobu.exceptions import MobuError

__all__ = ["Discovery", "DiscoveryError"]


class DiscoveryError(MobuError):
    """A dataset or service a business needs is not configured."""


class Discovery:
    """Answers businesses' questions about where services are.

    Every lookup of something that is not configured raises :class:`DiscoveryError` naming what
    is missing, so a business fails its startup with a clear message.
    """

    def __init__(self, config: DiscoveryConfig | None = None) -> None:
        self.config = config or DiscoveryConfig()

    async def start(self) -> None:
        """Read discovery before flocks start (nothing to read for the static section)."""

    async def aclose(self) -> None:
        """Stop refreshing (nothing to stop for the static section)."""

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
