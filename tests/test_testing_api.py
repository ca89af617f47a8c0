"""``mobu.testing``: what a downstream project uses to test its own business."""

from __future__ import annotations

import pytest

import mobu.testing
from mobu.services.business.empty import EmptyLoop, EmptyLoopExecution
from mobu.testing import FakeBusiness, FakeExecution, run_business_once


def test_testing_exports() -> None:
    """``mobu.testing`` exports the recording events, fake business, runner and Muster server."""
    assert sorted(mobu.testing.__all__) == sorted(
        [
            "RULES",
            "BusinessRun",
            "EventRecorder",
            "Events",
            "FakeBusiness",
            "FakeExecution",
            "FakeOptions",
            "MusterIdentity",
            "MusterServer",
            "RunningMuster",
            "run_business_once",
            "run_muster_server",
        ]
    )
    assert all(hasattr(mobu.testing, name) for name in mobu.testing.__all__)


async def test_run_business_once_runs_every_hook_once() -> None:
    """A run goes through startup, one execute, shutdown and close, and records its events."""
    run = await run_business_once(FakeBusiness, flock="f")
    assert isinstance(run.business, FakeBusiness)
    assert run.business.calls == ["startup", "execute", "shutdown", "close"]
    [event] = run.published("fake_execution")
    assert isinstance(event, FakeExecution)
    assert (event.success, event.flock, event.username) == (True, "f", "bot-mobu-test")


async def test_run_business_once_validates_dict_options() -> None:
    """Options given as a dict are validated by the business's own options model."""
    run = await run_business_once(EmptyLoop, {"idle_time": "5s"})
    assert run.business.options.idle_time.total_seconds() == 5
    assert [type(e) for e in run.published()] == [EmptyLoopExecution]


async def test_run_business_once_raises_what_the_business_raised() -> None:
    """A failing execute propagates to the test instead of being counted and retried."""
    with pytest.raises(RuntimeError, match="execution 1 failed on purpose"):
        await run_business_once(FakeBusiness, {"fail_executions": 1})
