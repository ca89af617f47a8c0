"""The processes ``mobu demo`` started: registered as they are spawned, stopped by group."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from dataclasses import dataclass

import psutil

from mobu.exceptions import MobuError
from mobu.platform.processtree import terminate

__all__ = ["ProcessRegistry", "ProcessScope", "StartAbandonedError"]

Log = Callable[[str], None]


class StartAbandonedError(MobuError, RuntimeError):
    """The demo is stopping: the component's start must not go on."""


@dataclass(frozen=True, slots=True)
class _Entry:
    process: psutil.Process
    label: str
    scope: str


class ProcessRegistry:
    """Every process the demo's components spawned, and how to stop them.

    A component's launcher calls its scope's :meth:`ProcessScope.spawned` right after each
    spawn, from whatever thread its blocking start runs in, so a stop at any moment knows every
    process, including those of a component whose start is still running. Stopping sends
    SIGTERM to the process group of each process and of each of its descendants (the servers
    run in their own sessions; a process in the demo's own group gets the signal alone), then
    SIGKILL to whatever is left after the grace. A scope (or the registry) stops accepting
    processes once it is stopped: a process registered later is stopped at once and its
    launcher gets :class:`StartAbandonedError`.

    Parameters
    ----------
    grace
        Seconds between SIGTERM and SIGKILL.
    log
        Where to report what was registered and what had to be stopped (the demo's stderr).
    """

    def __init__(self, *, grace: float = 10.0, log: Log | None = None) -> None:
        self.grace = grace
        self._log = log or (lambda _line: None)
        self._lock = threading.Lock()
        self._entries: list[_Entry] = []
        self._stopped: set[str] = set()
        self._closed = False
        self._preexisting = _children()

    def scope(self, name: str) -> ProcessScope:
        """Return the scope a component registers its processes in."""
        return ProcessScope(self, name)

    @property
    def pids(self) -> list[int]:
        """PIDs registered and not yet stopped, in the order they were spawned."""
        with self._lock:
            return [entry.process.pid for entry in self._entries]

    def register(self, pid: int, label: str, scope: str) -> None:
        """Record a process just spawned; stop it at once if its scope is already stopped.

        Raises
        ------
        StartAbandonedError
            The scope or the whole registry was stopped: the process was stopped too.
        """
        try:
            process = psutil.Process(pid)
        except psutil.NoSuchProcess:
            return
        with self._lock:
            late = self._closed or scope in self._stopped
            if not late:
                self._entries.append(_Entry(process, label, scope))
        self._log(f"  {scope}: started {label} (pid {pid})")
        if late:
            self._log(f"  {scope}: the demo is stopping, stopping {label} (pid {pid}) at once")
            terminate([process], self.grace)
            raise StartAbandonedError(f"{scope} is stopping")

    def stop(self, scope: str | None = None, *, own_children: bool = False) -> list[int]:
        """Stop the processes of ``scope`` (None: of every scope, and close the registry).

        Parameters
        ----------
        scope
            The scope to stop; None stops everything and refuses later registrations.
        own_children
            Also stop every other descendant of this process (the command's last sweep),
            except the trees of the children it already had when the registry was made.

        Returns
        -------
        list of int
            PIDs that were still running and had to be signalled.
        """
        with self._lock:
            if scope is None:
                self._closed = True
            else:
                self._stopped.add(scope)
            mine = [e for e in self._entries if scope is None or e.scope == scope]
            self._entries = [e for e in self._entries if e not in mine]
        roots = [entry.process for entry in reversed(mine)]
        if own_children:
            roots.extend(p for key, p in _children().items() if key not in self._preexisting)
        signalled = terminate(roots, self.grace)
        if signalled:
            labels = {e.process.pid: e.label for e in mine}
            names = ", ".join(f"{pid} ({labels.get(pid, 'child')})" for pid in signalled)
            self._log(f"  stopped processes: {names}")
        return signalled


@dataclass(frozen=True, slots=True)
class ProcessScope:
    """The part of a :class:`ProcessRegistry` that belongs to one component."""

    registry: ProcessRegistry
    name: str

    def spawned(self, pid: int, label: str) -> None:
        """Register a process the component just spawned (its launcher's ``on_spawn`` hook).

        Raises
        ------
        StartAbandonedError
            The demo is stopping: the process was stopped, the start must give up.
        """
        self.registry.register(pid, label, self.name)

    def stop(self) -> list[int]:
        """Stop this component's processes; later ones are stopped as they register."""
        return self.registry.stop(self.name)


def _children() -> dict[tuple[int, float], psutil.Process]:
    """This process's children, by PID and start time."""
    found: dict[tuple[int, float], psutil.Process] = {}
    with contextlib.suppress(psutil.Error):
        for child in psutil.Process().children():
            with contextlib.suppress(psutil.Error):
                found[child.pid, child.create_time()] = child
    return found
