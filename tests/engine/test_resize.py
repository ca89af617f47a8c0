"""Resizing a running flock: survivors untouched, removed monkeys stopped, bad counts refused."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from mobu.exceptions import FlockNotFoundError
from mobu.models.flock import FlockConfig
from mobu.models.monkey import MonkeyState
from mobu.services.manager import FlockManager, InvalidResizeError


def probe_flock(**fields: Any) -> FlockConfig:
    data: dict[str, Any] = {
        "name": "resize",
        "count": 3,
        "user_spec": {"username_prefix": "bot-mobu-rs"},
        "business": {"type": "Probe", "options": {"idle_time": "1h"}},
    }
    data.update(fields)
    return FlockConfig.model_validate(data)


async def executed(monkeys: list[Any]) -> None:
    async with asyncio.timeout(60):
        await asyncio.gather(*(m.business.executed.wait() for m in monkeys))


async def test_grow_and_shrink_keep_the_survivors(manager: FlockManager) -> None:
    """Growing adds monkeys numbered on; shrinking stops exactly the newest ones."""
    flock = await manager.start_flock(probe_flock())
    first = flock.monkeys
    await executed(first)
    await manager.resize_flock("resize", 12)
    assert len(flock.monkeys) == 12
    assert flock.monkeys[:3] == first  # the same objects: nothing restarted
    assert [m.name for m in flock.monkeys][-1] == "bot-mobu-rs12"
    assert len({m.name for m in flock.monkeys}) == 12
    await executed(flock.monkeys)
    assert all(m.business.calls.count("startup") == 1 for m in first)
    grown = flock.monkeys
    await manager.resize_flock("resize", 2)
    removed = grown[2:]
    assert len(removed) == 10
    assert flock.monkeys == grown[:2]
    assert all(m.state == MonkeyState.FINISHED for m in removed)
    assert all(m.business.calls[-2:] == ["shutdown", "close"] for m in removed)
    assert all(m.state == MonkeyState.RUNNING for m in flock.monkeys)
    assert all("shutdown" not in m.business.calls for m in flock.monkeys)
    summary = flock.summary()
    assert summary.monkey_count == 2
    assert flock.config.count == 2
    assert manager.get_flock("resize").dump().config.count == 2


async def test_explicit_users_resize_within_the_list(manager: FlockManager) -> None:
    """A flock of explicit users shrinks and grows back within its list, never beyond."""
    users = [{"username": f"bot-mobu-u{c}"} for c in "abcd"]
    flock = await manager.start_flock(probe_flock(count=4, users=users, user_spec=None))
    await manager.resize_flock("resize", 1)
    assert flock.list_monkeys() == ["bot-mobu-ua"]
    await manager.resize_flock("resize", 4)
    assert flock.list_monkeys() == [u["username"] for u in users]
    with pytest.raises(InvalidResizeError) as info:
        await manager.resize_flock("resize", 5)
    assert info.value.location == ("body", "count")
    assert "at most 4" in str(info.value)


async def test_bad_counts_and_unknown_flocks(manager: FlockManager) -> None:
    """Counts out of range are refused (422 naming count); an unknown flock is a 404."""
    await manager.start_flock(
        probe_flock(user_spec={"username_prefix": "bot-mobu-b", "uid_start": 2**32 - 100})
    )
    for count in (0, -1, 100_001):
        with pytest.raises(InvalidResizeError) as info:
            await manager.resize_flock("resize", count)
        assert info.value.status_code == 422
    with pytest.raises(InvalidResizeError, match="uid_start"):
        await manager.resize_flock("resize", 100_000)
    with pytest.raises(FlockNotFoundError):
        await manager.resize_flock("nothing", 2)
    assert len(manager.get_flock("resize").monkeys) == 3


async def test_resize_waits_for_a_start_in_progress(manager: FlockManager) -> None:
    """A resize arriving while the flock starts in batches lets the start finish first."""
    config = probe_flock(count=4, start_batch_size=1, start_batch_wait=0.05)
    starting = asyncio.ensure_future(manager.start_flock(config))
    async with asyncio.timeout(60):
        while "resize" not in manager.list_flocks():
            await asyncio.sleep(0)
    resized = await manager.resize_flock("resize", 6)
    flock = await starting
    assert resized is flock
    assert len(flock.monkeys) == 6
    await executed(flock.monkeys)


async def test_resize_after_stop_starts_nothing(manager: FlockManager) -> None:
    """A stopped flock cannot be resized; shutting down refuses resizes."""
    flock = await manager.start_flock(probe_flock())
    await manager.stop_flock("resize")
    with pytest.raises(FlockNotFoundError):
        await manager.resize_flock("resize", 5)
    assert len(flock.monkeys) == 3
