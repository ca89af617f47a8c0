"""Helpers of the DaCHS and giftless fault tests: event waits, alert parsing, leak snapshots."""

from __future__ import annotations

import asyncio
import gc
import os
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from mobu.events import BusinessEvent, EventRecorder

__all__ = [
    "BOUND",
    "Snapshot",
    "alerted_types",
    "next_event",
    "recovered_types",
]

BOUND = 90.0
"""Generous bound on every wait: only a hang reaches it."""

_ALERT = re.compile(
    r"^:rotating_light: Monkey failure in flock \*(?P<flock>[^*]+)\*: (?P<type>\w+):"
)
_RECOVERY = re.compile(
    r"^:white_check_mark: Recovered: flock \*(?P<flock>[^*]+)\* \(\w+\) succeeds again after"
    r" (?P<count>\d+) failures? of (?P<type>\w+)"
)


async def next_event(
    recorder: EventRecorder,
    name: str,
    after: int,
    predicate: Callable[[BusinessEvent], bool],
) -> int:
    """Wait for the first event ``name`` after the first ``after`` that satisfies ``predicate``.

    Returns the count of ``name`` events up to and including it.
    """
    count = after
    async with asyncio.timeout(BOUND):
        while True:
            count += 1
            event = (await recorder.wait_for(name, count))[count - 1]
            assert isinstance(event, BusinessEvent)
            if predicate(event):
                return count


def alerted_types(messages: Iterable[dict[str, Any]], flock: str) -> list[str]:
    """Error types of the failure alerts about ``flock``, in order."""
    found = []
    for message in messages:
        match = _ALERT.match(message["text"])
        if match and match["flock"] == flock:
            found.append(match["type"])
    return found


def recovered_types(messages: Iterable[dict[str, Any]], flock: str) -> dict[str, int]:
    """Error type -> failure count of the recovery messages about ``flock``."""
    found: dict[str, int] = {}
    for message in messages:
        match = _RECOVERY.match(message["text"])
        if match and match["flock"] == flock:
            assert match["type"] not in found, f"two recoveries of {match['type']}"
            found[match["type"]] = int(match["count"])
    return found


def _fds() -> dict[int, str]:
    found = {}
    for name in os.listdir("/proc/self/fd"):
        try:
            found[int(name)] = os.readlink(f"/proc/self/fd/{name}")
        except OSError:  # the directory's own fd, closed by now
            continue
    return found


def _threads() -> set[tuple[int | None, str]]:
    # The event loop's default executor keeps its idle workers (asyncio_N) for the loop's life:
    # they belong to the test's loop, not to mobu.
    return {(t.ident, t.name) for t in threading.enumerate() if not t.name.startswith("asyncio_")}


def _children(servers: Iterable[int]) -> set[tuple[int, str]]:
    """Live children of this process, except the servers and their descendants."""
    excluded = set(servers)
    for pid in list(excluded):
        try:
            excluded.update(c.pid for c in psutil.Process(pid).children(recursive=True))
        except psutil.Error:
            continue
    found = set()
    for child in psutil.Process().children(recursive=True):
        try:
            if child.pid not in excluded:
                found.add((child.pid, " ".join(child.cmdline())))
        except psutil.Error:
            continue
    return found


@dataclass(frozen=True)
class Snapshot:
    """What the test process holds: fds, threads, child processes, mobu's temporary dirs."""

    fds: dict[int, str]
    threads: set[tuple[int | None, str]]
    children: set[tuple[int, str]]
    tempdirs: set[str]

    @classmethod
    def take(cls, tmp: Path, servers: Iterable[int] = (), prefix: str = "mobu-") -> Snapshot:
        """Snapshot now; ``servers`` are the PIDs of the backends (not counted as children).

        asyncio's child watcher thread of a subprocess (``waitpid-N``) outlives the wait for its
        exit by a moment: they are joined first (bounded; they end once their process has), and
        garbage is collected.
        """
        for thread in threading.enumerate():
            if thread.name.startswith("waitpid-"):
                thread.join(BOUND)
        # Measured: a TAP query cut off by the kill leaves its socket (CLOSE_WAIT) in a reference
        # cycle (pyvo's response in the exception's traceback); collecting closes it.
        gc.collect()
        return cls(
            fds=_fds(),
            threads=_threads(),
            children=_children(servers),
            tempdirs={p.name for p in tmp.iterdir() if p.name.startswith(prefix)},
        )

    def assert_nothing_leaked_since(self, before: Snapshot) -> None:
        """Fail with what is new since ``before``."""
        new_fds = {fd: target for fd, target in self.fds.items() if before.fds.get(fd) != target}
        sockets = [c for c in psutil.Process().net_connections("all") if c.fd in new_fds]
        assert not new_fds, f"fds leaked: {new_fds} {sockets}"
        assert not self.threads - before.threads, f"threads leaked: {self.threads - before.threads}"
        assert not self.children - before.children, f"processes leaked: {self.children}"
        assert not self.tempdirs - before.tempdirs, f"temp dirs leaked: {self.tempdirs}"
