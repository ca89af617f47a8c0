"""Prometheus metrics (``GET /metrics``) and process self-monitoring."""

from __future__ import annotations

from mobu.metrics.config import MetricsConfig
from mobu.metrics.lag import LagMonitor
from mobu.metrics.prometheus import MobuMetrics

__all__ = ["LagMonitor", "MetricsConfig", "MobuMetrics"]
