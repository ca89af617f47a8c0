"""Service discovery: which applications, datasets and services the platform has.

A provider answers through :class:`Discovery`; its settings are a model in
:mod:`mobu.discovery.config`. Today the only provider reads the ``discovery:`` section.
"""

from __future__ import annotations

from mobu.discovery.config import DatasetServices, DiscoveryConfig
from mobu.discovery.service import Discovery, DiscoveryError

__all__ = ["DatasetServices", "Discovery", "DiscoveryConfig", "DiscoveryError"]
