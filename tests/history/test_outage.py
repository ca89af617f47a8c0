"""The store killed mid-run: nothing a monkey did is lost except what is counted as dropped."""

from __future__ import annotations

from pathlib import Path

from mobu.events import Events
from mobu.models.flock import FlockConfig
from mobu.platform.postgres import PostgresServer
from mobu.services.manager import FlockManager
from tests.history.conftest import T0, make_history
from tests.support.target import Target


class TickingClock:
    """A clock that moves one minute every time it is read: every event gets its own row."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        self.now += 60
        return self.now


async def test_store_killed_mid_run(
    postgres: PostgresServer,
    manager: FlockManager,
    events: Events,
    target: Target,
    tmp_path: Path,
) -> None:
    """PostgreSQL stops while an HTTPCheck flock runs: rows wait (bounded), then catch up."""
    assert events.recorder is not None
    history = make_history(postgres.url, TickingClock(), tmp_path, buffer_rows=20)  # type: ignore[arg-type]
    await history.start()
    events.add_sink(history.recorder)
    config = FlockConfig.model_validate(
        {
            "name": "hc",
            "count": 2,
            "user_spec": {"username_prefix": "bot-mobu-hc"},
            "business": {
                "type": "HTTPCheck",
                "options": {"url": f"{target.url}/ok", "idle_time": 0},
            },
        }
    )
    await manager.start_flock(config)
    await events.recorder.wait_for("http_check", 10)
    assert await history.flush()
    await postgres.stop()
    await events.recorder.wait_for("http_check", events.recorder.count("http_check") + 60)
    assert not await history.flush()
    assert history.recorder.queued_rows <= 20
    status = history.status()
    assert status.write_errors >= 1
    assert status.dropped_events > 0
    assert not status.connected
    written_before = status.written_events
    await postgres.start()
    await events.recorder.wait_for("http_check", events.recorder.count("http_check") + 5)
    assert await history.flush()
    assert history.status().written_events > written_before
    await manager.stop_flock("hc")
    assert await history.flush()
    total = events.recorder.count("http_check")
    rows = await history.store.rows("hc", 0, 2**62, hourly=True, cutoff=0, histograms=False)
    stored = sum(r.tally.count for r in rows)
    assert stored + history.recorder.dropped_events == total
    assert history.status().connected
    await history.aclose()
