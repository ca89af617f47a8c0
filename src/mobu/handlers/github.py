"""Routes of the GitHub apps: the two webhooks (anonymous, signed) and the CI job list.

Each router is mounted only when its app is configured. The webhooks are open to anonymous
requests (GitHub cannot send mobu's admin token): the HMAC signature is their authentication.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response

from mobu.dependencies.context import context_dependency
from mobu.factory import ProcessContext
from mobu.github.apps import WebhookAnswer
from mobu.github.models import CiJobData
from mobu.handlers.responses import PrettyJSONResponse, pretty
from mobu.models.api import ErrorResponse

__all__ = ["CI_WEBHOOK", "REFRESH_WEBHOOK", "ci_router", "ci_webhook_router", "refresh_router"]

REFRESH_WEBHOOK = "/github/refresh/webhook"
CI_WEBHOOK = "/github/ci/webhook"

_WEBHOOK_ERRORS: dict[int | str, dict[str, object]] = {
    400: {"model": ErrorResponse, "description": "Signed, but not a webhook delivery"},
    401: {"model": ErrorResponse, "description": "Missing or invalid X-Hub-Signature-256"},
}

refresh_router = APIRouter()
ci_webhook_router = APIRouter()
ci_router = APIRouter()


@refresh_router.post(
    REFRESH_WEBHOOK,
    response_model=WebhookAnswer,
    response_class=PrettyJSONResponse,
    status_code=202,
    summary="GitHub refresh app webhook: a push refreshes the notebook flocks running it",
    responses=_WEBHOOK_ERRORS,
)
async def post_refresh_webhook(
    request: Request, context: ProcessContext = Depends(context_dependency)
) -> Response:
    answer = await context.github.refresh_webhook(request.headers, await request.body())
    return pretty(answer, status_code=answer.status_code)


@ci_webhook_router.post(
    CI_WEBHOOK,
    response_model=WebhookAnswer,
    response_class=PrettyJSONResponse,
    status_code=202,
    summary="GitHub CI app webhook: a pull request's changed notebooks run as a check",
    responses={
        **_WEBHOOK_ERRORS,
        502: {"model": ErrorResponse, "description": "GitHub refused the check run"},
        503: {"model": ErrorResponse, "description": "Mobu is shutting down"},
    },
)
async def post_ci_webhook(
    request: Request, context: ProcessContext = Depends(context_dependency)
) -> Response:
    answer = await context.github.ci_webhook(request.headers, await request.body())
    return pretty(answer, status_code=answer.status_code)


@ci_router.get(
    "/github/ci/jobs",
    response_model=list[CiJobData],
    response_class=PrettyJSONResponse,
    summary="CI jobs: queued, running and recently finished",
)
async def get_ci_jobs(context: ProcessContext = Depends(context_dependency)) -> Response:
    ci = context.github.ci
    return pretty(ci.jobs() if ci is not None else [])
