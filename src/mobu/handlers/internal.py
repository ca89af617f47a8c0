"""Routes outside the API prefix: liveness, and the metadata the readiness probe reads."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from mobu.dependencies.context import context_dependency
from mobu.factory import ProcessContext
from mobu.handlers.api import metadata
from mobu.models.api import Metadata

__all__ = ["router"]

router = APIRouter()


@router.get("/health", include_in_schema=False)
async def health() -> dict[str, str]:
    """Liveness: the process answers (no authentication)."""
    return {"status": "ok"}


@router.get(
    "/",
    response_model=Metadata,
    summary="Application metadata (the reference's readiness probe; no authentication)",
)
async def get_root(context: ProcessContext = Depends(context_dependency)) -> Metadata:
    return metadata(context.config.name)
