"""TAPQuerySetRunner and SIAQuerySetRunner against the real DaCHS server."""

from __future__ import annotations

import asyncio
import random
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest
import pyvo
from structlog.testing import CapturingLogger
from structlog.typing import FilteringBoundLogger

from mobu.discovery import Discovery
from mobu.events import Events
from mobu.models.user import AuthenticatedUser
from mobu.platform.dachs import DachsServer
from mobu.services.business.querysets import SHIPPED_ONLY, QuerySetLocator
from mobu.services.business.siaquerysetrunner import (
    SIAClientError,
    SIAQuery,
    SIAQueryError,
    SIAQuerySetRunner,
    SIAQuerySetRunnerOptions,
)
from mobu.services.business.tap import TAPClientError, TapQuery
from mobu.services.business.tapquerysetrunner import (
    QuerySet,
    TAPQuerySetRunner,
    TAPQuerySetRunnerOptions,
    resolve_query_set,
)

from .conftest import HungTap, logged, make_discovery, needs_dachs

pytestmark = [pytest.mark.dachs, needs_dachs]

STOP_GRACE = 10.0


def queryset_runner(
    discovery: Discovery,
    events: Events,
    logger: FilteringBoundLogger,
    user: AuthenticatedUser,
    query_sets: QuerySetLocator = SHIPPED_ONLY,
    **options: Any,
) -> TAPQuerySetRunner:
    options.setdefault("dataset", "demo")
    return TAPQuerySetRunner(
        options=TAPQuerySetRunnerOptions(**options),
        user=user,
        events=events,
        logger=logger,
        flock=None,
        discovery=discovery,
        query_sets=query_sets,
    )


def sia_runner(
    discovery: Discovery,
    events: Events,
    logger: FilteringBoundLogger,
    user: AuthenticatedUser,
    query_sets: QuerySetLocator = SHIPPED_ONLY,
    **options: Any,
) -> SIAQuerySetRunner:
    options.setdefault("dataset", "demo")
    return SIAQuerySetRunner(
        options=SIAQuerySetRunnerOptions(**options),
        user=user,
        events=events,
        logger=logger,
        flock=None,
        discovery=discovery,
        query_sets=query_sets,
    )


def test_every_demo_template_runs(dachs: DachsServer) -> None:
    """Each template of the shipped demo set, rendered with random parameters, is valid ADQL."""
    query_set = QuerySet(resolve_query_set("demo"))
    rng = random.Random(7)
    for name in query_set.templates:
        params = query_set.params.generate(rng)
        params.update(username="bot-mobu-test", query_id=f"mobu-test-{name}")
        csv = dachs.sync_query(query_set.render(name, params))
        assert "query_id" in csv.splitlines()[0], name
        assert f"mobu-test-{name}" in csv or csv.count("\n") == 1, name


@pytest.mark.parametrize("sync", [True, False])
async def test_queryset_runner(
    discovery: Discovery,
    events: Events,
    logger: FilteringBoundLogger,
    capture: CapturingLogger,
    user: AuthenticatedUser,
    sync: bool,
) -> None:
    """The runner renders a random template, runs it and names it in the log and query."""
    business = queryset_runner(discovery, events, logger, user, sync=sync)
    await business.run_once()
    assert events.recorder is not None
    [event] = events.recorder.published("tap_query")
    assert isinstance(event, TapQuery)
    assert event.success is True
    [loaded] = logged(capture, "Loaded query set")
    assert "cone" in loaded["templates"]
    [started] = logged(capture, "Running query")
    assert started["template"] in loaded["templates"]
    assert f"template={started['template']}" in started["query"].splitlines()[0]
    assert started["query_id"] in started["query"].split("\n", 1)[1]


async def test_own_query_set_directory(
    tmp_path: Path,
    discovery: Discovery,
    events: Events,
    logger: FilteringBoundLogger,
    capture: CapturingLogger,
    user: AuthenticatedUser,
) -> None:
    """query_set may name a set of one's own under a configured query_set_dirs directory."""
    (tmp_path / "own").mkdir()
    shutil.copy(resolve_query_set("demo") / "params.yaml", tmp_path / "own" / "params.yaml")
    (tmp_path / "own" / "mine.sql").write_text(
        "SELECT COUNT(*) AS n, '{{ username }}' AS who FROM synth.main WHERE mag < {{ max_mag }}"
    )
    locator = QuerySetLocator.from_dirs([tmp_path])
    business = queryset_runner(discovery, events, logger, user, locator, query_set="own")
    await business.run_once()
    [started] = logged(capture, "Running query")
    assert started["template"] == "mine"
    assert user.username in started["query"]


async def test_undefined_template_variable_fails_startup(
    tmp_path: Path,
    discovery: Discovery,
    events: Events,
    logger: FilteringBoundLogger,
    user: AuthenticatedUser,
) -> None:
    """A template using an undefined variable fails at startup (strict undefined)."""
    (tmp_path / "set").mkdir()
    (tmp_path / "set" / "params.yaml").write_text("min_ra: 50\n")
    (tmp_path / "set" / "bad.sql").write_text(
        "SELECT * FROM synth.main WHERE object_id = {{ object }}"
    )
    locator = QuerySetLocator.from_dirs([tmp_path])
    business = queryset_runner(discovery, events, logger, user, locator, query_set="set")
    with pytest.raises(TAPClientError, match="'object' is undefined"):
        await business.run_once()


async def test_sia_runner(
    discovery: Discovery,
    events: Events,
    logger: FilteringBoundLogger,
    capture: CapturingLogger,
    user: AuthenticatedUser,
) -> None:
    """A random SIA v2 search of the demo set runs and publishes sia_query."""
    business = sia_runner(discovery, events, logger, user)
    await business.run_once()
    assert events.recorder is not None
    [event] = events.recorder.published("sia_query")
    assert isinstance(event, SIAQuery)
    assert event.success is True
    assert event.duration is not None
    [started] = logged(capture, "Running SIA query")
    ra, dec, _ = started["pos"]
    assert 53 <= ra <= 67
    assert -39 <= dec <= -31
    assert business.dump().model_dump()["running_query"] is None


async def test_sia_finds_image(
    tmp_path: Path,
    discovery: Discovery,
    events: Events,
    logger: FilteringBoundLogger,
    capture: CapturingLogger,
    user: AuthenticatedUser,
) -> None:
    """A search around a synthetic image within its observation time finds it."""
    (tmp_path / "image.yaml").write_text(
        "min_ra: 60.0\nmax_ra: 60.0\nmin_dec: -35.0\nmax_dec: -35.0\n"
        "min_radius: 0.1\nradius_range: 0.0\nstart_time: 60310.0\nend_time: 60320.0\n"
    )
    locator = QuerySetLocator.from_dirs([tmp_path])
    business = sia_runner(discovery, events, logger, user, locator, query_set="image.yaml")
    await business.run_once()
    [finished] = logged(capture, "SIA query finished")
    assert finished["rows"] >= 1


async def test_sia_missing_service(
    discovery: Discovery,
    events: Events,
    logger: FilteringBoundLogger,
    user: AuthenticatedUser,
) -> None:
    """A dataset without an SIA service is a startup failure naming it."""
    business = sia_runner(discovery, events, logger, user, dataset="down")
    with pytest.raises(SIAClientError, match="'down' has no sia service"):
        await business.run_once()


async def test_sia_hung_server_times_out_and_stops(
    dachs: DachsServer,
    hung_tap: HungTap,
    events: Events,
    logger: FilteringBoundLogger,
    user: AuthenticatedUser,
) -> None:
    """An SIA server that never answers gives a timeout failure, and a stop ends a hung search."""
    discovery = make_discovery(dachs, hung_tap)
    business = sia_runner(discovery, events, logger, user, dataset="hung", query_timeout=1)
    with pytest.raises(SIAQueryError, match="timed out after 1 s"):
        await business.run_once()
    assert events.recorder is not None
    [event] = events.recorder.published("sia_query")
    assert isinstance(event, SIAQuery)
    assert event.success is False

    business = sia_runner(discovery, events, logger, user, dataset="hung")
    task = asyncio.create_task(business.run())
    await asyncio.wait_for(hung_tap.hung.wait(), timeout=60)
    await asyncio.wait_for(business.stop(), timeout=STOP_GRACE)
    await asyncio.wait_for(task, timeout=STOP_GRACE)
    assert business.failure_count == 0


def test_sia_images_download(dachs: DachsServer) -> None:
    """The images the SIA service finds can be downloaded from their access URLs."""
    results = pyvo.dal.SIA2Service(dachs.sia_url).search(pos=(60.0, -35.0, 0.5))
    urls = [str(url) for url in results.to_table()["access_url"]]
    assert urls
    assert all(url.startswith(dachs.url) for url in urls)
    assert httpx.get(urls[0], timeout=30).content.startswith(b"SIMPLE  =")
