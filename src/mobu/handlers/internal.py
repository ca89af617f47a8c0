"""Routes outside the API prefix: liveness."""

from __future__ import annotations

from fastapi import APIRouter

__all__ = ["router"]

router = APIRouter()


@router.get("/health", include_in_schema=False)
async def health() -> dict[str, str]:
    """Liveness: the process answers (no authentication)."""
    return {"status": "ok"}
