"""Service discovery: which applications, datasets and services the platform has.

A provider answers through :class:`Discovery`; its settings are a model in
:mod:`mobu.discovery.config`. The static provider reads the ``discovery:`` section;
:mod:`mobu.discovery.repertoire` reads Repertoire (``REPERTOIRE_BASE_URL``).
"""

from __future__ import annotations

import httpx
from structlog.typing import FilteringBoundLogger

from mobu.discovery.config import DatasetServices, DiscoveryConfig
from mobu.discovery.repertoire import RepertoireDiscovery
from mobu.discovery.service import Discovery, DiscoveryError

__all__ = [
    "DatasetServices",
    "Discovery",
    "DiscoveryConfig",
    "DiscoveryError",
    "RepertoireDiscovery",
    "build_discovery",
]


def build_discovery(
    config: DiscoveryConfig,
    *,
    repertoire_base_url: str | None,
    http: httpx.AsyncClient,
    logger: FilteringBoundLogger,
) -> Discovery:
    """Repertoire discovery when ``REPERTOIRE_BASE_URL`` is set, else the static section."""
    if repertoire_base_url:
        return RepertoireDiscovery(config, base_url=repertoire_base_url, http=http, logger=logger)
    return Discovery(config)
