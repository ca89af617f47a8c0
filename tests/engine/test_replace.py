"""FlockManager under concurrency: replacements, stops, refreshes and shutdown racing starts."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from mobu.exceptions import ShuttingDownError
from mobu.identity import AnonymousIdentity
from mobu.models.flock import FlockConfig
from mobu.models.monkey import MonkeyState
from mobu.models.user import AuthenticatedUser, User
from mobu.services.builder import MonkeyBuilder, null_logger
from mobu.services.flock import Flock
from mobu.services.manager import FlockManager

WAIT = 60.0
"""Generous bound on waits that only a hang would reach."""


def config(**fields: Any) -> FlockConfig:
    data: dict[str, Any] = {
        "name": "test",
        "count": 3,
        "user_spec": {"username_prefix": "bot-mobu-user"},
        "business": {"type": "EmptyLoop", "options": {"idle_time": "1h"}},
    }
    data.update(fields)
    return FlockConfig.model_validate(data)


def running_monkey_tasks() -> list[asyncio.Task[Any]]:
    """Monkey tasks of this event loop that have not finished."""
    return [t for t in asyncio.all_tasks() if t.get_name().startswith("monkey:") and not t.done()]


class GatedIdentity:
    """An identity provider that answers only once ``gate`` is set (a slow Gafaelfawr)."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.asked = asyncio.Event()

    async def authenticate(self, users: list[User], scopes: list[str]) -> list[AuthenticatedUser]:
        self.asked.set()
        await self.gate.wait()
        return await AnonymousIdentity().authenticate(users, scopes)

    async def aclose(self) -> None:
        return None


async def test_concurrent_replacements_leave_one_flock(manager: FlockManager) -> None:
    """Ten concurrent starts of one name: one flock stays, every other monkey is stopped."""
    flocks = await asyncio.gather(*(manager.start_flock(config(count=2)) for _ in range(10)))
    assert manager.list_flocks() == ["test"]
    current = manager.get_flock("test")
    assert current in flocks
    replaced = [f for f in flocks if f is not current]
    assert all(m.state == MonkeyState.FINISHED for f in replaced for m in f.monkeys)
    assert len(running_monkey_tasks()) == len(current.monkeys) == 2
    await manager.stop_flock("test")
    assert running_monkey_tasks() == []
    assert manager.list_flocks() == []


async def test_queued_requests_end_batched_starts(manager: FlockManager) -> None:
    """Queued replacements and a stop end each batched start instead of waiting out its batches."""
    slow = config(count=4, start_batch_size=1, start_batch_wait="1h")
    async with asyncio.timeout(WAIT):
        # gather runs the coroutines' first steps in order: the stop is queued after the starts.
        *flocks, _ = await asyncio.gather(
            *(manager.start_flock(slow) for _ in range(3)), manager.stop_flock("test")
        )
    assert manager.list_flocks() == []
    assert running_monkey_tasks() == []
    assert all(m.state == MonkeyState.FINISHED for f in flocks for m in f.monkeys)
    assert [len(f.monkeys) for f in flocks] == [4, 0, 0]  # later starts ended before building


async def test_autostart_racing_puts(manager: FlockManager) -> None:
    """An autostart and API starts of the same name leave one flock and no other monkey."""
    await asyncio.gather(
        manager.autostart([config()]),
        *(manager.start_flock(config(count=2)) for _ in range(2)),
    )
    assert manager.list_flocks() == ["test"]
    assert manager.autostart_failures == []
    assert len(running_monkey_tasks()) == len(manager.get_flock("test").monkeys)
    await manager.stop_flock("test")
    assert running_monkey_tasks() == []


async def test_stop_during_authentication_starts_nothing(builder: MonkeyBuilder) -> None:
    """A stop that arrives while the users authenticate leaves no monkey running."""
    identity = GatedIdentity()
    async with FlockManager(builder=builder, identity=identity, logger=null_logger()) as manager:
        start = asyncio.create_task(manager.start_flock(config()))
        await identity.asked.wait()
        stop = asyncio.create_task(manager.stop_flock("test"))
        identity.gate.set()
        async with asyncio.timeout(WAIT):
            flock = await start
            await stop
        assert manager.list_flocks() == []
        assert all(m.state == MonkeyState.FINISHED for m in flock.monkeys)
        assert running_monkey_tasks() == []


async def test_refresh_during_start_reaches_new_monkeys(builder: MonkeyBuilder) -> None:
    """A refresh asked while the flock is still starting reaches the monkeys built afterwards."""
    identity = GatedIdentity()
    async with FlockManager(builder=builder, identity=identity, logger=null_logger()) as manager:
        start = asyncio.create_task(manager.start_flock(config()))
        await identity.asked.wait()
        manager.refresh_flock("test")
        identity.gate.set()
        flock = await start
        assert len(flock.monkeys) == 3
        assert all(m.business.refreshing for m in flock.monkeys)


async def test_shutdown_racing_starts_leaves_nothing_running(builder: MonkeyBuilder) -> None:
    """stop_all while starts are queued: the starts end or are refused; no monkey runs on."""
    identity = GatedIdentity()
    async with FlockManager(builder=builder, identity=identity, logger=null_logger()) as manager:
        starts = [
            asyncio.create_task(manager.start_flock(config(name=name)))
            for name in ("a", "a", "a", "b")
        ]
        await identity.asked.wait()
        stop_all = asyncio.create_task(manager.stop_all())
        identity.gate.set()
        async with asyncio.timeout(WAIT):
            results = await asyncio.gather(*starts, return_exceptions=True)
            await stop_all
        flocks = [r for r in results if isinstance(r, Flock)]
        refused = [r for r in results if isinstance(r, ShuttingDownError)]
        assert len(flocks) + len(refused) == len(starts)
        assert all(m.state == MonkeyState.FINISHED for f in flocks for m in f.monkeys)
        assert running_monkey_tasks() == []
        assert manager.list_flocks() == []
        with pytest.raises(ShuttingDownError):
            await manager.start_flock(config())


async def test_exit_after_concurrent_replacements(builder: MonkeyBuilder) -> None:
    """Leaving the manager right after concurrent replacements stops every monkey it started."""
    async with asyncio.timeout(WAIT):
        async with FlockManager(
            builder=builder, identity=AnonymousIdentity(), logger=null_logger()
        ) as manager:
            flocks = await asyncio.gather(*(manager.start_flock(config()) for _ in range(5)))
    assert all(m.state == MonkeyState.FINISHED for f in flocks for m in f.monkeys)
    assert running_monkey_tasks() == []
