"""One JSON shape for every error: ``{"detail": [{"loc": [...], "msg": "...", "type": "..."}]}``."""

from __future__ import annotations

from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from mobu.exceptions import MobuError
from mobu.models.errors import error_detail, validation_details

__all__ = ["error_body", "install_error_handlers"]

_HTTP_TYPES = {
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    413: "request_too_large",
    415: "unsupported_media_type",
}


def error_body(loc: Sequence[str | int], msg: str, error_type: str) -> dict[str, Any]:
    """Return the body of an error response with a single problem."""
    return {"detail": [error_detail(loc, msg, error_type)]}


async def _mobu_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, MobuError)
    if exc.status_code is None:  # a failure, not an answer to the request
        return await _unexpected_error(request, exc)
    return JSONResponse(exc.to_dict(), status_code=exc.status_code)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    # loc, msg and type only: never the input nor the context (they may hold secrets)
    return JSONResponse({"detail": validation_details(exc.errors())}, status_code=422)


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    if status == 400:
        # FastAPI's "There was an error parsing the body" (e.g. not UTF-8): a bad body, like
        # any other, is a 422.
        body = error_body(["body"], f"Invalid request body: {exc.detail}", "json_invalid")
        return JSONResponse(body, status_code=422)
    default = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else ""
    msg = str(exc.detail) if exc.detail else default
    body = error_body([], msg, _HTTP_TYPES.get(status, "http_error"))
    return JSONResponse(body, status_code=status, headers=exc.headers)


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    logger = structlog.get_logger("mobu")
    logger.error(
        "Uncaught exception in request handler",
        path=request.url.path,
        method=request.method,
        error=f"{type(exc).__name__}",
        exc_info=exc,
    )
    context = getattr(request.app.state, "context", None)
    if context is not None:
        context.observability.report_api_error(request.method, request.url.path, exc)
    return JSONResponse(
        error_body([], "Internal error; see the mobu log", "internal_error"), status_code=500
    )


def install_error_handlers(app: FastAPI) -> None:
    """Render every error of ``app`` in the one error shape."""
    app.add_exception_handler(MobuError, _mobu_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)
