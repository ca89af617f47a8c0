"""Kill and restart DaCHS and giftless mid-run: counted failures, one alert per cause, recovery."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from mobu.config import Config
from mobu.events import EventRecorder, Events
from mobu.factory import ProcessContext
from mobu.models.flock import FlockConfig
from mobu.platform.dachs import DachsServer, dachs_unavailable_reason
from mobu.platform.lfs import lfs_unavailable_reason, run_lfs_servers
from mobu.services.builder import null_logger
from tests.faults.vo_lfs_support import (
    BOUND,
    Snapshot,
    alerted_types,
    next_event,
    recovered_types,
)
from tests.observability.receivers import Receiver, run_receiver

DACHS_REASON = dachs_unavailable_reason()
LFS_REASON = lfs_unavailable_reason()
TOKEN = "gt-faults-lfs-token.s3cr3t"


def flock(name: str, business: str, count: int, options: dict[str, Any]) -> FlockConfig:
    """A restarting flock that retries at once after a failure."""
    return FlockConfig.model_validate(
        {
            "name": name,
            "count": count,
            "user_spec": {"username_prefix": f"bot-mobu-{name}"},
            "business": {
                "type": business,
                "restart": True,
                "options": {"error_idle_time": "100ms", **options},
            },
        }
    )


@asynccontextmanager
async def mobu(receiver: Receiver, **config: Any) -> AsyncIterator[ProcessContext]:
    """A mobu process context alerting to ``receiver``."""
    settings = Config(
        log_monkeys_to_file=False,
        stop_grace=timedelta(seconds=30),
        alerts={"slack": {"webhook": receiver.webhook, "status_interval": None}},
        **config,
    )
    async with ProcessContext(settings, logger=null_logger(), events=Events()) as context:
        yield context


async def fault_cycle(
    context: ProcessContext, name: str, event: str, kill: Any, restart: Any
) -> tuple[int, int]:
    """Run until a success, kill, wait for failures, restart, wait for a success after it.

    Returns the number of ``event`` events before the restart and the number of failed ones.
    """
    recorder = context.events.recorder
    assert isinstance(recorder, EventRecorder)
    first = await next_event(recorder, event, 0, lambda e: e.success)
    await kill()
    # every monkey fails at least once, and some more (retries against the dead backend)
    seen = first
    for _ in range(3):
        seen = await next_event(recorder, event, seen, lambda e: not e.success)
    await restart()
    before_restart = recorder.count(event)
    await next_event(recorder, event, before_restart, lambda e: e.success)
    failed = [e for e in recorder.published(event) if not getattr(e, "success", True)]
    return before_restart, len(failed)


async def settle_alerts(context: ProcessContext, receiver: Receiver, name: str) -> None:
    """Wait until every alert of ``name`` has its recovery message, and check the pairing."""
    slack = context.observability.slack
    assert slack is not None
    try:
        async with asyncio.timeout(2 * BOUND):  # a recovery may need a timed-out command first
            while True:
                await slack.flush()
                alerts = alerted_types(receiver.slack, name)
                if alerts and set(recovered_types(receiver.slack, name)) == set(alerts):
                    break
                receiver.changed.clear()
                await receiver.changed.wait()
    except TimeoutError:
        monkeys = context.manager.get_flock(name).dump().monkeys
        states = [(m.name, m.state, m.business.failure_count) for m in monkeys]
        texts = [m["text"][:300] for m in receiver.slack]
        raise AssertionError(f"alerts without recovery; monkeys {states}; Slack {texts}") from None
    alerts = alerted_types(receiver.slack, name)
    assert len(alerts) == len(set(alerts)), f"more than one alert per root cause: {alerts}"
    assert slack.failed == 0
    assert slack.dropped == 0


def assert_counted(context: ProcessContext, name: str, failed: int) -> None:
    """The flock counted every failure; its monkeys are the ones it started, running again."""
    (summary,) = context.manager.summarize_flocks()
    assert summary.name == name
    assert summary.failure_count == failed
    assert summary.success_count >= 2


@pytest.mark.dachs
@pytest.mark.skipif(DACHS_REASON is not None, reason=DACHS_REASON or "")
async def test_dachs_killed_and_restarted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """DaCHS killed mid-run: failures counted, one alert per cause, recovery, nothing leaked."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    before = Snapshot.take(tmp_path)
    server = await asyncio.to_thread(DachsServer.start)
    try:
        async with run_receiver() as receiver:
            datasets = {"demo": {"tap": server.tap_url}}
            async with mobu(receiver, discovery={"datasets": datasets}) as context:
                await context.manager.start_flock(
                    flock("tap", "TAPQuerySetRunner", 2, {"idle_time": 0, "query_timeout": "60s"})
                )
                monkeys = context.manager.get_flock("tap").list_monkeys()
                url = server.url

                async def restart() -> None:
                    await asyncio.to_thread(server.restart_web)
                    assert server.url == url

                _, failed = await fault_cycle(
                    context, "tap", "tap_query", lambda: asyncio.to_thread(server.kill_web), restart
                )
                await settle_alerts(context, receiver, "tap")
                assert_counted(context, "tap", failed)
                assert context.manager.get_flock("tap").list_monkeys() == monkeys
                async with asyncio.timeout(BOUND):
                    await context.manager.stop_flock("tap")
            recovered = recovered_types(receiver.slack, "tap")
            assert sum(recovered.values()) == failed
    finally:
        await asyncio.to_thread(server.stop)
    Snapshot.take(tmp_path).assert_nothing_leaked_since(before)


@pytest.mark.lfs
@pytest.mark.skipif(LFS_REASON is not None, reason=LFS_REASON or "")
async def test_giftless_killed_and_restarted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """giftless killed mid-run: failures counted, one alert per cause, recovery, nothing leaked."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    before = Snapshot.take(tmp_path)
    async with (
        run_lfs_servers(token=TOKEN, directory=tmp_path / "servers") as servers,
        run_receiver() as receiver,
    ):
        config = {"identity": {"provider": "static", "default_token": TOKEN}}
        async with mobu(receiver, **config) as context:
            options = {
                "lfs_read_url": servers.lfs_read_url(),
                "lfs_write_url": servers.lfs_write_url(),
                "idle_time": 0,
                # git-lfs retries a dead server itself (8 times, backing off to 10 s): a command
                # caught in that ends at this timeout, well within the waits' bound.
                "git_timeout": "20s",
            }
            await context.manager.start_flock(flock("lfs", "GitLFS", 2, options))
            monkeys = context.manager.get_flock("lfs").list_monkeys()
            ports = (servers.read_port, servers.write_port)
            _, failed = await fault_cycle(
                context, "lfs", "git_lfs_check", servers.kill_giftless, servers.restart_giftless
            )
            assert (servers.read_port, servers.write_port) == ports
            await settle_alerts(context, receiver, "lfs")
            assert_counted(context, "lfs", failed)
            assert context.manager.get_flock("lfs").list_monkeys() == monkeys
            async with asyncio.timeout(BOUND):
                await context.manager.stop_flock("lfs")
            recovered = recovered_types(receiver.slack, "lfs")
            assert sum(recovered.values()) == failed
    Snapshot.take(tmp_path).assert_nothing_leaked_since(before)
