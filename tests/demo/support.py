"""Run the real ``mobu demo`` as a subprocess and account for every process it spawned.

The test process becomes a *child subreaper* (Linux ``PR_SET_CHILD_SUBREAPER``) while a demo
runs: whatever the demo leaves behind, even in other sessions or double-forked, is reparented to
the test process when the demo exits, so :meth:`DemoRun.leftovers` finds it among the test's own
children. The demo's process tree is also walked at each line it prints, and the PIDs it
announces on stderr are recorded, and none of them may be alive afterwards.
"""

from __future__ import annotations

import ctypes
import os
import queue
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO

import psutil

from mobu.platform.dachs import default_base_dir

__all__ = ["DemoRun", "subreaper"]

SRC = Path(__file__).resolve().parents[2] / "src"
EXIT_BOUND = 180.0
"""Seconds within which a demo must have exited (only a hang reaches it)."""
LINE_BOUND = 180.0
"""Seconds within which an expected line must appear (only a hang reaches it)."""

_PR_SET_CHILD_SUBREAPER = 36
_ANNOUNCED = re.compile(r"started .* \(pid (\d+)\)")


def _set_subreaper(on: bool) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_CHILD_SUBREAPER, int(on), 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")


@contextmanager
def subreaper() -> Iterator[set[int]]:
    """Make this process a child subreaper; yields the PIDs of its children beforehand."""
    before = {child.pid for child in psutil.Process().children()}
    _set_subreaper(on=True)
    try:
        yield before
    finally:
        _set_subreaper(on=False)


class DemoRun:
    """A ``mobu demo`` subprocess in its own process group, with its output read by threads.

    Parameters
    ----------
    before
        PIDs of this process's children before the demo (not the demo's).
    args
        Extra arguments of ``mobu demo``.
    merge_stderr
        Send the demo's stderr into its stdout pipe (``2>&1 |``).

    The demo's stdout is a pipe: read it here (:meth:`read_stdout`) or feed it to another
    command (:meth:`pipe_into`).
    """

    def __init__(self, before: set[int], *args: str, merge_stderr: bool = False) -> None:
        self.before = before
        self.seen: dict[int, float] = {}
        self.announced: set[int] = set()
        self.stderr_lines: list[str] = []
        self.stdout_lines: list[str] = []
        self._stderr: queue.Queue[str | None] = queue.Queue()
        self._stdout: queue.Queue[str | None] = queue.Queue()
        env = {**os.environ, "PYTHONPATH": str(SRC), "PYTHONUNBUFFERED": "1"}
        argv = [sys.executable, "-c", "from mobu.cli import main; main()", "demo"]
        self.proc = subprocess.Popen(
            [*argv, "--monkeys", "1", "--interval", "1", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT if merge_stderr else subprocess.PIPE,
            env=env,
            process_group=0,
        )
        self.started = psutil.Process(self.proc.pid).create_time()
        self.helpers: list[subprocess.Popen[bytes]] = []
        self._readers = []
        if not merge_stderr:
            self._readers.append(self._reader(self.proc.stderr, self._stderr, self.stderr_lines))

    def read_stdout(self) -> None:
        """Read the demo's stdout here."""
        self._readers.append(self._reader(self.proc.stdout, self._stdout, self.stdout_lines))

    def pipe_into(self, *argv: str, same_group: bool = False) -> None:
        """Pipe the demo's stdout into a command (``| head -5``), whose output is read here.

        ``same_group`` puts the command in the demo's process group, as a shell pipeline in a
        terminal is (so that a Ctrl-C reaches both).
        """
        assert self.proc.stdout is not None
        helper = subprocess.Popen(
            argv,
            stdin=self.proc.stdout,
            stdout=subprocess.PIPE,
            process_group=self.proc.pid if same_group else None,
        )
        self.proc.stdout.close()  # the command holds the only read end now
        self.helpers.append(helper)
        self.before.add(helper.pid)
        self._readers.append(self._reader(helper.stdout, self._stdout, self.stdout_lines))

    def _reader(
        self, stream: IO[bytes] | None, lines: queue.Queue[str | None], record: list[str]
    ) -> threading.Thread:
        def read() -> None:
            assert stream is not None
            for raw in stream:
                line = raw.decode(errors="replace").rstrip("\n")
                self.snapshot()
                if match := _ANNOUNCED.search(line):
                    self.announced.add(int(match.group(1)))
                record.append(line)
                lines.put(line)
            lines.put(None)

        thread = threading.Thread(target=read, daemon=True)
        thread.start()
        return thread

    def snapshot(self) -> None:
        """Remember every live descendant of the demo (PID and start time)."""
        with suppress(psutil.Error):
            for child in psutil.Process(self.proc.pid).children(recursive=True):
                with suppress(psutil.Error):
                    self.seen.setdefault(child.pid, child.create_time())

    def wait_line(self, pattern: str, *, stream: str = "stderr") -> str:
        """Block until the demo prints a line containing ``pattern`` on ``stream``."""
        lines = self._stderr if stream == "stderr" else self._stdout
        while True:
            line = lines.get(timeout=LINE_BOUND)
            if line is None:
                raise AssertionError(
                    f"the demo's {stream} ended before {pattern!r}:\n"
                    + "\n".join(self.stderr_lines)
                )
            if pattern in line:
                return line

    def signal_group(self, signum: signal.Signals) -> None:
        """Send ``signum`` to the demo's process group (what a terminal's Ctrl-C does)."""
        self.snapshot()
        os.killpg(self.proc.pid, signum)

    def signal(self, signum: signal.Signals) -> None:
        """Send ``signum`` to the demo alone (what ``timeout`` or ``kill`` does)."""
        self.snapshot()
        self.proc.send_signal(signum)

    def wait(self) -> int:
        """Wait for the demo to exit and its output to end; return its exit code."""
        code = self.proc.wait(timeout=EXIT_BOUND)
        for helper in self.helpers:
            helper.wait(timeout=EXIT_BOUND)
        for thread in self._readers:
            thread.join(timeout=EXIT_BOUND)
        self._close_pipes()
        return code

    def _close_pipes(self) -> None:
        """Close the read ends of every pipe (the readers have seen their end by now)."""
        for popen in [self.proc, *self.helpers]:
            for stream in (popen.stdout, popen.stderr):
                if stream is not None and not stream.closed:
                    with suppress(OSError):
                        stream.close()

    def leftovers(self) -> list[psutil.Process]:
        """Processes of the demo still running after it exited (reaps the dead ones).

        They are the demo's orphans, now children of this subreaper, with their descendants,
        and whatever was seen under the demo while it ran.
        """
        alive: dict[int, psutil.Process] = {}
        for child in psutil.Process().children():
            if child.pid in self.before or child.pid == self.proc.pid:
                continue
            with suppress(psutil.Error):
                if child.status() == psutil.STATUS_ZOMBIE:
                    with suppress(ChildProcessError):
                        os.waitpid(child.pid, os.WNOHANG)
                    continue
                alive[child.pid] = child
                for descendant in child.children(recursive=True):
                    alive[descendant.pid] = descendant
        for pid, started in self.seen.items():
            with suppress(psutil.Error):
                process = psutil.Process(pid)
                if process.create_time() == started and process.status() != psutil.STATUS_ZOMBIE:
                    alive[pid] = process
        for pid in self.announced - set(self.seen):  # gone before a walk saw it, or reused
            with suppress(psutil.Error):
                process = psutil.Process(pid)
                if (
                    process.create_time() >= self.started
                    and process.status() != psutil.STATUS_ZOMBIE
                ):
                    alive[pid] = process
        return list(alive.values())

    def dachs_directories(self) -> list[Path]:
        """DaCHS server directories of the demo that still exist."""
        return list(default_base_dir().glob(f"run-{self.proc.pid}-*"))

    def kill_all(self) -> None:
        """After the test: kill the demo if it still runs and whatever it left (by group, PID)."""
        if self.proc.poll() is None:
            with suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        for popen in [self.proc, *self.helpers]:
            popen.kill()
            popen.wait(timeout=EXIT_BOUND)
        for thread in self._readers:
            thread.join(timeout=EXIT_BOUND)
        self._close_pipes()
        processes = self.leftovers()
        for process in processes:
            with suppress(psutil.Error, ProcessLookupError, PermissionError):
                pgid = os.getpgid(process.pid)
                if pgid == process.pid:
                    os.killpg(pgid, signal.SIGKILL)
                process.kill()
        psutil.wait_procs(processes, timeout=10)
        for process in processes:
            with suppress(ChildProcessError):
                os.waitpid(process.pid, os.WNOHANG)

    def describe(self) -> str:
        """The demo's output, for assertion messages."""
        return "\n".join([*self.stderr_lines, "--- stdout:", *self.stdout_lines])
