"""Access to the process context from a request."""

from __future__ import annotations

from fastapi import Request

from mobu.factory import ProcessContext
from mobu.replicas.merged import LOCAL_HEADER, GroupView
from mobu.services.manager import FlockManager

__all__ = ["context_dependency", "group_dependency", "manager_dependency"]


def context_dependency(request: Request) -> ProcessContext:
    """Return the process context opened by the application's lifespan."""
    context: ProcessContext = request.app.state.context
    return context


def manager_dependency(request: Request) -> FlockManager:
    """Return the flock manager of the process."""
    return context_dependency(request).manager


def group_dependency(request: Request) -> GroupView | None:
    """The merged view of the replica group (None: a single process, or a forwarded call)."""
    view = context_dependency(request).replicas
    if view is None or request.headers.get(LOCAL_HEADER):
        return None
    return view
