"""Stop a tree of processes by process group and wait for their exit, by PID (Linux)."""

from __future__ import annotations

import os
import select
import signal
import time
from collections.abc import Iterable

import psutil

__all__ = ["descendants", "terminate", "wait_exited"]

_KILL_WAIT = 10.0
"""Seconds to wait for processes to vanish after SIGKILL."""


def descendants(pid: int) -> list[psutil.Process]:
    """The live descendants of ``pid`` (empty if it is gone)."""
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []


def _family(roots: Iterable[psutil.Process]) -> dict[int, psutil.Process]:
    """The live roots and every descendant of theirs, by PID."""
    found: dict[int, psutil.Process] = {}
    for root in roots:
        try:
            if not root.is_running() or root.status() == psutil.STATUS_ZOMBIE:
                continue
            found.setdefault(root.pid, root)
            for child in root.children(recursive=True):
                found.setdefault(child.pid, child)
        except psutil.Error:
            continue
    return found


def _signal(processes: Iterable[psutil.Process], signum: signal.Signals) -> None:
    """Signal the group of each process that leads its own group, else the process itself."""
    ours = os.getpgrp()
    groups: set[int] = set()
    for process in processes:
        try:
            if not process.is_running():
                continue
            pgid = os.getpgid(process.pid)
            if pgid == process.pid and pgid != ours:
                if pgid not in groups:
                    groups.add(pgid)
                    os.killpg(pgid, signum)
            else:
                process.send_signal(signum)
        except (ProcessLookupError, PermissionError, psutil.Error):
            continue


def wait_exited(processes: list[psutil.Process], timeout: float) -> list[psutil.Process]:
    """Wait until each process has exited (a zombie counts); return those still running.

    Waits on a pidfd per process (no polling), which also works for processes that are not
    children of this one and for zombies nobody reaps yet.
    """
    watched: dict[int, psutil.Process] = {}
    try:
        for process in processes:
            try:
                fd = os.pidfd_open(process.pid)
            except ProcessLookupError:
                continue
            if process.is_running():  # not a reused PID
                watched[fd] = process
            else:
                os.close(fd)
        poller = select.poll()
        for fd in watched:
            poller.register(fd, select.POLLIN)
        deadline = time.monotonic() + timeout
        while watched and (remaining := deadline - time.monotonic()) > 0:
            for fd, _ in poller.poll(remaining * 1000):
                poller.unregister(fd)
                os.close(fd)
                del watched[fd]
        return list(watched.values())
    finally:
        for fd in watched:
            os.close(fd)


def terminate(
    roots: Iterable[psutil.Process],
    grace: float,
    *,
    first_signal: signal.Signals = signal.SIGTERM,
) -> list[int]:
    """Stop ``roots`` and their descendants: ``first_signal`` to their groups, SIGKILL after
    ``grace``; returns once all have exited (or after a bounded wait once killed).

    Returns the PIDs that were still running (and so were signalled).
    """
    family = list(_family(roots).values())
    if not family:
        return []
    _signal(family, first_signal)
    alive = wait_exited(family, grace)
    if alive:
        _signal(alive, signal.SIGKILL)
        wait_exited(alive, _KILL_WAIT)
    return [process.pid for process in family]
