"""The incident model of the alert channels: failures by root cause, deduplicated and recovered.

Pure bookkeeping: no I/O, no timers, no clock but the one it is given. The channel (Slack) asks
it what to post and runs the deduplication window's timer itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

__all__ = ["Incident", "IncidentBook", "IncidentKey", "Recovery"]


def _now() -> datetime:
    return datetime.now(tz=UTC)


@dataclass(frozen=True, slots=True)
class IncidentKey:
    """The root cause of a failure: its flock, error type and, for notebooks, notebook and cell.

    ``flock`` is None for a solitary run, whose incidents never recover (no later success).
    """

    flock: str | None
    error_type: str
    notebook: str | None = None
    cell: str | None = None


@dataclass(slots=True)
class Incident:
    """The failures of one root cause since it was first alerted."""

    key: IncidentKey
    business: str
    since: datetime
    failures: int = 1
    """Failures since the incident opened, the first included."""
    suppressed: int = 0
    """Failures counted in the current window but not yet posted."""
    window_open: bool = True
    """Whether a deduplication window runs (further failures are then only counted)."""
    usernames: set[str] = field(default_factory=set)
    """Monkeys that failed this way; a success of one of them closes the incident."""


@dataclass(frozen=True, slots=True)
class Recovery:
    """An incident closed by a success, at ``at``."""

    incident: Incident
    at: datetime


class IncidentBook:
    """The open incidents, by root cause.

    A failure of a new root cause opens an incident and is alerted (:meth:`failure` returns
    True); the caller then starts a deduplication window. Failures within the window are only
    counted; at its end (:meth:`window_end`) the caller posts their count, if any, and starts
    another window, else the window closes and the next failure is alerted again. A success of
    a monkey that failed (for a notebook incident: a whole successful run of that notebook)
    closes the incident (:meth:`success`).

    Parameters
    ----------
    clock
        Current time, for the start of incidents and their recovery.
    """

    def __init__(self, clock: Callable[[], datetime] = _now) -> None:
        self._clock = clock
        self._incidents: dict[IncidentKey, Incident] = {}
        self._by_flock: dict[str, set[IncidentKey]] = {}

    def __len__(self) -> int:
        return len(self._incidents)

    def __iter__(self) -> Iterator[Incident]:
        return iter(list(self._incidents.values()))

    def get(self, key: IncidentKey) -> Incident | None:
        """The open incident of ``key``, if any."""
        return self._incidents.get(key)

    def failure(self, key: IncidentKey, *, business: str, monkey: str) -> bool:
        """Count one failure of ``monkey``; True if it is to be alerted (a window then starts)."""
        incident = self._incidents.get(key)
        if incident is None:
            incident = Incident(key=key, business=business, since=self._clock())
            self._incidents[key] = incident
            if key.flock is not None:
                self._by_flock.setdefault(key.flock, set()).add(key)
        elif incident.window_open:
            incident.failures += 1
            incident.suppressed += 1
            incident.usernames.add(monkey)
            return False
        else:
            incident.failures += 1
        incident.usernames.add(monkey)
        incident.window_open = True
        return True

    def window_end(self, key: IncidentKey) -> int:
        """End the window of ``key``: the failures it counted (then another window starts).

        0 means none (or no such incident): the window closes, so the next failure is alerted.
        """
        incident = self._incidents.get(key)
        if incident is None:
            return 0
        count, incident.suppressed = incident.suppressed, 0
        if not count:
            incident.window_open = False
        return count

    def watches(self, flock: str | None) -> bool:
        """Whether ``flock`` has an incident that a success could close."""
        return flock is not None and flock in self._by_flock

    def success(
        self, flock: str | None, username: str, *, notebook: str | None = None, cell: bool = False
    ) -> list[Recovery]:
        """A success of ``username`` in ``flock``: close the incidents it ends.

        ``notebook`` is the notebook of the success, if any, and ``cell`` whether it is the
        success of one cell (which never closes a notebook incident, only a whole run does).
        """
        keys = self._by_flock.get(flock) if flock is not None else None
        if not keys:
            return []
        recoveries = []
        for key in list(keys):
            incident = self._incidents[key]
            if username not in incident.usernames:
                continue
            if key.notebook is not None and (notebook != key.notebook or cell):
                continue
            self._close(key)
            recoveries.append(Recovery(incident=incident, at=self._clock()))
        return recoveries

    def _close(self, key: IncidentKey) -> None:
        del self._incidents[key]
        if key.flock is not None:
            keys = self._by_flock[key.flock]
            keys.discard(key)
            if not keys:
                del self._by_flock[key.flock]
