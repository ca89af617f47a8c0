"""Access to the process context from a request."""

from __future__ import annotations

from fastapi import Request

from mobu.factory import ProcessContext
from mobu.services.manager import FlockManager

__all__ = ["context_dependency", "manager_dependency"]


def context_dependency(request: Request) -> ProcessContext:
    """Return the process context opened by the application's lifespan."""
    context: ProcessContext = request.app.state.context
    return context


def manager_dependency(request: Request) -> FlockManager:
    """Return the flock manager of the process."""
    return context_dependency(request).manager
