"""Routes of the dashboard, ``{prefix}/ui``: pages, their live fragments, actions, static files.

The pages need no authentication behind ``auth.mode: tokens`` (a browser cannot send the
token with a navigation): they then hold no data, and ask for the token, which their script
sends as a header with every fragment, chart and action request. In the other modes the
pages are authenticated like the API and render their data at once, so they show it even
without the front-end assets. Fragments and actions are always authenticated; actions also
pass :func:`mobu.ui.check_same_origin` (CSRF). The views are built by :mod:`mobu.ui.views`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.routing import APIRoute

from mobu.dependencies.auth import AnonymousRoute
from mobu.dependencies.context import context_dependency, group_dependency
from mobu.exceptions import ClientRequestError
from mobu.factory import ProcessContext
from mobu.history import HistoryReader
from mobu.replicas.merged import GroupView
from mobu.ui import Assets, FlockActions, check_same_origin, render
from mobu.ui.group import group_overview_rows, group_status
from mobu.ui.views import FlockStatus, OverviewRow, failure_log, flock_status, overview_rows

__all__ = ["routers"]

FLOCK_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
ACTION_PATTERN = r"^(start|stop|refresh)$"
_NO_STORE = {"Cache-Control": "no-store"}


class UnknownAssetError(ClientRequestError):
    """A static file the dashboard does not have."""

    error = "not_found"
    status_code = 404


def _prefix(context: ProcessContext) -> str:
    return context.config.path_prefix.rstrip("/")


def _reader(context: ProcessContext) -> HistoryReader | None:
    return None if context.history is None else HistoryReader(context.history)


def _actions(context: ProcessContext, group: GroupView | None) -> FlockActions:
    shared = None if group is None else group.group
    return FlockActions(context.manager, context.config.autostart, shared)


async def _rows(context: ProcessContext, group: GroupView | None) -> list[OverviewRow]:
    """The overview's rows: this process's flocks, or a replica group's over every replica."""
    if group is not None:
        return await group_overview_rows(_reader(context), group)
    return await overview_rows(_reader(context), context.manager.summarize_flocks())


async def _status(context: ProcessContext, group: GroupView | None, flock: str) -> FlockStatus:
    """The live part of a flock page (a replica group: over every replica)."""
    can_start = _actions(context, group).can_start(flock)
    if group is not None:
        return await group_status(group, flock, _prefix(context), can_start=can_start)
    return flock_status(context.manager, flock, _prefix(context), can_start=can_start)


def _page(context: ProcessContext, template: str, **values: Any) -> HTMLResponse:
    prefix = _prefix(context)
    html = render(
        template,
        prefix=prefix,
        static=f"{prefix}/ui/static",
        auth_mode=context.config.auth.mode,
        missing=Assets.find().missing,
        history=context.history is not None,
        **values,
    )
    return HTMLResponse(html, headers=_NO_STORE)


def _fragment(context: ProcessContext, template: str, **values: Any) -> HTMLResponse:
    html = render(template, prefix=_prefix(context), **values)
    return HTMLResponse(html, headers=_NO_STORE)


def _with_data(context: ProcessContext) -> bool:
    """Whether a page renders its data (not behind tokens: its request was not authenticated)."""
    return context.config.auth.mode != "tokens"


async def overview_page(
    context: ProcessContext = Depends(context_dependency),
    group: GroupView | None = Depends(group_dependency),
) -> Response:
    rows = None
    if _with_data(context):
        rows = await _rows(context, group)
    return _page(context, "overview.html.j2", rows=rows)


async def flock_page(
    flock: str = Path(..., pattern=FLOCK_PATTERN),
    context: ProcessContext = Depends(context_dependency),
    group: GroupView | None = Depends(group_dependency),
) -> Response:
    status = failures = None
    if _with_data(context):
        status = await _status(context, group, flock)
        failures = await failure_log(_reader(context), flock)
    return _page(context, "flock.html.j2", flock=flock, status=status, failures=failures)


async def static_file(name: str) -> Response:
    found = Assets.find().path(name)
    if found is None:
        raise UnknownAssetError(f"No such dashboard file: {name}", ("path", "name"))
    path, media_type = found
    return FileResponse(path, media_type=media_type, headers={"Cache-Control": "max-age=3600"})


async def overview_fragment(
    context: ProcessContext = Depends(context_dependency),
    group: GroupView | None = Depends(group_dependency),
) -> Response:
    rows = await _rows(context, group)
    return _fragment(context, "_overview_rows.html.j2", rows=rows)


async def status_fragment(
    flock: str = Path(..., pattern=FLOCK_PATTERN),
    context: ProcessContext = Depends(context_dependency),
    group: GroupView | None = Depends(group_dependency),
) -> Response:
    status = await _status(context, group, flock)
    return _fragment(context, "_flock_status.html.j2", status=status)


async def failures_fragment(
    flock: str = Path(..., pattern=FLOCK_PATTERN),
    context: ProcessContext = Depends(context_dependency),
) -> Response:
    failures = await failure_log(_reader(context), flock)
    return _fragment(context, "_failures.html.j2", failures=failures)


async def flock_action(
    request: Request,
    flock: str = Path(..., pattern=FLOCK_PATTERN),
    action: str = Path(..., pattern=ACTION_PATTERN),
    context: ProcessContext = Depends(context_dependency),
    group: GroupView | None = Depends(group_dependency),
) -> Response:
    check_same_origin(request.headers, request.headers.get("host", ""))
    actions = _actions(context, group)
    if action == "stop":
        message = await actions.stop(flock)
    elif action == "start":
        message = await actions.start(flock)
    else:
        message = await actions.refresh(flock)
    response = _fragment(context, "_message.html.j2", message=message)
    response.headers["HX-Trigger"] = "mobu:refresh"
    return response


def routers(auth_mode: str) -> list[APIRouter]:
    """The dashboard's routers (mount under the API's prefix; the last one with its auth).

    Behind ``tokens`` the pages are anonymous (they hold no data); the static files always are.
    """
    page_class: type[APIRoute] = AnonymousRoute if auth_mode == "tokens" else APIRoute
    pages = APIRouter(route_class=page_class, include_in_schema=False)
    pages.add_api_route("/ui", overview_page, methods=["GET"])
    pages.add_api_route("/ui/flocks/{flock}", flock_page, methods=["GET"])
    static = APIRouter(route_class=AnonymousRoute, include_in_schema=False)
    static.add_api_route("/ui/static/{name}", static_file, methods=["GET"])
    live = APIRouter(include_in_schema=False)
    live.add_api_route("/ui/fragments/overview", overview_fragment, methods=["GET"])
    live.add_api_route("/ui/fragments/flocks/{flock}", status_fragment, methods=["GET"])
    live.add_api_route("/ui/fragments/flocks/{flock}/failures", failures_fragment, methods=["GET"])
    live.add_api_route("/ui/flocks/{flock}/{action}", flock_action, methods=["POST"])
    return [pages, static, live]
