"""Flocks and the flock manager: users, batching, replicas, summaries, replacement."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from pydantic import ValidationError

from mobu.events import Events
from mobu.exceptions import (
    FlockNotFoundError,
    InvalidOptionsError,
    MonkeyNotFoundError,
    UnknownBusinessError,
)
from mobu.identity import AnonymousIdentity
from mobu.models.flock import FlockConfig
from mobu.models.monkey import MonkeyState
from mobu.models.user import AuthenticatedUser, User
from mobu.services.builder import MonkeyBuilder, MonkeyFactory, null_logger
from mobu.services.manager import FlockManager
from mobu.services.users import flock_users, generate_users


def flock_config(**fields: Any) -> FlockConfig:
    data: dict[str, Any] = {
        "name": "test",
        "count": 3,
        "user_spec": {"username_prefix": "bot-mobu-user"},
        "business": {"type": "EmptyLoop", "options": {"idle_time": "1h"}},
    }
    data.update(fields)
    return FlockConfig.model_validate(data)


def test_user_generation() -> None:
    """Names are zero-padded to the width of count; uid/gid consecutive; groups shared."""
    config = flock_config(
        count=10,
        user_spec={
            "username_prefix": "bot-mobu-user",
            "uid_start": 1000,
            "gid_start": 2000,
            "groups": [{"name": "g", "id": 5}],
        },
    )
    users = generate_users(config)
    assert [u.username for u in users][:2] == ["bot-mobu-user01", "bot-mobu-user02"]
    assert users[-1].username == "bot-mobu-user10"
    assert [u.uidnumber for u in users] == list(range(1000, 1010))
    assert [u.gidnumber for u in users] == list(range(2000, 2010))
    assert all(u.groups[0].name == "g" for u in users)
    five = generate_users(flock_config(count=5))
    assert [u.username for u in five] == [f"bot-mobu-user{i}" for i in range(1, 6)]
    assert five[0].uidnumber is None


def test_replica_partitioning() -> None:
    """User i belongs to replica i % count (count 10, 3 replicas)."""
    config = flock_config(count=10)
    shares = [[u.username[-2:] for u in flock_users(config, 3, i)] for i in range(3)]
    assert shares == [["01", "04", "07", "10"], ["02", "05", "08"], ["03", "06", "09"]]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"user_spec": None}, "one of users or user_spec must be provided"),
        (
            {"users": [{"username": "bot-mobu-a"}, {"username": "bot-mobu-b"}], "count": 2},
            "both users and user_spec provided",
        ),
        (
            {"user_spec": None, "users": [{"username": "bot-mobu-a"}]},
            "users list must contain 3 elements",
        ),
        ({"start_batch_size": 2}, "start_batch_wait must be given if start_batch_size is given"),
        ({"count": 0}, "greater than or equal to 1"),
        ({"user_spec": {"username_prefix": "Bad User"}}, "should match pattern"),
    ],
)
def test_config_validation(fields: dict[str, Any], message: str) -> None:
    """Invalid flock configs are rejected at validation time with the reference messages."""
    with pytest.raises(ValidationError, match=message):
        flock_config(**fields)


def test_business_validation(builder: MonkeyBuilder) -> None:
    """Unknown types list the known ones; options are validated with their location."""

    def prepare(business: dict[str, Any]) -> MonkeyFactory:
        return builder.prepare(flock_config(business=business).business, flock="test")

    with pytest.raises(UnknownBusinessError, match="known types: EmptyLoop, HTTPCheck"):
        prepare({"type": "Nope"})
    with pytest.raises(InvalidOptionsError) as info:
        prepare({"type": "HTTPCheck", "options": {"bogus": 1}})
    locs = {tuple(e["loc"]) for e in info.value.to_dict()["detail"]}
    assert ("body", "business", "options", "url") in locs
    assert ("body", "business", "options", "bogus") in locs
    with pytest.raises(InvalidOptionsError) as info:
        prepare({"type": "EmptyLoop", "options": {"idle_time": "soon"}})
    assert info.value.errors[0]["loc"] == ("options", "idle_time")
    factory = prepare({"type": "EmptyLoop", "options": {"idle_time": "5m30s"}})
    assert factory.options.idle_time.total_seconds() == 330
    assert factory.config.options == {"idle_time": 330.0}


async def test_flock_lifecycle(manager: FlockManager, events: Events) -> None:
    """A flock starts its monkeys, summarises, lists, and stops them all."""
    flock = await manager.start_flock(
        flock_config(
            business={"type": "EmptyLoop", "options": {"idle_time": 0.01}},
        )
    )
    assert events.recorder is not None
    await events.recorder.wait_for("empty_loop", 9)
    assert manager.list_flocks() == ["test"]
    summary = manager.summarize_flocks()[0]
    assert summary.monkey_count == 3
    assert summary.business == "EmptyLoop"
    assert summary.start_time is not None
    assert summary.success_count >= 3
    assert flock.list_monkeys() == ["bot-mobu-user1", "bot-mobu-user2", "bot-mobu-user3"]
    monkey = flock.get_monkey("bot-mobu-user2")
    assert monkey.dump().state == MonkeyState.RUNNING
    with pytest.raises(MonkeyNotFoundError):
        flock.get_monkey("nobody")
    await manager.stop_flock("test")
    assert all(m.state == MonkeyState.FINISHED for m in flock.monkeys)
    with pytest.raises(FlockNotFoundError):
        manager.get_flock("test")


async def test_batched_start(manager: FlockManager, events: Events) -> None:
    """Monkeys start in batches with the wait between batches (not after the last)."""
    config = flock_config(
        count=6,
        start_batch_size=2,
        start_batch_wait=0.3,
        business={"type": "Probe", "options": {"idle_time": "1h"}},
    )
    start = time.monotonic()
    flock = await manager.start_flock(config)
    elapsed = time.monotonic() - start
    assert elapsed >= 0.6  # two waits between three batches (a lower bound, not a timing target)
    assert len(flock.monkeys) == 6
    await asyncio.gather(*(m.business.executed.wait() for m in flock.monkeys))  # type: ignore[attr-defined]


async def test_replace_same_name(manager: FlockManager) -> None:
    """Starting a flock with a taken name stops the old one and replaces it."""
    first = await manager.start_flock(flock_config())
    second = await manager.start_flock(flock_config(count=2))
    assert all(m.state == MonkeyState.FINISHED for m in first.monkeys)
    assert manager.get_flock("test") is second
    assert len(second.monkeys) == 2


class FailingIdentity:
    async def authenticate(self, users: list[User], scopes: list[str]) -> list[AuthenticatedUser]:
        raise RuntimeError("identity provider is down")

    async def aclose(self) -> None:
        return None


async def test_failed_start_not_registered(builder: MonkeyBuilder) -> None:
    """A flock whose start fails is not left registered; autostart reports it and goes on."""
    async with FlockManager(
        builder=builder, identity=FailingIdentity(), logger=null_logger()
    ) as manager:
        with pytest.raises(RuntimeError, match="identity provider is down"):
            await manager.start_flock(flock_config())
        assert manager.list_flocks() == []
        await manager.autostart([flock_config(name="a")])
        assert [(f.name, f.error) for f in manager.autostart_failures] == [
            ("a", "RuntimeError: identity provider is down")
        ]


async def test_refresh(manager: FlockManager) -> None:
    """refresh_flock signals every business."""
    flock = await manager.start_flock(flock_config())
    manager.refresh_flock("test")
    assert all(m.dump().business.refreshing for m in flock.monkeys)


async def test_stop_all_on_exit(builder: MonkeyBuilder) -> None:
    """Leaving the manager stops every flock, including a hung one, within the grace."""
    async with FlockManager(
        builder=builder, identity=AnonymousIdentity(), logger=null_logger()
    ) as manager:
        hung = await manager.start_flock(flock_config(name="hung", business={"type": "Hanging"}))
        await asyncio.gather(*(m.business.executed.wait() for m in hung.monkeys))  # type: ignore[attr-defined]
    assert all(m.state == MonkeyState.FINISHED for m in hung.monkeys)
