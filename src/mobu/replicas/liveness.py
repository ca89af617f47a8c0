"""Liveness of the group: which replicas are silent, and the alerts and recoveries to post.

Pure bookkeeping (no I/O): :meth:`SilenceWatch.check` is given the reports and the desired
flocks and returns the messages to post. One replica posts for the group, the lowest index
that reports (a change of that replica may post an alert twice, never miss one).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mobu.alerts.messages import plural
from mobu.models.flock import FlockConfig
from mobu.replicas.view import ReplicaReport, expected_share

__all__ = ["Silence", "SilenceWatch", "replica_message"]


@dataclass(frozen=True, slots=True)
class Silence:
    """A replica silent beyond the staleness window."""

    replica: int
    since: datetime | None
    """Its last heartbeat (None: it never reported)."""
    monkeys: int
    """Monkeys of its share of the desired flocks, not running."""


def replica_message(text: str) -> dict[str, Any]:
    """A Slack message with ``text`` as fallback and as its one section."""
    section = {"type": "section", "text": {"type": "mrkdwn", "text": text, "verbatim": True}}
    return {"text": text, "blocks": [section]}


def _clock_text(moment: datetime | None) -> str:
    return "it started" if moment is None else moment.strftime("%H:%M:%S UTC")


class SilenceWatch:
    """Tracks silent replicas; says when one falls silent and when it has resumed its share.

    Parameters
    ----------
    replica_index
        This replica (it posts only while it is the lowest reporting index).
    post
        Delivers a message (a Slack message dict) to the alert channels.
    """

    def __init__(self, replica_index: int, post: Callable[[dict[str, Any]], None]) -> None:
        self._index = replica_index
        self._post = post
        self.silent: dict[int, Silence] = {}

    def check(
        self, reports: list[ReplicaReport], desired: dict[str, tuple[FlockConfig, int]]
    ) -> list[str]:
        """Compare with the last check; post and return the texts of what changed.

        ``desired`` maps each flock to its spec and generation; a replica has resumed once it
        reports again and runs every desired flock at its generation.
        """
        count = len(reports)
        texts: list[str] = []
        leader = min((r.replica for r in reports if r.fresh), default=None)
        for report in reports:
            known = self.silent.get(report.replica)
            if not report.fresh:
                if known is None:
                    monkeys = sum(
                        expected_share(s, count, report.replica) for s, _ in desired.values()
                    )
                    silence = Silence(report.replica, report.last_seen, monkeys)
                    self.silent[report.replica] = silence
                    texts.append(
                        f":rotating_light: mobu replica {report.replica} silent since"
                        f" {_clock_text(report.last_seen)},"
                        f" {plural(monkeys, 'monkey')} not running"
                    )
                continue
            if known is not None and _resumed(report, desired):
                del self.silent[report.replica]
                texts.append(
                    f":white_check_mark: mobu replica {report.replica} is back and runs its"
                    f" share again ({plural(known.monkeys, 'monkey')} were not running"
                    f" since {_clock_text(known.since)})"
                )
        if leader == self._index:
            for text in texts:
                self._post(replica_message(text))
        return texts


def _resumed(report: ReplicaReport, desired: dict[str, tuple[FlockConfig, int]]) -> bool:
    for name, (_, generation) in desired.items():
        part = report.flocks.get(name)
        if part is None or part.get("generation") != generation:
            return False
        summary = part["summary"]
        if summary.get("started_count", 0) < summary.get("monkey_count", 0):
            return False
    return True
