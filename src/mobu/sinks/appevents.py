"""The reference's app-metrics events (reference §4.1): safir ``EventPayload`` models.

Names and fields are the reference's, odd ones included (the delete-lab event is published as
``nublado_delete_``), so that existing dashboards keep working. Every field is a flat Avro
primitive; durations are ``timedelta`` fields, which safir's Avro schemas make doubles (seconds).
safir adds ``id``, ``application``, ``timestamp`` and ``timestamp_ns`` to each event.

:data:`REFERENCE_EVENTS` maps the project's event names (its own names are aliases) to the
reference's name and model. An event the reference does not have (``http_check``, a plug-in
business's) gets a model derived from its own pydantic model by :func:`derived_payload`.
"""

from __future__ import annotations

import types
from datetime import timedelta
from typing import Any, Union, get_args, get_origin

from pydantic import Field, create_model
from safir.metrics import EventPayload

from mobu.events import EventBase

__all__ = [
    "REFERENCE_EVENTS",
    "EmptyLoopExecution",
    "GitLfsCheck",
    "MusterExecution",
    "NotebookCellExecution",
    "NotebookExecution",
    "NubladoDeleteLab",
    "NubladoPythonExecution",
    "NubladoSpawnLab",
    "ReferenceEvent",
    "SIAQuery",
    "TapQuery",
    "derived_payload",
]


class ReferenceEvent(EventPayload):
    """Attributes of every event of the reference."""

    flock: str | None = Field(..., description="Flock of the monkey, null for a solitary run")
    username: str = Field(..., description="Username of the monkey")
    business: str = Field(..., description="Name of the business class")


class EmptyLoopExecution(ReferenceEvent):
    """``empty_loop``."""

    success: bool


class MusterExecution(ReferenceEvent):
    """``muster``."""

    duration: timedelta
    success: bool


class TapQuery(ReferenceEvent):
    """``tap_query``."""

    success: bool
    duration: timedelta | None
    sync: bool


class SIAQuery(ReferenceEvent):
    """``sia_query``."""

    success: bool
    duration: timedelta | None


class GitLfsCheck(ReferenceEvent):
    """``git_lfs_check`` (the reference sets the duration only on success)."""

    success: bool
    duration: timedelta | None


class NotebookExecution(ReferenceEvent):
    """``notebook_execution``."""

    notebook: str
    repo: str
    repo_ref: str
    repo_hash: str
    duration: timedelta | None
    success: bool


class NotebookCellExecution(ReferenceEvent):
    """``notebook_cell_execution``."""

    notebook: str
    repo: str
    repo_ref: str
    repo_hash: str
    cell_id: str
    duration: timedelta | None
    success: bool


class NubladoPythonExecution(ReferenceEvent):
    """``nublado_python_execution`` (null duration on failure)."""

    duration: timedelta | None
    success: bool
    code: str


class NubladoSpawnLab(ReferenceEvent):
    """``nublado_spawn_lab``."""

    duration: timedelta
    success: bool


class NubladoDeleteLab(ReferenceEvent):
    """``nublado_delete_`` (sic: the reference's truncated name)."""

    duration: timedelta
    success: bool


REFERENCE_EVENTS: dict[str, tuple[str, type[ReferenceEvent]]] = {
    "empty_loop": ("empty_loop", EmptyLoopExecution),
    "muster": ("muster", MusterExecution),
    "tap_query": ("tap_query", TapQuery),
    "sia_query": ("sia_query", SIAQuery),
    "git_lfs_check": ("git_lfs_check", GitLfsCheck),
    "notebook_execution": ("notebook_execution", NotebookExecution),
    "notebook_cell_execution": ("notebook_cell_execution", NotebookCellExecution),
    "nublado_python_execution": ("nublado_python_execution", NubladoPythonExecution),
    "nublado_spawn_lab": ("nublado_spawn_lab", NubladoSpawnLab),
    "nublado_delete_lab": ("nublado_delete_", NubladoDeleteLab),
    "nublado_delete_": ("nublado_delete_", NubladoDeleteLab),
}
"""Project event name → (reference publisher name, reference model)."""

_PRIMITIVES = (bool, int, float, str, timedelta)


def _flat(annotation: Any) -> bool:
    """Whether ``annotation`` is a primitive the Avro schema keeps flat (or its Optional)."""
    if annotation in _PRIMITIVES:
        return True
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        return len(args) == 1 and args[0] in _PRIMITIVES
    return False


def derived_payload(model: type[EventBase]) -> type[EventPayload] | None:
    """An ``EventPayload`` with the flat fields of a project event model; None if one is not.

    Raises nothing: a model with a nested or exotic field is not published (the caller counts
    it), since the reference's store (InfluxDB) takes only flat primitives.
    """
    fields: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        if not _flat(info.annotation):
            return None
        default = ... if info.is_required() else info.default
        fields[name] = (info.annotation, default)
    derived: type[EventPayload] = create_model(
        model.__name__, __base__=EventPayload, __module__=__name__, **fields
    )
    return derived
