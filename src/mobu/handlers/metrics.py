"""``GET /metrics``: Prometheus text exposition (outside the API prefix)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response
from prometheus_client import CONTENT_TYPE_LATEST

from mobu.dependencies.context import context_dependency
from mobu.exceptions import ClientRequestError
from mobu.factory import ProcessContext

__all__ = ["router"]

router = APIRouter()


class MetricsDisabledError(ClientRequestError):
    """``metrics.prometheus`` is false."""

    error = "metrics_disabled"
    status_code = 404

    def __init__(self) -> None:
        super().__init__("Metrics are disabled (metrics.prometheus: false)", ("path",))


@router.get("/metrics", include_in_schema=False)
async def metrics(context: ProcessContext = Depends(context_dependency)) -> Response:
    """Every ``mobu_*`` metric, rendered in the event loop (collectors read live state)."""
    exporter = context.observability.metrics
    if exporter is None:
        raise MetricsDisabledError
    return Response(exporter.render(), media_type=CONTENT_TYPE_LATEST)
