"""Lifecycle rules of Business and Monkey: stop, restart, failures, cleanup."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from mobu.events import Events
from mobu.models.business.config import BusinessConfig
from mobu.models.monkey import MonkeyState
from mobu.models.user import AuthenticatedUser
from mobu.services.builder import MonkeyBuilder, null_logger
from mobu.services.business.base import StopRequestedError
from mobu.services.monkey import Monkey
from tests.support.businesses import Probe

USER = AuthenticatedUser(username="bot-mobu-test")
BOUND = 10.0  # generous bound: these operations must finish, on however loaded a machine


def config(kind: str, **options: Any) -> BusinessConfig:
    restart = options.pop("restart", False)
    return BusinessConfig.model_validate({"type": kind, "options": options, "restart": restart})


def make_probe(**options: Any) -> Probe:
    from tests.support.businesses import ProbeOptions

    return Probe(
        options=ProbeOptions(**options),
        user=USER,
        events=Events(),
        logger=null_logger(),
        flock=None,
    )


def monkey_for(builder: MonkeyBuilder, kind: str, **options: Any) -> Monkey:
    factory = builder.prepare(config(kind, **options), flock="f")
    return factory.build(USER, name="bot-mobu-test")


async def test_pause_returns_false_on_stop() -> None:
    """pause() returns True after the interval and False as soon as a stop is requested."""
    probe = make_probe()
    assert await probe.pause(timedelta(0)) is True
    assert await probe.pause(timedelta(milliseconds=1)) is True
    pause = asyncio.ensure_future(probe.pause(timedelta(hours=1)))
    await asyncio.sleep(0)
    probe.request_stop()
    async with asyncio.timeout(BOUND):
        assert await pause is False
    assert await probe.pause(timedelta(hours=1)) is False


async def test_stop_during_idle(builder: MonkeyBuilder) -> None:
    """A monkey idling for an hour stops at once and ends FINISHED after shutdown and close."""
    monkey = monkey_for(builder, "Probe", idle_time="1h")
    async with asyncio.TaskGroup() as tg:
        monkey.start(tg)
        probe = monkey.business
        assert isinstance(probe, Probe)
        await probe.executed.wait()
        assert monkey.state == MonkeyState.RUNNING
        async with asyncio.timeout(BOUND):
            await monkey.stop()
    assert monkey.state == MonkeyState.FINISHED
    assert probe.calls == ["startup", "execute", "shutdown", "close"]
    assert probe.success_count == 1
    assert probe.failure_count == 0


async def test_stop_during_iter_with_timeout(builder: MonkeyBuilder) -> None:
    """A stop ends iter_with_timeout while it waits on a silent stream."""
    monkey = monkey_for(builder, "Streaming", idle_time="1h")
    async with asyncio.TaskGroup() as tg:
        monkey.start(tg)
        business = monkey.business
        await business.blocked.wait()  # type: ignore[attr-defined]
        async with asyncio.timeout(BOUND):
            await monkey.stop()
    assert business.items == [0, 1, 2]  # type: ignore[attr-defined]
    assert "stream-ended" in business.calls  # type: ignore[attr-defined]
    assert business.calls[-2:] == ["shutdown", "close"]  # type: ignore[attr-defined]
    assert monkey.state == MonkeyState.FINISHED


async def test_iter_with_timeout_overall_deadline() -> None:
    """The timeout is overall: a stream yielding steadily is cut off at the deadline."""
    probe = make_probe()

    async def ticker() -> Any:
        i = 0
        while True:
            await asyncio.sleep(0.02)
            i += 1
            yield i

    got = [x async for x in probe.iter_with_timeout(ticker(), timedelta(seconds=0.2))]
    assert 0 < len(got) < 50
    assert probe.stopping is False


async def test_iter_with_timeout_exhaustion() -> None:
    """An exhausted iterator simply ends the iteration."""
    probe = make_probe()

    async def three() -> Any:
        for i in range(3):
            yield i

    assert [x async for x in probe.iter_with_timeout(three(), timedelta(hours=1))] == [0, 1, 2]


async def test_interruptible_raises_on_stop_and_timeout() -> None:
    """interruptible() ends its body on stop (StopRequestedError) or timeout (TimeoutError)."""
    probe = make_probe()
    with pytest.raises(TimeoutError):
        async with probe.interruptible(timedelta(seconds=0.05)):
            await asyncio.get_running_loop().create_future()

    async def body() -> None:
        async with probe.interruptible():
            await asyncio.get_running_loop().create_future()

    task = asyncio.ensure_future(body())
    await asyncio.sleep(0)
    probe.request_stop()
    with pytest.raises(StopRequestedError):
        async with asyncio.timeout(BOUND):
            await task


async def test_hung_execute_is_cancelled_after_grace(builder: MonkeyBuilder) -> None:
    """A business that ignores stop is cancelled after the grace; shutdown and close still run."""
    monkey = monkey_for(builder, "Hanging")
    async with asyncio.TaskGroup() as tg:
        monkey.start(tg)
        await monkey.business.executed.wait()  # type: ignore[attr-defined]
        async with asyncio.timeout(BOUND):
            await monkey.stop()
    assert monkey.state == MonkeyState.FINISHED
    assert monkey.business.calls == ["startup", "execute", "shutdown", "close"]  # type: ignore[attr-defined]
    assert monkey.log is not None
    assert "did not stop within grace" in monkey.log.text()


async def test_startup_failure_counts(builder: MonkeyBuilder) -> None:
    """A failed startup is a failure; without restart the monkey ends FINISHED."""
    monkey = monkey_for(builder, "Probe", fail_startup=True)
    async with asyncio.TaskGroup() as tg:
        monkey.start(tg)
    assert monkey.business.failure_count == 1
    assert monkey.business.success_count == 0
    assert monkey.state == MonkeyState.FINISHED
    assert monkey.log is not None
    text = monkey.log.text()
    assert "startup failed on purpose" in text
    assert "Shutting down monkey due to error" in text


async def test_restart_after_error_idle(builder: MonkeyBuilder) -> None:
    """With restart the same business restarts after error_idle_time; counters persist."""
    monkey = monkey_for(
        builder,
        "Probe",
        restart=True,
        fail_executions=2,
        error_idle_time=0,
        idle_time="1h",
    )
    async with asyncio.TaskGroup() as tg:
        monkey.start(tg)
        probe = monkey.business
        assert isinstance(probe, Probe)
        await probe.idling.wait()
        await monkey.stop()
    assert probe.failure_count == 2
    assert probe.success_count == 1
    assert probe.calls.count("startup") == 3
    assert monkey.state == MonkeyState.FINISHED


async def test_no_restart_ends_monkey(builder: MonkeyBuilder) -> None:
    """Without restart one failure ends the monkey, closing the business."""
    monkey = monkey_for(builder, "Probe", fail_executions=1)
    async with asyncio.TaskGroup() as tg:
        monkey.start(tg)
    probe = monkey.business
    assert isinstance(probe, Probe)
    assert probe.failure_count == 1
    assert probe.calls == ["startup", "execute", "close"]
    assert monkey.state == MonkeyState.FINISHED


async def test_error_idle_interrupted_by_stop(builder: MonkeyBuilder) -> None:
    """A monkey waiting an hour in error_idle stops at once."""
    monkey = monkey_for(builder, "Probe", restart=True, fail_executions=5)
    monkey.business.options.error_idle_time = timedelta(hours=1)
    async with asyncio.TaskGroup() as tg:
        monkey.start(tg)
        await monkey.business.error_idling.wait()  # type: ignore[attr-defined]
        assert monkey.state == MonkeyState.ERROR
        async with asyncio.timeout(BOUND):
            await monkey.stop()
    assert monkey.state == MonkeyState.FINISHED
    assert monkey.business.failure_count == 1


async def test_run_once_releases_resources_after_failure() -> None:
    """run_once runs shutdown and close even when execute fails, and propagates the error."""
    probe = make_probe(fail_executions=1)
    with pytest.raises(RuntimeError, match="failed on purpose"):
        await probe.run_once()
    assert probe.calls == ["startup", "execute", "shutdown", "close"]


async def test_run_once_success() -> None:
    """run_once on success: startup, execute, shutdown, close."""
    probe = make_probe()
    await probe.run_once()
    assert probe.calls == ["startup", "execute", "shutdown", "close"]


async def test_stop_without_run_returns() -> None:
    """stop() on a business that is not running returns at once."""
    probe = make_probe()
    async with asyncio.timeout(BOUND):
        await probe.stop()
    assert probe.stopping is True


async def test_dump_and_common_attrs() -> None:
    """dump() reports counters; events carry flock, username and business."""
    probe = make_probe()
    assert probe.dump().model_dump() == {
        "name": "Probe",
        "failure_count": 0,
        "success_count": 0,
        "refreshing": False,
    }
    assert probe.common_event_attrs() == {
        "flock": None,
        "username": "bot-mobu-test",
        "business": "Probe",
    }
    probe.signal_refresh()
    assert probe.dump().refreshing is True
