"""The incident model of the alert channels, without HTTP, timers or a real clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from mobu.alerts.incidents import IncidentBook, IncidentKey

START = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)


def ticking() -> Iterator[datetime]:
    """A clock that advances one minute at each reading."""
    minute = 0
    while True:
        yield START + timedelta(minutes=minute)
        minute += 1


def book() -> IncidentBook:
    clock = ticking()
    return IncidentBook(clock=lambda: next(clock))


CELL = IncidentKey("flaky", "CellError", "tutorials/01-intro.ipynb", "cell-7")


def test_failures_within_a_window_are_counted_not_alerted() -> None:
    """The first failure alerts; the next ones are counted until a window ends with none."""
    incidents = book()
    assert incidents.failure(CELL, business="Runner", monkey="bot-1") is True
    assert incidents.failure(CELL, business="Runner", monkey="bot-2") is False
    assert incidents.failure(CELL, business="Runner", monkey="bot-1") is False
    assert incidents.window_end(CELL) == 2
    assert incidents.failure(CELL, business="Runner", monkey="bot-1") is False
    assert incidents.window_end(CELL) == 1
    assert incidents.window_end(CELL) == 0
    assert incidents.failure(CELL, business="Runner", monkey="bot-3") is True
    incident = incidents.get(CELL)
    assert incident is not None
    assert (incident.failures, incident.suppressed, incident.window_open) == (5, 0, True)
    assert incident.usernames == {"bot-1", "bot-2", "bot-3"}
    assert incident.since == START
    assert len(incidents) == 1


def test_each_root_cause_is_its_own_incident() -> None:
    """Another cell, notebook, error type or flock opens another incident, alerted at once."""
    incidents = book()
    keys = [
        CELL,
        IncidentKey("flaky", "CellError", "tutorials/01-intro.ipynb", "cell-8"),
        IncidentKey("flaky", "CellError", "tutorials/02-next.ipynb", "cell-7"),
        IncidentKey("flaky", "TimeoutError", "tutorials/01-intro.ipynb", "cell-7"),
        IncidentKey("other", "CellError", "tutorials/01-intro.ipynb", "cell-7"),
        IncidentKey("flaky", "CellError"),
    ]
    assert [incidents.failure(k, business="Runner", monkey="bot-1") for k in keys] == [True] * 6
    assert len(incidents) == 6
    assert incidents.window_end(IncidentKey("nowhere", "CellError")) == 0


def test_a_success_of_the_failed_monkey_recovers() -> None:
    """Only a success of a monkey that failed, in the same flock, closes the incident."""
    incidents = book()
    key = IncidentKey("ping", "HTTPCheckError")
    incidents.failure(key, business="HTTPCheck", monkey="bot-1")
    incidents.failure(key, business="HTTPCheck", monkey="bot-1")
    assert incidents.watches("ping")
    assert not incidents.watches("pong")
    assert incidents.success("ping", "bot-2") == []
    assert incidents.success("pong", "bot-1") == []
    (recovery,) = incidents.success("ping", "bot-1")
    assert recovery.incident.key == key
    assert recovery.incident.business == "HTTPCheck"
    assert recovery.incident.failures == 2
    assert recovery.at - recovery.incident.since == timedelta(minutes=1)
    assert len(incidents) == 0
    assert not incidents.watches("ping")
    assert incidents.success("ping", "bot-1") == []


def test_a_notebook_incident_needs_a_whole_run_of_its_notebook() -> None:
    """A cell's success or another notebook's does not close a notebook incident."""
    incidents = book()
    incidents.failure(CELL, business="Runner", monkey="bot-1")
    assert incidents.success("flaky", "bot-1") == []
    assert incidents.success("flaky", "bot-1", notebook="tutorials/02-next.ipynb") == []
    assert incidents.success("flaky", "bot-1", notebook=CELL.notebook, cell=True) == []
    (recovery,) = incidents.success("flaky", "bot-1", notebook=CELL.notebook)
    assert recovery.incident.key == CELL


def test_one_success_closes_every_incident_it_ends() -> None:
    """A success closes all the monkey's incidents in the flock that it ends, and only those."""
    incidents = book()
    plain = IncidentKey("flaky", "KernelError")
    incidents.failure(plain, business="Runner", monkey="bot-1")
    incidents.failure(CELL, business="Runner", monkey="bot-1")
    (recovery,) = incidents.success("flaky", "bot-1", notebook="tutorials/02-next.ipynb")
    assert recovery.incident.key == plain
    assert [i.key for i in incidents] == [CELL]


def test_solitary_incidents_never_recover() -> None:
    """A solitary run's incident (no flock) is deduplicated but no success closes it."""
    incidents = book()
    key = IncidentKey(None, "HTTPCheckError")
    assert incidents.failure(key, business="HTTPCheck", monkey="bot-1") is True
    assert incidents.failure(key, business="HTTPCheck", monkey="bot-1") is False
    assert not incidents.watches(None)
    assert incidents.success(None, "bot-1") == []
    assert len(incidents) == 1
