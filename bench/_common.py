"""Shared pieces of the benchmark scripts: the target, pinned processes, sampling, tables."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
VENV_BIN = Path(sys.executable).parent
PYTHON = sys.executable
RESULTS = BENCH / "results"


def _private_state_home() -> None:
    """Give every mobu a benchmark starts a throw-away data directory, never the user's own.

    A worker that builds the service would otherwise write its history database and monkey logs
    to ``~/.local/state/mobu``; an explicit ``XDG_STATE_HOME`` or ``MOBU_DATA_DIR`` is kept.
    """
    if "XDG_STATE_HOME" in os.environ or "MOBU_DATA_DIR" in os.environ:
        return
    import atexit
    import shutil
    import tempfile

    state = tempfile.mkdtemp(prefix="mobu-bench-state-")
    os.environ["XDG_STATE_HOME"] = state
    atexit.register(shutil.rmtree, state, ignore_errors=True)


_private_state_home()


def has_uvloop() -> bool:
    """Whether uvloop is installed (the service then runs on it, as uvicorn picks it)."""
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return False
    return True


def loop_env(loop: str) -> dict[str, str]:
    """Environment for a mobu worker: ``auto`` uses uvloop when installed, like the service."""
    use = has_uvloop() if loop == "auto" else loop == "uvloop"
    return {"MOBU_BENCH_UVLOOP": "1" if use else "0"}


def cores() -> list[int]:
    """CPUs this process may run on."""
    try:
        return sorted(os.sched_getaffinity(0))
    except AttributeError:
        return list(range(os.cpu_count() or 1))


def generator_core() -> int | None:
    """Core for the load generator (the first one), None if there is only one."""
    available = cores()
    return available[0] if len(available) > 1 else None


def target_core() -> int | None:
    """Core for the target and the driver (the last one), None if there is only one."""
    available = cores()
    return available[-1] if len(available) > 1 else None


def _pinned(core: int | None) -> Any:
    def pin() -> None:
        if core is not None:
            with contextlib.suppress(OSError, AttributeError):
                os.sched_setaffinity(0, {core})

    return pin


def spawn(
    argv: Sequence[str], *, core: int | None, env: dict[str, str] | None = None, **kwargs: Any
) -> subprocess.Popen[str]:
    """Start a process in its own process group, pinned to ``core``."""
    return subprocess.Popen(
        list(argv),
        preexec_fn=_pinned(core),  # only sets the CPU affinity
        start_new_session=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        **kwargs,
    )


def stop(process: subprocess.Popen[str], timeout: float = 20.0) -> None:
    """Stop a process started by :func:`spawn` (its whole group), by its PID."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(5)


class Target:
    """The loopback HTTP target (``bench/target.py``) in its own pinned process."""

    def __init__(self) -> None:
        self.process = spawn(
            [PYTHON, str(BENCH / "target.py"), str(target_core() or 0)],
            core=target_core(),
            stdout=subprocess.PIPE,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline().split()
        if len(line) != 2 or line[0] != "PORT":
            stop(self.process)
            raise RuntimeError(f"target did not start: {line}")
        self.port = int(line[1])
        self.url = f"http://127.0.0.1:{self.port}/"
        self.psutil = psutil.Process(self.process.pid)

    def counts(self) -> tuple[int, int]:
        """Requests served so far and open connections."""
        with urllib.request.urlopen(self.url + "__count", timeout=10) as response:
            served, connections = response.read().split()
        return int(served), int(connections)

    def served(self) -> int:
        """Requests served so far."""
        return self.counts()[0]

    def wait_served(self, at_least: int, deadline: float) -> bool:
        """Wait (short backoff, overall deadline) until the target has served ``at_least``."""
        delay = 0.05
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            if self.served() >= at_least:
                return True
            time.sleep(delay)
            delay = min(delay * 1.5, 0.5)
        return False

    def close(self) -> None:
        """Stop the target."""
        stop(self.process)

    def __enter__(self) -> Target:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def cpu_seconds(process: psutil.Process) -> float:
    """User + system CPU seconds of a process and its children so far."""
    times = process.cpu_times()
    return times.user + times.system + times.children_user + times.children_system


def rss_mb(pid: int) -> float:
    """Resident set size in MB."""
    return psutil.Process(pid).memory_info().rss / 1_048_576


def median(values: Sequence[float]) -> float:
    """Median, NaN if empty."""
    return statistics.median(values) if values else float("nan")


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(fraction * len(sorted_values)) - 1))
    return sorted_values[index]


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines.extend("| " + " | ".join(str(c) for c in row) + " |" for row in rows)
    return "\n".join(lines)


def fmt(value: float, digits: int = 0) -> str:
    """Number with thousands separators."""
    if value != value:  # NaN
        return "n/a"
    return f"{value:,.{digits}f}"


def machine() -> dict[str, str]:
    """Where the benchmark ran."""
    model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    versions = {}
    for package in ("locust", "aiohttp", "structlog", "pydantic", "uvloop"):
        with contextlib.suppress(Exception):
            from importlib.metadata import version

            versions[package] = version(package)
    return {
        "date": datetime.now(tz=UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": str(os.cpu_count()),
        "cpu": model,
        "python": platform.python_version(),
        "kernel": platform.release(),
        "memory": f"{psutil.virtual_memory().total / 2**30:.0f} GiB",
        "load_average": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "versions": ", ".join(f"{k} {v}" for k, v in versions.items()),
    }


def save(name: str, result: dict[str, Any]) -> Path:
    """Write a result as JSON under bench/results/."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(result, indent=2, default=str))
    return path


def read_json(path: Path) -> Any:
    """Load a JSON file."""
    return json.loads(path.read_text())


@contextlib.contextmanager
def temporary_file(suffix: str) -> Iterator[Path]:
    """A path under bench/results/tmp that is removed afterwards."""
    directory = RESULTS / "tmp"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{os.getpid()}-{time.monotonic_ns()}{suffix}"
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)
