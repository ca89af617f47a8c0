"""The TAP and SIA runners acknowledge a stop at once while the DaCHS query hangs."""

from __future__ import annotations

import pytest
from structlog.typing import FilteringBoundLogger

from mobu.events import Events
from mobu.models.user import AuthenticatedUser
from mobu.platform.dachs import DachsServer
from mobu.services.business.siaquerysetrunner import SIAQuerySetRunner, SIAQuerySetRunnerOptions
from mobu.services.business.tapqueryrunner import TAPQueryRunner, TAPQueryRunnerOptions
from mobu.services.business.tapquerysetrunner import TAPQuerySetRunner, TAPQuerySetRunnerOptions
from tests.support.stopping import assert_stops_by_itself

from .conftest import HungTap, make_discovery, needs_dachs

pytestmark = [pytest.mark.dachs, needs_dachs]

USER = AuthenticatedUser(username="bot-mobu-ivoa-stop")


@pytest.mark.parametrize("sync", [True, False])
async def test_tap_query_runner_stops_during_hung_query(
    dachs: DachsServer, hung_tap: HungTap, logger: FilteringBoundLogger, sync: bool
) -> None:
    """A stop while a TAP query (sync or async job) hangs ends TAPQueryRunner by itself."""
    business = TAPQueryRunner(
        options=TAPQueryRunnerOptions(
            dataset="hung", queries=["SELECT 1"], sync=sync, query_timeout="1h"
        ),
        user=USER,
        events=Events(),
        logger=logger,
        flock="ivoa",
        discovery=make_discovery(dachs, hung_tap),
    )
    await assert_stops_by_itself(business, hung_tap.hung.wait)


async def test_tap_query_set_runner_stops_during_hung_query(
    dachs: DachsServer, hung_tap: HungTap, logger: FilteringBoundLogger
) -> None:
    """A stop while a query of the query set hangs ends TAPQuerySetRunner by itself."""
    business = TAPQuerySetRunner(
        options=TAPQuerySetRunnerOptions(dataset="hung", query_timeout="1h"),
        user=USER,
        events=Events(),
        logger=logger,
        flock="ivoa",
        discovery=make_discovery(dachs, hung_tap),
    )
    await assert_stops_by_itself(business, hung_tap.hung.wait)


async def test_sia_query_set_runner_stops_during_hung_search(
    dachs: DachsServer, hung_tap: HungTap, logger: FilteringBoundLogger
) -> None:
    """A stop while an SIA search hangs ends SIAQuerySetRunner by itself."""
    business = SIAQuerySetRunner(
        options=SIAQuerySetRunnerOptions(dataset="hung", query_timeout="1h"),
        user=USER,
        events=Events(),
        logger=logger,
        flock="ivoa",
        discovery=make_discovery(dachs, hung_tap),
    )
    await assert_stops_by_itself(business, hung_tap.hung.wait)
