"""A private GAVO DaCHS server (TAP, UWS, SIA v2) with synthetic data, for tests and the demo."""

from mobu.platform.dachs.processes import DachsError, reap_stale
from mobu.platform.dachs.server import (
    DachsServer,
    dachs_unavailable_reason,
    default_base_dir,
    running_dachs,
)

__all__ = [
    "DachsError",
    "DachsServer",
    "dachs_unavailable_reason",
    "default_base_dir",
    "reap_stale",
    "running_dachs",
]
