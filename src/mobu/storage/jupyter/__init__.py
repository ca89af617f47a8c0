"""Async clients of JupyterHub, Jupyter servers and kernels (httpx + websockets)."""

from mobu.storage.jupyter.errors import (
    CodeExecutionError,
    ExecutionTimeoutError,
    JupyterDeleteTimeoutError,
    JupyterError,
    JupyterProtocolError,
    JupyterSpawnError,
    JupyterSpawnTimeoutError,
    JupyterWebError,
    KernelConnectionError,
    strip_ansi,
)
from mobu.storage.jupyter.hub import HubClient, MintedToken, SpawnProgress
from mobu.storage.jupyter.kernel import ExecutionResult, KernelChannel, open_kernel_channel
from mobu.storage.jupyter.lab import LabClient, LabSession
from mobu.storage.jupyter.timing import PhaseTimings

__all__ = [
    "CodeExecutionError",
    "ExecutionResult",
    "ExecutionTimeoutError",
    "HubClient",
    "JupyterDeleteTimeoutError",
    "JupyterError",
    "JupyterProtocolError",
    "JupyterSpawnError",
    "JupyterSpawnTimeoutError",
    "JupyterWebError",
    "KernelChannel",
    "KernelConnectionError",
    "LabClient",
    "LabSession",
    "MintedToken",
    "PhaseTimings",
    "SpawnProgress",
    "open_kernel_channel",
    "strip_ansi",
]
