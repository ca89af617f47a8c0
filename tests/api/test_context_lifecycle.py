"""The process context owns the process's lifecycle: autostart, begin-shutdown, their tasks."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from asgi_lifespan import LifespanManager

from mobu.config import Config
from mobu.events import Events
from mobu.factory import ProcessContext
from mobu.main import app_context, create_app
from mobu.services.builder import null_logger

SLOW = {
    "name": "slow",
    "count": 3,
    "start_batch_size": 1,
    "start_batch_wait": "1h",
    "user_spec": {"username_prefix": "bot-mobu-slow"},
    "business": {"type": "EmptyLoop", "options": {"idle_time": "10ms"}},
}
"""A flock whose start waits an hour after its first monkey: it is still starting when stopped."""
LATER = {**SLOW, "name": "later", "start_batch_size": None, "start_batch_wait": None}


def _config(*flocks: dict[str, Any]) -> Config:
    # A stop grace no acknowledged stop comes near: only a hang would reach it.
    return Config(autostart=list(flocks), stop_grace=timedelta(hours=1), log_monkeys_to_file=False)


def _lifecycle_tasks() -> list[str]:
    """Names of the running tasks the context or its monkeys started."""
    return sorted(
        name
        for task in asyncio.all_tasks()
        if not task.done() and (name := task.get_name()).startswith(("mobu-", "monkey"))
    )


async def test_app_state_holds_only_the_context(events: Events) -> None:
    """Once started, ``app.state`` holds the process context and nothing else."""
    config = _config(LATER)
    context = ProcessContext(config, logger=null_logger(), events=events)
    app = create_app(config, context=context)
    async with LifespanManager(app):
        assert app_context(app) is context
        assert app.state._state == {"context": context}
        assert context.manager.list_flocks() == ["later"]


async def test_begin_shutdown_ends_the_autostart(events: Events) -> None:
    """begin_shutdown during autostart ends it: the starting flock stops, no later one starts."""
    context = ProcessContext(_config(SLOW, LATER), logger=null_logger(), events=events)
    assert events.recorder is not None
    async with context:
        start = asyncio.create_task(context.start())
        await events.recorder.wait_for("empty_loop", 1)
        assert context.manager.list_flocks() == ["slow"]
        context.begin_shutdown()
        context.begin_shutdown()
        await start
        assert context.manager.list_flocks() == []
        assert context.manager.autostart_failures == []
    assert _lifecycle_tasks() == []


async def test_begin_shutdown_before_start_starts_nothing(events: Events) -> None:
    """After begin_shutdown, start() starts no flock (a signal that came during startup)."""
    context = ProcessContext(_config(LATER), logger=null_logger(), events=events)
    context.begin_shutdown()
    async with context:
        await context.start()
        assert context.manager.list_flocks() == []
    assert _lifecycle_tasks() == []


async def test_leaving_the_context_finishes_an_abandoned_autostart(events: Events) -> None:
    """When the caller of start() is cancelled, leaving the context cancels and awaits the start."""
    context = ProcessContext(_config(SLOW, LATER), logger=null_logger(), events=events)
    assert events.recorder is not None
    async with context:
        start = asyncio.create_task(context.start())
        await events.recorder.wait_for("empty_loop", 1)
        start.cancel()
        with pytest.raises(asyncio.CancelledError):
            await start
        assert "mobu-autostart" in _lifecycle_tasks()
    assert _lifecycle_tasks() == []
    assert context.manager.list_flocks() == []


async def test_start_needs_the_open_context(events: Events) -> None:
    """start() outside ``async with`` is a programming error, not a silent no-op."""
    context = ProcessContext(_config(LATER), logger=null_logger(), events=events)
    with pytest.raises(RuntimeError, match="outside its async context"):
        await context.start()
    async with context:
        pass
