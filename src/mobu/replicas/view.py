"""A replica's report of its flocks, and the merged view of every replica's reports.

A report is plain JSON (it travels through the heartbeat table): per flock, the generation the
replica runs, its summary (with monkey states), the statistics exports (whole run and window,
see :meth:`StatsCollector.export`), its monkeys and its configuration as shown.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from mobu.models.flock import FlockConfig, FlockData, FlockSummary
from mobu.models.monkey import MonkeyData, MonkeyState
from mobu.models.replicas import (
    GroupFlockData,
    GroupFlockSummary,
    ReplicaFlockRow,
    ReplicaStatus,
)
from mobu.models.stats import EventStatistics
from mobu.services.flock import Flock
from mobu.services.stats import StatsCollector
from mobu.services.users import flock_users

__all__ = [
    "ReplicaReport",
    "decode_state",
    "encode_state",
    "expected_share",
    "flock_report",
    "merge_data",
    "merge_summary",
    "rows",
]

STATE_FORMAT = 2
"""Marks a heartbeat state with its flocks and autostart failures (before: the flocks only)."""


def flock_report(
    flock: Flock, generation: int | None, stats: StatsCollector | None
) -> dict[str, Any]:
    """The report of one local flock."""
    summary = flock.summary()
    data = summary.model_dump(mode="json", exclude={"statistics"})
    data["monkey_states"] = {str(k): v for k, v in summary.monkey_states.items()}
    return {
        "generation": generation,
        "summary": data,
        "total": {} if stats is None else stats.export(flock.name),
        "window": {} if stats is None else stats.export(flock.name, window=True),
        "window_seconds": None if stats is None else stats.window.total_seconds(),
        "monkeys": [m.dump().model_dump(mode="json") for m in flock.monkeys],
        "config": flock.config.model_dump(mode="json", exclude_unset=True),
    }


@dataclass(slots=True)
class ReplicaReport:
    """What one replica last reported (``fresh``: within the staleness window)."""

    replica: int
    fresh: bool
    seen: float | None = None
    url: str | None = None
    flocks: dict[str, dict[str, Any]] = field(default_factory=dict)
    autostart_failures: list[dict[str, str]] = field(default_factory=list)
    """Its flocks that failed to start: ``{"name", "error"}``."""

    @property
    def last_seen(self) -> datetime | None:
        """When it last reported."""
        return None if self.seen is None else datetime.fromtimestamp(self.seen, tz=UTC)

    def monkeys(self, flock: str) -> list[str]:
        """Names of its monkeys of ``flock``."""
        return [m["name"] for m in self.flocks.get(flock, {}).get("monkeys", [])]


def encode_state(report: ReplicaReport) -> str:
    """The JSON state of a heartbeat: the report's flocks and autostart failures."""
    state = {
        "format": STATE_FORMAT,
        "flocks": report.flocks,
        "autostart_failures": report.autostart_failures,
    }
    return json.dumps(state)


def decode_state(state: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """The flocks and autostart failures of a heartbeat state (an older replica's: flocks only)."""
    if state.get("format") != STATE_FORMAT:
        return state, []
    return state.get("flocks", {}), list(state.get("autostart_failures", []))


def expected_share(spec: FlockConfig | None, replica_count: int, replica: int) -> int:
    """Monkeys of ``replica``'s share of a flock (0 without a desired spec)."""
    if spec is None:
        return 0
    return len(flock_users(spec, replica_count, replica))


def _statistics(parts: list[dict[str, Any]]) -> list[EventStatistics] | None:
    seconds = next((p["window_seconds"] for p in parts if p.get("window_seconds")), None)
    if seconds is None:
        return None
    totals = StatsCollector.merge_exports(p["total"] for p in parts)
    windows = StatsCollector.merge_exports(p["window"] for p in parts)
    return [
        EventStatistics(
            event=name,
            total=total,
            window=windows.get(name, total.model_copy(update={"count": 0, "failures": 0})),
            window_seconds=seconds,
        )
        for name, total in totals.items()
    ]


def _status(
    report: ReplicaReport, name: str, spec: FlockConfig | None, count: int
) -> ReplicaStatus:
    part = report.flocks.get(name) if report.fresh else None
    return ReplicaStatus(
        replica=report.replica,
        status="reporting" if report.fresh else "missing",
        last_seen=report.last_seen,
        expected_monkeys=expected_share(spec, count, report.replica),
        monkey_count=0 if part is None else int(part["summary"]["monkey_count"]),
    )


def merge_summary(
    name: str, spec: FlockConfig | None, reports: list[ReplicaReport]
) -> GroupFlockSummary | None:
    """The summary of ``name`` over every reporting replica (None: no replica has it)."""
    parts = [r.flocks[name] for r in reports if r.fresh and name in r.flocks]
    if not parts and spec is None:
        return None
    summaries = [FlockSummary.model_validate(p["summary"]) for p in parts]
    states = dict.fromkeys(MonkeyState, 0)
    for part in parts:
        for state, n in part["summary"].get("monkey_states", {}).items():
            states[MonkeyState(state)] += int(n)
    starts = [s.start_time for s in summaries]
    statuses = [_status(r, name, spec, len(reports)) for r in reports]
    return GroupFlockSummary(
        name=name,
        business=summaries[0].business if summaries else (spec.business.type if spec else ""),
        start_time=None if not starts or None in starts else max(s for s in starts if s),
        monkey_count=sum(s.monkey_count for s in summaries),
        started_count=sum(s.started_count for s in summaries),
        success_count=sum(s.success_count for s in summaries),
        failure_count=sum(s.failure_count for s in summaries),
        statistics=_statistics(parts),
        monkey_states=states,
        expected_count=0 if spec is None else spec.count,
        missing_count=sum(s.expected_monkeys for s in statuses if s.status == "missing"),
        replicas=statuses,
    )


def rows(
    name: str, spec: FlockConfig | None, reports: list[ReplicaReport]
) -> list[ReplicaFlockRow]:
    """One row per replica of a flock (``?by=replica``)."""
    result = []
    for report in reports:
        part = report.flocks.get(name)
        summary = None
        if part is not None:
            summary = FlockSummary.model_validate(part["summary"])
            summary.statistics = _statistics([part])
        result.append(
            ReplicaFlockRow(
                replica=report.replica,
                status="reporting" if report.fresh else "missing",
                last_seen=report.last_seen,
                expected_monkeys=expected_share(spec, len(reports), report.replica),
                generation=None if part is None else part.get("generation"),
                summary=summary,
            )
        )
    return result


def merge_data(name: str, local: FlockData | None, reports: list[ReplicaReport]) -> GroupFlockData:
    """A flock with the monkeys of every reporting replica (``local``: this replica's, live)."""
    monkeys: list[MonkeyData] = []
    config = None if local is None else local.config
    for report in reports:
        part = report.flocks.get(name)
        if not report.fresh or part is None:
            continue
        if config is None:
            config = FlockConfig.model_validate(part["config"])
        monkeys += [MonkeyData.model_validate(m) for m in part["monkeys"]]
    if config is None:
        raise ValueError(f"no replica reports flock {name}")
    return GroupFlockData(
        name=name,
        config=config,
        monkeys=sorted(monkeys, key=lambda m: m.name),
        missing_replicas=[r.replica for r in reports if not r.fresh],
    )
