"""Three ``mobu serve`` replicas on one real PostgreSQL: shared desired state, merged view,
liveness, restarts of a replica and of the store (issue 15)."""

from __future__ import annotations

import asyncio
import math
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from mobu.platform.postgres import PostgresServer
from tests.observability.receivers import run_receiver
from tests.replicas.support import Cluster, Gate, run_cluster, run_gate, until
from tests.support.postgres import postgres

__all__ = ["postgres"]

UI = {"X-Mobu-UI": "1"}
"""The header of the dashboard's own requests (its actions refuse any other)."""

RELATIVE_ERROR = 0.005
"""Error bound of the statistics' histograms (LogHistogram's default)."""


def http_flock(name: str, gate: Gate, count: int = 9) -> dict[str, Any]:
    """An HTTPCheck flock against the gate."""
    return {
        "name": name,
        "count": count,
        "user_spec": {"username_prefix": f"bot-mobu-{name}"},
        "business": {
            "type": "HTTPCheck",
            "options": {"url": f"{gate.url}/check", "idle_time": 0.05, "timeout": 3600},
        },
    }


async def _local_running(cluster: Cluster, index: int, name: str, count: int) -> list[str] | None:
    data = await cluster.json(index, f"/flocks/{name}", local=True)
    if data is None:
        return None
    running = [m["name"] for m in data["monkeys"] if m["state"] == "RUNNING"]
    return running if len(running) == count else None


async def _summary(cluster: Cluster, index: int, name: str) -> dict[str, Any] | None:
    result: dict[str, Any] | None = await cluster.json(index, f"/flocks/{name}/summary")
    return result


def _exact(durations: list[float], q: float) -> float:
    ordered = sorted(durations)
    return ordered[math.floor(q * (len(ordered) - 1))]


async def _check_percentiles(cluster: Cluster, gate: Gate) -> None:
    """Hold the target, let the events settle, compare merged percentiles with all events."""
    await until(lambda: _successes(cluster, 45), "45 successes")
    gate.close()
    await until(_true(lambda: gate.inside == 0), "requests in flight answered")
    served = gate.served

    async def settled() -> dict[str, Any] | None:
        summary = await _summary(cluster, 2, "web")
        if summary is None or not summary.get("statistics"):
            return None
        total = summary["statistics"][0]["total"]
        return total if total["count"] == served else None

    total = await until(settled, f"merged statistics count {served}")
    records = await until(
        _true(lambda: len(cluster.events("http_check")) == served, cluster.events, "http_check"),
        "every event in the file sinks",
    )
    durations = [r["duration"] for r in records]
    for key, q in (("p50", 0.5), ("p90", 0.9), ("p95", 0.95), ("p99", 0.99), ("max", 1.0)):
        exact = _exact(durations, q)
        assert abs(total[key] - exact) <= exact * RELATIVE_ERROR + 1e-9, (key, total[key], exact)
    gate.open()


def _true(condition: Any, then: Any = None, *args: Any) -> Any:
    async def probe() -> Any:
        if not condition():
            return None
        return True if then is None else then(*args)

    return probe


async def _successes(cluster: Cluster, at_least: int) -> int | None:
    summary = await _summary(cluster, 0, "web")
    if summary is None or summary["success_count"] < at_least:
        return None
    return int(summary["success_count"])


async def _all_nine(cluster: Cluster, index: int) -> dict[str, Any] | None:
    """The merged summary once every replica's heartbeat reports its 3 monkeys."""
    summary = await _summary(cluster, index, "web")
    if summary is None or summary["monkey_count"] != 9:
        return None
    return summary


async def _missing(cluster: Cluster, index: int, missing: int) -> dict[str, Any] | None:
    summary = await _summary(cluster, index, "web")
    if summary is None or summary["missing_count"] != missing:
        return None
    return summary


async def test_group(tmp_path: Path, postgres: PostgresServer) -> None:
    """PUT to replica 0 runs 3 on each; merged view and percentiles; SIGKILL, restart, store
    restart; DELETE on replica 1 stops all 9."""
    async with (
        run_receiver() as receiver,
        run_gate() as gate,
        run_cluster(tmp_path, postgres.url, webhook=receiver.webhook) as cluster,
    ):
        response = await cluster.put(0, http_flock("web", gate))
        assert response.status_code == 201, response.text
        shares = [
            await until(lambda i=i: _local_running(cluster, i, "web", 3), "3") for i in range(3)
        ]
        assert len({name for share in shares for name in share}) == 9
        summary = await until(lambda: _all_nine(cluster, 2), "summary of all 9 on replica 2")
        assert (summary["expected_count"], summary["missing_count"]) == (9, 0)
        merged = await cluster.json(2, "/summary")
        assert [f["name"] for f in merged["flocks"]] == ["web"]
        assert merged["autostart_failures"] == []
        await _check_percentiles(cluster, gate)
        await _dashboard_shows_all(cluster, shares[0][0])
        await _remote_monkey(cluster, shares[2][0])
        rows = await cluster.json(1, "/flocks/web/summary?by=replica")
        assert [(r["replica"], r["summary"]["monkey_count"]) for r in rows] == [
            (0, 3),
            (1, 3),
            (2, 3),
        ]
        await _kill_and_restart(cluster, receiver)
        await _store_restart(cluster, postgres, gate)
        await _dashboard_stop_and_start(cluster, postgres)
        response = await cluster.delete(1, "web")
        assert response.status_code == 204, response.text
        for index in range(3):
            await until(lambda i=index: _gone(cluster, i, "web"), f"web stopped on replica {index}")
        assert await cluster.json(2, "/flocks") == ["web2"]


def _monkey_rows(html: str) -> list[str]:
    """Names of the monkeys listed in a dashboard flock page or fragment."""
    return re.findall(r'data-monkey="([^"]+)"', html)


async def _dashboard_shows_all(cluster: Cluster, monkey_of_0: str) -> None:
    """Replica 2's dashboard shows the 9 monkeys; a log link of replica 0's monkey works."""
    fragment = await cluster.get(2, "/ui/fragments/flocks/web")
    assert fragment.status_code == 200
    assert len(set(_monkey_rows(fragment.text))) == 9
    assert "missing" not in fragment.text
    page = (await cluster.get(2, "/ui/flocks/web")).text
    assert len(_monkey_rows(page)) == 9
    overview = (await cluster.get(2, "/ui")).text
    row = re.search(r'data-flock="web">.*?<span class="ok">(\d+)</span>', overview, re.S)
    assert row is not None, overview
    assert row.group(1) == "9", overview
    link = re.search(rf'href="([^"]*/monkeys/{re.escape(monkey_of_0)}/log)"', page)
    assert link is not None
    origin = urlsplit(cluster.replicas[2].url)
    log = await cluster.client.get(f"{origin.scheme}://{origin.netloc}{link.group(1)}")
    assert log.status_code == 200
    assert "attachment" in log.headers["content-disposition"]


async def _fragment_says(cluster: Cluster, index: int, text: str) -> bool:
    """Whether replica ``index``'s dashboard status of flock web says ``text`` (heartbeats lag)."""
    return text in (await cluster.get(index, "/ui/fragments/flocks/web")).text


async def _dashboard_stop_and_start(cluster: Cluster, postgres: PostgresServer) -> None:
    """Stop from replica 1's dashboard stops all 9; its start button runs them again; its
    refresh button asks every replica (the shared refresh counter)."""
    url = cluster.replicas[1].url
    response = await cluster.client.post(f"{url}/ui/flocks/web/stop", headers=UI)
    assert response.status_code == 200, response.text
    for index in range(3):
        await until(lambda i=index: _gone(cluster, i, "web"), f"web stopped on replica {index}")
    await until(lambda: _fragment_says(cluster, 2, "not running"), "not running on replica 2")
    response = await cluster.client.post(f"{url}/ui/flocks/web/start", headers=UI)
    assert response.status_code == 200, response.text
    for index in range(3):
        await until(lambda i=index: _local_running(cluster, i, "web", 3), "web started again")
    response = await cluster.client.post(f"{url}/ui/flocks/web/refresh", headers=UI)
    assert response.status_code == 200, response.text
    assert await _desired(postgres, "web", "refresh") == 1


async def _gone(cluster: Cluster, index: int, name: str) -> bool:
    names = await cluster.json(index, "/flocks", local=True)
    return names is not None and name not in names


async def _remote_monkey(cluster: Cluster, monkey: str) -> None:
    """Replica 0 answers for a monkey of replica 2 (the call is forwarded)."""
    local = await cluster.get(0, f"/flocks/web/monkeys/{monkey}", local=True)
    assert local.status_code == 404
    data = await cluster.json(0, f"/flocks/web/monkeys/{monkey}")
    assert data["name"] == monkey
    log = await cluster.get(0, f"/flocks/web/monkeys/{monkey}/log")
    assert log.status_code == 200
    assert "attachment" in log.headers["content-disposition"]
    names = await cluster.json(1, "/flocks/web/monkeys")
    assert len(names) == 9


async def _kill_and_restart(cluster: Cluster, receiver: Any) -> None:
    await cluster.kill(2)
    summary = await until(lambda: _missing(cluster, 0, 3), "replica 2 missing")
    assert [r["status"] for r in summary["replicas"]] == ["reporting", "reporting", "missing"]
    assert summary["monkey_count"] == 6
    page = (await cluster.get(0, "/ui/flocks/web")).text
    assert "replica 2 missing (3 monkeys)" in page
    assert len(_monkey_rows(page)) == 6
    overview = (await cluster.get(1, "/ui/fragments/overview")).text
    assert "replica 2 missing (3 monkeys)" in overview
    alert = await until(lambda: _message(receiver, "replica 2 silent since"), "alert")
    assert "3 monkeys not running" in alert
    await cluster.start(2)
    await until(lambda: _local_running(cluster, 2, "web", 3), "replica 2 resumed its share")
    summary = await until(lambda: _missing(cluster, 0, 0), "replica 2 back")
    recovery = await until(lambda: _message(receiver, "replica 2 is back"), "recovery")
    assert "3 monkeys were not running" in recovery


async def _message(receiver: Any, text: str) -> str | None:
    """The first Slack message containing ``text``."""
    return next((m["text"] for m in receiver.slack if text in m["text"]), None)


async def _store_restart(cluster: Cluster, postgres: PostgresServer, gate: Gate) -> None:
    """The store goes down: monkeys keep running; once it is back, changes reach everyone."""
    await postgres.stop()
    before = [await _local_successes(cluster, i) for i in range(3)]
    for index in range(3):
        await until(lambda i=index: _grown(cluster, i, before[i]), f"replica {index} keeps running")
    response = await cluster.put(0, http_flock("web2", gate, count=3))
    assert response.status_code == 503
    await postgres.start()
    response = await until(lambda: _put_ok(cluster, 1, http_flock("web2", gate, count=3)), "PUT")
    for index in range(3):
        await until(lambda i=index: _local_running(cluster, i, "web2", 1), "web2 everywhere")
        await until(lambda i=index: _local_running(cluster, i, "web", 3), "web still running")


async def _put_ok(cluster: Cluster, index: int, flock: dict[str, Any]) -> bool:
    response = await cluster.put(index, flock)
    return response.status_code == 201


async def _local_successes(cluster: Cluster, index: int) -> int:
    data = await cluster.json(index, "/flocks/web/summary", local=True)
    return int(data["success_count"])


async def _grown(cluster: Cluster, index: int, before: int) -> bool:
    return await _local_successes(cluster, index) > before


async def test_concurrent_puts(tmp_path: Path, postgres: PostgresServer) -> None:
    """Autostart is written once for the group; concurrent PUTs of one flock to the three
    replicas leave one flock of 3 monkeys on each (9 distinct), at the last generation. A
    flock whose users have no token on replicas 1 and 2 is listed by any replica's /summary."""
    auto = {
        "name": "auto",
        "count": 3,
        "user_spec": {"username_prefix": "bot-mobu-auto"},
        "business": {"type": "EmptyLoop"},
    }
    broken = {**auto, "name": "broken", "user_spec": {"username_prefix": "bot-mobu-broken"}}
    users = [f"bot-mobu-auto{i}" for i in (1, 2, 3)] + [f"bot-mobu-race{i}" for i in range(1, 10)]
    identity = {
        "provider": "static",
        "tokens": {u: f"tok-{u}" for u in [*users, "bot-mobu-broken1"]},
    }
    async with (
        run_gate() as gate,
        run_cluster(tmp_path, postgres.url, autostart=[auto, broken], identity=identity) as cluster,
    ):
        for index in range(3):
            await until(lambda i=index: _local_running(cluster, i, "auto", 1), "autostart")
        failures = await until(lambda: _autostart_failures(cluster, 0, 2), "failures of 1, 2")
        assert [(f["replica"], f["name"]) for f in failures] == [(1, "broken"), (2, "broken")]
        assert "bot-mobu-broken2" in failures[0]["error"]
        assert await _generation(postgres, "auto") == 1
        flock = http_flock("race", gate)
        responses = await asyncio.gather(*(cluster.put(i, flock) for i in range(3)))
        assert [r.status_code for r in responses] == [201, 201, 201]
        generation = await _generation(postgres, "race")
        assert generation == 3
        shares = [
            await until(lambda i=i: _local_running(cluster, i, "race", 3), "race") for i in range(3)
        ]
        assert len({name for share in shares for name in share}) == 9
        for index in range(3):
            await until(lambda i=index: _at_generation(cluster, i, generation), "generation")
            local = await cluster.json(index, "/flocks", local=True)
            assert local == (["auto", "broken", "race"] if index == 0 else ["auto", "race"])


async def _autostart_failures(cluster: Cluster, index: int, count: int) -> list[Any] | None:
    summary = await cluster.json(index, "/summary")
    if summary is None or len(summary["autostart_failures"]) != count:
        return None
    failures: list[Any] = summary["autostart_failures"]
    return failures


async def _at_generation(cluster: Cluster, index: int, generation: int) -> bool:
    rows = await cluster.json(index, "/flocks/race/summary?by=replica")
    return rows is not None and all(
        r["status"] == "reporting" and r.get("generation") == generation for r in rows
    )


async def _generation(postgres: PostgresServer, name: str) -> int:
    return await _desired(postgres, name, "generation")


async def _desired(postgres: PostgresServer, name: str, column: str) -> int:
    """A counter (``generation``, ``refresh``) of a desired flock, read from the store."""
    engine = create_async_engine(postgres.url)
    try:
        async with engine.connect() as connection:
            result = await connection.execute(
                text(f"SELECT {column} FROM replica_flocks WHERE name = :name"), {"name": name}
            )
            return int(result.scalar_one())
    finally:
        await engine.dispose()
