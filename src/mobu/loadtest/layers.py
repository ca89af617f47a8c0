"""Which layer of the platform a failure (or a slow event) points at."""

from __future__ import annotations

from typing import Any

from mobu.identity.base import IdentityError
from mobu.services.business.gitlfs import GitLFSError
from mobu.services.business.httpcheck import HTTPCheckError
from mobu.services.business.muster import MusterError
from mobu.services.business.siaquerysetrunner import SIAClientError, SIAQueryError
from mobu.services.business.tap import TAPClientError, TAPQueryError
from mobu.services.repo import RepoCloneError
from mobu.storage.git import GitCommandError
from mobu.storage.jupyter.errors import (
    CodeExecutionError,
    ExecutionTimeoutError,
    JupyterProtocolError,
    JupyterSpawnError,
    KernelConnectionError,
)

__all__ = [
    "DOWNSTREAM_HTTP",
    "HUB",
    "IDENTITY",
    "KERNEL",
    "LAB_HTTP",
    "MOBU",
    "SPAWNER",
    "UNKNOWN",
    "layer_of_error",
    "layer_of_event",
    "layer_of_phase",
]

IDENTITY = "identity"
HUB = "hub"
SPAWNER = "spawner/lab start"
LAB_HTTP = "proxy/lab HTTP"
KERNEL = "kernel"
DOWNSTREAM_HTTP = "downstream HTTP"
MOBU = "mobu itself"
UNKNOWN = "unknown"

_PHASES = {
    "startup": HUB,
    "hub_status": HUB,
    "spawn_request": HUB,
    "lab_delete_request": HUB,
    "lab_delete_check": HUB,
    "lab_delete": HUB,
    "spawn_progress": SPAWNER,
    "lab_first_response": LAB_HTTP,
    "session_create": LAB_HTTP,
    "session_delete": LAB_HTTP,
    "websocket_open": KERNEL,
    "session_setup": KERNEL,
    "working_directory": KERNEL,
    "kernel_interrupt": KERNEL,
    "execute": KERNEL,
    "execute_cell": KERNEL,
    "clone_repo": "downstream git",
    "find_notebooks": "downstream git",
}
"""Lab-cycle phases (``phase`` of a Jupyter error's context) and the layer each one talks to."""

_DOWNSTREAM: tuple[tuple[tuple[type[BaseException], ...], str], ...] = (
    ((HTTPCheckError, MusterError), DOWNSTREAM_HTTP),
    ((TAPClientError, TAPQueryError), "downstream TAP"),
    ((SIAClientError, SIAQueryError), "downstream SIA"),
    ((GitLFSError,), "downstream git-lfs"),
    ((RepoCloneError, GitCommandError), "downstream git"),
)

_EVENTS = {
    "nublado_spawn_lab": SPAWNER,
    "nublado_delete_lab": HUB,
    "nublado_python_execution": KERNEL,
    "notebook_execution": KERNEL,
    "notebook_cell_execution": KERNEL,
    "http_check": DOWNSTREAM_HTTP,
    "muster": DOWNSTREAM_HTTP,
    "tap_query": "downstream TAP",
    "sia_query": "downstream SIA",
    "git_lfs_check": "downstream git-lfs",
    "empty_loop": MOBU,
}
"""Event names and the layer their duration (or failure) measures."""


def layer_of_error(error: BaseException, context: dict[str, Any] | None = None) -> str:
    """The layer a monkey failure points at, from its type and its recorded phase.

    Identity (token minting), hub (the hub's API: spawn refused with 429/503, limits), spawner
    (spawn progress failed or timed out), proxy/lab HTTP, kernel (websocket, execution) or a
    downstream service (HTTP, TAP, SIA, git-lfs, git).
    """
    if isinstance(error, IdentityError):
        return IDENTITY
    for types, layer in _DOWNSTREAM:
        if isinstance(error, types):
            return layer
    if isinstance(error, JupyterSpawnError):
        return SPAWNER
    if isinstance(
        error,
        KernelConnectionError | ExecutionTimeoutError | CodeExecutionError | JupyterProtocolError,
    ):
        return KERNEL
    phase = (context or {}).get("phase")
    if isinstance(phase, str) and phase in _PHASES:
        return _PHASES[phase]
    return UNKNOWN


def layer_of_phase(phase: object) -> str | None:
    """The layer a lab-cycle phase talks to (None: not a known phase)."""
    return _PHASES.get(phase) if isinstance(phase, str) else None


def layer_of_event(event: str | None) -> str:
    """The layer an event's latency or failure points at (``unknown`` for an unknown event)."""
    if event is None:
        return UNKNOWN
    return _EVENTS.get(event, UNKNOWN)
