"""A private GAVO DaCHS server (TAP, UWS, SIA v2) with synthetic data, for tests and the demo."""

from mobu.testing.dachs.demo import DachsDemoConfig, dachs_demo, running_dachs
from mobu.testing.dachs.processes import DachsError, reap_stale
from mobu.testing.dachs.server import DachsServer, dachs_unavailable_reason, default_base_dir

__all__ = [
    "DachsDemoConfig",
    "DachsError",
    "DachsServer",
    "dachs_demo",
    "dachs_unavailable_reason",
    "default_base_dir",
    "reap_stale",
    "running_dachs",
]
