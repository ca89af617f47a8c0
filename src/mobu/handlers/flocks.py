"""Routes for flocks and their monkeys: ``{prefix}/flocks...``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from mobu.dependencies.context import group_dependency, manager_dependency
from mobu.exceptions import NotRetainingLogsError
from mobu.handlers.responses import INVALID, NOT_FOUND, PrettyJSONResponse, pretty
from mobu.models.flock import MAX_MONKEYS, FlockConfig, FlockData, FlockSummary
from mobu.models.monkey import MonkeyData
from mobu.models.replicas import ReplicaFlockRow
from mobu.replicas.merged import GroupView
from mobu.services.manager import FlockManager
from mobu.storage.monkeylog import MonkeyLog

__all__ = ["FlockResize", "router"]


router = APIRouter()


class FlockResize(BaseModel):
    """A new monkey count for a running flock."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    count: int = Field(
        ..., strict=True, ge=1, le=MAX_MONKEYS, description="Monkeys across all replicas"
    )


@router.get(
    "/flocks",
    response_model=list[str],
    response_class=PrettyJSONResponse,
    summary="List running flocks",
)
async def list_flocks(
    manager: FlockManager = Depends(manager_dependency),
    group: GroupView | None = Depends(group_dependency),
) -> Response:
    if group is not None:
        return pretty(await group.list_flocks())
    return pretty(manager.list_flocks())


@router.put(
    "/flocks",
    response_model=FlockData,
    response_class=PrettyJSONResponse,
    status_code=201,
    summary="Start a flock (replacing one of the same name)",
    responses=INVALID,
)
async def put_flock(
    config: FlockConfig,
    request: Request,
    manager: FlockManager = Depends(manager_dependency),
    group: GroupView | None = Depends(group_dependency),
) -> Response:
    if group is not None:
        flock = await group.group.put(config)
    else:
        flock = await manager.start_flock(config)
    location = str(request.url_for("get_flock", flock=flock.name))
    return pretty(flock.dump(), status_code=201, exclude_unset=True, headers={"Location": location})


@router.get(
    "/flocks/{flock}",
    response_model=FlockData,
    response_class=PrettyJSONResponse,
    summary="Status of a flock and its monkeys",
    responses=NOT_FOUND,
)
async def get_flock(
    flock: str,
    manager: FlockManager = Depends(manager_dependency),
    group: GroupView | None = Depends(group_dependency),
) -> Response:
    if group is not None:
        return pretty(await group.flock(flock), exclude_unset=True)
    return pretty(manager.get_flock(flock).dump(), exclude_unset=True)


@router.delete(
    "/flocks/{flock}",
    status_code=204,
    summary="Stop a flock (returns once all monkeys stopped)",
    responses=NOT_FOUND,
)
async def delete_flock(
    flock: str,
    manager: FlockManager = Depends(manager_dependency),
    group: GroupView | None = Depends(group_dependency),
) -> Response:
    if group is not None:
        await group.group.delete(flock)
    else:
        await manager.stop_flock(flock)
    return Response(status_code=204)


@router.patch(
    "/flocks/{flock}",
    response_model=FlockSummary,
    response_class=PrettyJSONResponse,
    summary="Grow or shrink a running flock (returns once resized; survivors keep running)",
    responses={**NOT_FOUND, **INVALID},
)
async def patch_flock(
    flock: str,
    resize: FlockResize,
    manager: FlockManager = Depends(manager_dependency),
    group: GroupView | None = Depends(group_dependency),
) -> Response:
    if group is not None:
        resized = await group.group.resize(flock, resize.count)
        return pretty(await group.summary(resized.name))
    resized = await manager.resize_flock(flock, resize.count)
    return pretty(resized.summary())


@router.post(
    "/flocks/{flock}/refresh",
    status_code=202,
    summary="Ask a flock's monkeys to refresh",
    responses=NOT_FOUND,
)
async def refresh_flock(
    flock: str,
    manager: FlockManager = Depends(manager_dependency),
    group: GroupView | None = Depends(group_dependency),
) -> Response:
    if group is not None:
        await group.group.refresh(flock)
    else:
        manager.refresh_flock(flock)
    return Response(status_code=202)


@router.get(
    "/flocks/{flock}/monkeys",
    response_model=list[str],
    response_class=PrettyJSONResponse,
    summary="Names of a flock's monkeys",
    responses=NOT_FOUND,
)
async def list_monkeys(
    flock: str,
    manager: FlockManager = Depends(manager_dependency),
    group: GroupView | None = Depends(group_dependency),
) -> Response:
    if group is not None:
        return pretty(await group.monkeys(flock))
    return pretty(manager.get_flock(flock).list_monkeys())


@router.get(
    "/flocks/{flock}/monkeys/{monkey}",
    response_model=MonkeyData,
    response_class=PrettyJSONResponse,
    summary="Status of one monkey",
    responses=NOT_FOUND,
)
async def get_monkey(
    flock: str,
    monkey: str,
    request: Request,
    manager: FlockManager = Depends(manager_dependency),
    group: GroupView | None = Depends(group_dependency),
) -> Response:
    home = None if group is None else await group.home(flock, monkey)
    if group is not None and home is not None:
        async with group.forward(
            home, f"/flocks/{flock}/monkeys/{monkey}", dict(request.headers)
        ) as r:
            body = await r.aread()
        return Response(body, status_code=r.status_code, media_type=r.headers.get("content-type"))
    return pretty(manager.get_flock(flock).get_monkey(monkey).dump())


@router.get(
    "/flocks/{flock}/monkeys/{monkey}/log",
    response_class=StreamingResponse,
    summary="Log of one monkey (a text/plain attachment)",
    responses={
        200: {"content": {"text/plain": {"schema": {"type": "string"}}}},
        **NOT_FOUND,
    },
)
async def get_monkey_log(
    flock: str,
    monkey: str,
    request: Request,
    manager: FlockManager = Depends(manager_dependency),
    group: GroupView | None = Depends(group_dependency),
) -> Response:
    home = None if group is None else await group.home(flock, monkey)
    if group is not None and home is not None:
        path = f"/flocks/{flock}/monkeys/{monkey}/log"
        async with group.forward(home, path, dict(request.headers)) as r:
            body = await r.aread()
        kept = {k: v for k, v in r.headers.items() if k.lower() == "content-disposition"}
        return Response(
            body, status_code=r.status_code, media_type=r.headers.get("content-type"), headers=kept
        )
    log = manager.get_flock(flock).get_monkey(monkey).log
    if log is None:
        raise NotRetainingLogsError
    stamp = datetime.now(tz=UTC).strftime("%Y%m%dT%H%M%SZ")
    filename = f"{flock}-{monkey}-{stamp}"
    return StreamingResponse(
        _stream(log),
        media_type="text/plain; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


async def _stream(log: MonkeyLog) -> AsyncIterator[str]:
    """Yield the log in chunks, letting other tasks run between them (the log keeps growing)."""
    for chunk in log.iter_chunks():
        yield chunk
        await asyncio.sleep(0)


@router.get(
    "/flocks/{flock}/summary",
    response_model=FlockSummary,
    response_class=PrettyJSONResponse,
    summary="Counters of a flock (cheap; also shows start progress)",
    responses=NOT_FOUND,
)
async def get_flock_summary(
    flock: str,
    manager: FlockManager = Depends(manager_dependency),
    group: GroupView | None = Depends(group_dependency),
    by: str | None = Query(
        None, pattern="^replica$", description="replica: one row per replica (replica groups)"
    ),
) -> Response:
    if group is not None:
        if by == "replica":
            rows: list[ReplicaFlockRow] = await group.rows(flock)
            return pretty(rows)
        return pretty(await group.summary(flock))
    return pretty(manager.get_flock(flock).summary())
