"""TAPQueryRunner and the TAP base against a real DaCHS server (sync and async)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from structlog.testing import CapturingLogger
from structlog.typing import FilteringBoundLogger

from mobu.discovery import Discovery
from mobu.events import Events
from mobu.models.user import AuthenticatedUser
from mobu.platform.dachs import DachsServer
from mobu.services.business.tap import TAPClientError, TapQuery, TAPQueryError
from mobu.services.business.tapqueryrunner import TAPQueryRunner, TAPQueryRunnerOptions

from .conftest import SLOW_QUERY, HungTap, logged, make_discovery, needs_dachs

pytestmark = [pytest.mark.dachs, needs_dachs]

STOP_GRACE = 10.0
"""The stop grace the tests allow (the service default is 30 s)."""


def runner(
    discovery: Discovery,
    events: Events,
    logger: FilteringBoundLogger,
    user: AuthenticatedUser,
    **options: Any,
) -> TAPQueryRunner:
    options.setdefault("dataset", "demo")
    return TAPQueryRunner(
        options=TAPQueryRunnerOptions(**options),
        user=user,
        events=events,
        logger=logger,
        flock="ivoa",
        discovery=discovery,
    )


def tap_events(events: Events) -> list[TapQuery]:
    assert events.recorder is not None
    published = events.recorder.published("tap_query")
    assert all(isinstance(e, TapQuery) for e in published)
    return published  # type: ignore[return-value]


@pytest.mark.parametrize("sync", [True, False])
async def test_query_succeeds_and_publishes(
    dachs: DachsServer,
    discovery: Discovery,
    events: Events,
    logger: FilteringBoundLogger,
    capture: CapturingLogger,
    user: AuthenticatedUser,
    sync: bool,
) -> None:
    """A sync or async query runs, publishes tap_query and leaves no job on the server."""
    jobs_before = set(dachs.async_jobs())
    query = "SELECT TOP 20 object_id, ra, dec, mag FROM synth.main ORDER BY mag"
    business = runner(discovery, events, logger, user, queries=[query], sync=sync)
    await business.run_once()

    [event] = tap_events(events)
    assert event.success is True
    assert event.sync is sync
    assert event.duration is not None
    assert event.duration > timedelta(0)
    assert event.username == user.username
    assert event.flock == "ivoa"
    [started] = logged(capture, "Running query")
    assert started["mode"] == ("sync" if sync else "async")
    assert started["query"].startswith(f"-- mobu query_id={started['query_id']}")
    [finished] = logged(capture, "Query finished")
    assert finished["rows"] == 20
    assert finished["query_id"] == started["query_id"]
    assert business.dump().model_dump()["running_query"] is None
    assert set(dachs.async_jobs()) <= jobs_before  # no job of ours is left


@pytest.mark.parametrize("sync", [True, False])
async def test_bad_adql_reports_server_message(
    dachs: DachsServer,
    discovery: Discovery,
    events: Events,
    logger: FilteringBoundLogger,
    capture: CapturingLogger,
    user: AuthenticatedUser,
    sync: bool,
) -> None:
    """A query DaCHS rejects fails with DaCHS's message in the exception and in the log."""
    jobs_before = set(dachs.async_jobs())
    query = "SELECT no_such_column FROM synth.main"
    business = runner(discovery, events, logger, user, queries=[query], sync=sync)
    with pytest.raises(TAPQueryError) as excinfo:
        await business.run_once()

    message = str(excinfo.value)
    assert "no_such_column" in message
    assert excinfo.value.context["query"].endswith(query)
    assert excinfo.value.context["dataset"] == "demo"
    assert excinfo.value.context["query_id"].startswith("mobu-")
    [failed] = logged(capture, "Query failed")
    assert "no_such_column" in failed["error"]
    [event] = tap_events(events)
    assert event.success is False
    assert set(dachs.async_jobs()) <= jobs_before  # no job of ours is left


async def test_async_timeout_aborts_and_deletes_job(
    dachs: DachsServer,
    discovery: Discovery,
    events: Events,
    logger: FilteringBoundLogger,
    capture: CapturingLogger,
    user: AuthenticatedUser,
) -> None:
    """An async query running past query_timeout fails; its job is aborted and deleted."""
    jobs_before = set(dachs.async_jobs())
    business = runner(
        discovery, events, logger, user, queries=[SLOW_QUERY], sync=False, query_timeout=3
    )
    with pytest.raises(TAPQueryError, match="timed out after 3 s"):
        await business.run_once()

    [deleted] = logged(capture, "Deleted async job")
    job_id = deleted["job"].rstrip("/").rsplit("/", 1)[-1]
    jobs_after = set(dachs.async_jobs())
    assert job_id not in jobs_after
    assert jobs_after <= jobs_before
    [event] = tap_events(events)
    assert event.success is False
    assert event.sync is False


async def test_server_down_fails(
    discovery: Discovery,
    events: Events,
    logger: FilteringBoundLogger,
    user: AuthenticatedUser,
) -> None:
    """A TAP server that is not listening gives a failure naming the problem, not a hang."""
    business = runner(discovery, events, logger, user, queries=["SELECT 1"], dataset="down")
    with pytest.raises((TAPClientError, TAPQueryError), match="Connection refused") as excinfo:
        await business.run_once()
    assert excinfo.value.context["dataset"] == "down"
    if isinstance(excinfo.value, TAPQueryError):
        [event] = tap_events(events)
        assert event.success is False


async def test_missing_dataset_is_startup_failure(
    discovery: Discovery,
    events: Events,
    logger: FilteringBoundLogger,
    user: AuthenticatedUser,
) -> None:
    """A dataset absent from discovery fails the startup with a message naming it."""
    business = runner(discovery, events, logger, user, queries=["SELECT 1"], dataset="dp99")
    with pytest.raises(TAPClientError, match=r"'dp99' is not in discovery\.datasets"):
        await business.run_once()


async def test_hung_query_times_out(
    dachs: DachsServer,
    hung_tap: HungTap,
    events: Events,
    logger: FilteringBoundLogger,
    user: AuthenticatedUser,
) -> None:
    """A sync query to a server that never answers fails after query_timeout."""
    discovery = make_discovery(dachs, hung_tap)
    business = runner(
        discovery, events, logger, user, queries=["SELECT 1"], dataset="hung", query_timeout=1
    )
    with pytest.raises(TAPQueryError, match="timed out after 1 s"):
        await business.run_once()
    assert hung_tap.hung.is_set()
    [event] = tap_events(events)
    assert event.success is False


@pytest.mark.parametrize("sync", [True, False])
async def test_stop_during_hung_query(
    dachs: DachsServer,
    hung_tap: HungTap,
    events: Events,
    logger: FilteringBoundLogger,
    user: AuthenticatedUser,
    sync: bool,
) -> None:
    """A stop while a query hangs ends the business within the stop grace."""
    discovery = make_discovery(dachs, hung_tap)
    business = runner(
        discovery, events, logger, user, queries=["SELECT 1"], dataset="hung", sync=sync
    )
    task = asyncio.create_task(business.run())
    await asyncio.wait_for(hung_tap.hung.wait(), timeout=60)
    assert business.dump().model_dump()["running_query"].endswith("SELECT 1")
    await asyncio.wait_for(business.stop(), timeout=STOP_GRACE)
    await asyncio.wait_for(task, timeout=STOP_GRACE)
    assert business.failure_count == 0
    assert tap_events(events) == []


async def test_token_is_sent_as_bearer(
    dachs: DachsServer,
    hung_tap: HungTap,
    events: Events,
    logger: FilteringBoundLogger,
) -> None:
    """The monkey's token goes to the TAP service as a bearer token."""
    discovery = make_discovery(dachs, hung_tap)
    user = AuthenticatedUser(username="bot-mobu-token", token="tok-123")
    business = runner(
        discovery, events, logger, user, queries=["SELECT 1"], dataset="hung", query_timeout=1
    )
    with pytest.raises(TAPQueryError):
        await business.run_once()
    assert hung_tap.requests
    for _, _, headers in hung_tap.requests:
        assert headers.get("Authorization") == "Bearer tok-123"


async def test_query_comment_can_be_turned_off(
    discovery: Discovery,
    events: Events,
    logger: FilteringBoundLogger,
    capture: CapturingLogger,
    user: AuthenticatedUser,
) -> None:
    """With query_comment off the query is sent as written."""
    query = "SELECT TOP 1 object_id FROM synth.main"
    business = runner(discovery, events, logger, user, queries=[query], query_comment=False)
    await business.run_once()
    [started] = logged(capture, "Running query")
    assert started["query"] == query
