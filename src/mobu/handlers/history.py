"""Routes of the history: per-flock buckets, uptime, the failure log, the overview, status."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from fastapi import APIRouter, Depends, Path, Query, Response

from mobu.dependencies.context import context_dependency
from mobu.factory import ProcessContext
from mobu.handlers.responses import PrettyJSONResponse, pretty
from mobu.history import HistoryReader
from mobu.history.errors import HistoryDisabledError, InvalidHistoryQueryError
from mobu.models.api import ErrorResponse
from mobu.models.history import (
    FailureEntry,
    FlockHistory,
    FlockUptime,
    HistoryOverview,
    HistoryStatus,
)
from mobu.models.timedelta import parse_timedelta

__all__ = ["router"]

router = APIRouter()

FLOCK_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
MAX_BUCKETS = 5000
"""Most buckets one history answer holds."""
MAX_RANGE = 400 * 86_400
"""Longest time range of a query (seconds)."""
DEFAULT_STEPS = (60, 300, 900, 3600, 6 * 3600, 86_400)
"""Steps chosen, smallest first, when none is given (at most 360 buckets if possible)."""
_NUMBER = re.compile(r"^\d+(\.\d+)?$")

ERRORS: dict[int | str, dict[str, object]] = {
    404: {"model": ErrorResponse, "description": "History is not kept"},
    422: {"model": ErrorResponse, "description": "Invalid query parameter"},
    503: {"model": ErrorResponse, "description": "The history store cannot be read"},
}


def reader_dependency(context: ProcessContext = Depends(context_dependency)) -> HistoryReader:
    """The history reader of the process (404 when history is disabled)."""
    if context.history is None:
        raise HistoryDisabledError
    return HistoryReader(context.history)


def parse_time(value: str | None, parameter: str, now: float, default: float) -> float:
    """Epoch seconds of ``value``: ISO 8601, epoch seconds, or a duration ago (``24h``)."""
    if value is None or not value.strip():
        return default
    text = value.strip()
    if _NUMBER.match(text):
        return float(text)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        pass
    else:
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()
    try:
        return now - parse_timedelta(text).total_seconds()
    except ValueError:
        raise InvalidHistoryQueryError(
            parameter, "expected an ISO 8601 time, epoch seconds or a duration ago such as 24h"
        ) from None


def parse_step(value: str | None, since: float, until: float) -> int:
    """Bucket length in seconds: a whole number of minutes, at most MAX_BUCKETS buckets."""
    span = until - since
    if value is None or not value.strip():
        for step in DEFAULT_STEPS:
            if span / step <= 360:
                return step
        return DEFAULT_STEPS[-1]
    try:
        seconds = parse_timedelta(value.strip()).total_seconds()
    except ValueError:
        raise InvalidHistoryQueryError("step", "expected a duration such as 5m or 1h") from None
    if seconds < 60 or seconds % 60:
        raise InvalidHistoryQueryError("step", "must be a whole number of minutes")
    if span / seconds > MAX_BUCKETS:
        raise InvalidHistoryQueryError("step", f"too small: more than {MAX_BUCKETS} buckets")
    return int(seconds)


def time_range(since: str | None, until: str | None, now: float) -> tuple[float, float]:
    """The [since, until) range of a query (default: the last 24 hours)."""
    end = parse_time(until, "until", now, now)
    start = parse_time(since, "since", now, end - 86_400)
    if start >= end:
        raise InvalidHistoryQueryError("since", "must be before until")
    if end - start > MAX_RANGE:
        raise InvalidHistoryQueryError("since", "the range may be at most 400 days")
    return start, end


@router.get(
    "/flocks/{flock}/history",
    response_model=FlockHistory,
    response_class=PrettyJSONResponse,
    summary="History of a flock: time buckets with counts, failures and percentiles",
    responses=ERRORS,
)
async def get_flock_history(
    flock: str = Path(..., pattern=FLOCK_PATTERN),
    since: str | None = Query(None, description="ISO 8601, epoch seconds or ago (24h)"),
    until: str | None = Query(None, description="ISO 8601, epoch seconds or ago; default now"),
    step: str | None = Query(None, description="Bucket length (5m, 1h); default from the range"),
    reader: HistoryReader = Depends(reader_dependency),
) -> Response:
    start, end = time_range(since, until, reader.history.clock())
    seconds = parse_step(step, start, end)
    return pretty(await reader.flock_history(flock, start, end, seconds))


@router.get(
    "/flocks/{flock}/uptime",
    response_model=FlockUptime,
    response_class=PrettyJSONResponse,
    summary="Uptime of a flock: success ratio over 1 h, 24 h, 7 d, 30 d; longest outage",
    responses=ERRORS,
)
async def get_flock_uptime(
    flock: str = Path(..., pattern=FLOCK_PATTERN),
    reader: HistoryReader = Depends(reader_dependency),
) -> Response:
    return pretty(await reader.uptime(flock))


@router.get(
    "/failures",
    response_model=list[FailureEntry],
    response_class=PrettyJSONResponse,
    summary="The failure log, newest first",
    responses=ERRORS,
)
async def get_failures(
    flock: str | None = Query(None, pattern=FLOCK_PATTERN, description="Only this flock"),
    since: str | None = Query(None, description="ISO 8601, epoch seconds or ago; default 30d"),
    limit: int = Query(100, ge=1, le=1000, description="Most entries returned"),
    reader: HistoryReader = Depends(reader_dependency),
) -> Response:
    now = reader.history.clock()
    start = parse_time(since, "since", now, now - 30 * 86_400)
    return pretty(await reader.failures(flock, start, limit))


@router.get(
    "/history/overview",
    response_model=HistoryOverview,
    response_class=PrettyJSONResponse,
    summary="Every flock with its recent figures, for the dashboard",
    responses=ERRORS,
)
async def get_overview(
    context: ProcessContext = Depends(context_dependency),
    reader: HistoryReader = Depends(reader_dependency),
) -> Response:
    return pretty(await reader.overview(context.manager.summarize_flocks()))


@router.get(
    "/history/status",
    response_model=HistoryStatus,
    response_class=PrettyJSONResponse,
    summary="The history store and its writer: written, queued and dropped",
)
async def get_history_status(context: ProcessContext = Depends(context_dependency)) -> Response:
    if context.history is None:
        return pretty(HistoryStatus(enabled=False))
    return pretty(context.history.status())
