"""Child processes of a DaCHS server directory: accounts, spawning, stopping and reaping by PID."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

from mobu.exceptions import MobuError
from mobu.platform.processtree import descendants, terminate

__all__ = [
    "PG_PORT",
    "Account",
    "DachsError",
    "ProcessGroup",
    "SpawnHook",
    "free_port",
    "pg_bindir",
    "reap_stale",
    "service_accounts",
    "tail",
]

PG_PORT = 5432
"""Port number in the name of the private Unix socket (there is no TCP listener)."""

_STOP_TIMEOUT = 15.0
_STEP_TIMEOUT = 300.0


SpawnHook = Callable[[int, str], None]
"""Called with the PID and a label of each child right after it is spawned (may raise to abort)."""


class DachsError(MobuError, RuntimeError):
    """The DaCHS server could not be started; the message includes the relevant log lines."""


def pg_bindir() -> Path | None:
    """Return the newest PostgreSQL ``bin`` directory whose server has pgsphere and q3c."""
    candidates = []
    for bindir in Path("/usr/lib/postgresql").glob("*/bin"):
        version = bindir.parent.name
        extensions = Path("/usr/share/postgresql") / version / "extension"
        if (
            (bindir / "initdb").exists()
            and (extensions / "pg_sphere.control").exists()
            and (extensions / "q3c.control").exists()
        ):
            candidates.append((float(version), bindir))
    return max(candidates)[1] if candidates else None


def free_port() -> int:
    """Return a loopback TCP port that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def tail(path: Path, lines: int = 25) -> str:
    """Return the last lines of a log file."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@dataclass(frozen=True)
class Account:
    """An OS account that child processes run as (switched to only when running as root)."""

    name: str

    @property
    def uid(self) -> int | None:
        """UID to switch to, or None when not root (then no switch)."""
        return pwd.getpwnam(self.name).pw_uid if os.geteuid() == 0 else None

    @property
    def gid(self) -> int | None:
        """GID to switch to, or None when not root."""
        return pwd.getpwnam(self.name).pw_gid if os.geteuid() == 0 else None

    @property
    def extra_groups(self) -> list[int] | None:
        """Supplementary groups: none when switching (drops root's), else unchanged."""
        return [] if os.geteuid() == 0 else None

    def env(self, extra: dict[str, str]) -> dict[str, str]:
        """Environment of a child: a minimal one plus ``extra``."""
        home = pwd.getpwnam(self.name).pw_dir
        env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "HOME": home if os.path.isdir(home) else "/",
        }
        env.update(extra)
        return env

    def chown(self, path: Path) -> None:
        """Give ``path`` and everything below it to this account (as root)."""
        if os.geteuid() != 0:
            return
        entry = pwd.getpwnam(self.name)
        os.chown(path, entry.pw_uid, entry.pw_gid)
        for dirpath, dirnames, filenames in os.walk(path):
            for name in [*dirnames, *filenames]:
                os.lchown(os.path.join(dirpath, name), entry.pw_uid, entry.pw_gid)


def service_accounts() -> tuple[Account, Account]:
    """Return the accounts that run PostgreSQL and DaCHS."""
    if os.geteuid() == 0:
        return Account("postgres"), Account("dachsroot")
    me = pwd.getpwuid(os.geteuid()).pw_name
    return Account(me), Account(me)


@dataclass
class ProcessGroup:
    """The processes started for one directory; each in its own session, recorded in ``pids``.

    ``on_spawn`` is told every child (servers and setup commands) as soon as it is spawned.
    """

    directory: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    on_spawn: SpawnHook | None = None

    def spawn(
        self, account: Account, argv: list[str], env: dict[str, str], log: str
    ) -> subprocess.Popen[bytes]:
        """Start a long-running child writing to ``log`` in the directory."""
        with (self.directory / log).open("ab") as out:
            process = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=account.env(env),
                cwd=self.directory,
                start_new_session=True,
                user=account.uid,
                group=account.gid,
                extra_groups=account.extra_groups,
            )
        self.processes.append(process)
        with (self.directory / "pids").open("a") as pids:
            pids.write(f"{process.pid}\n")
        if self.on_spawn is not None:
            self.on_spawn(process.pid, Path(log).stem)
        return process

    def run(self, account: Account, argv: list[str], env: dict[str, str], step: str) -> None:
        """Run one setup command to completion, logging to ``setup.log``."""
        logfile = self.directory / "setup.log"
        with logfile.open("ab") as out:
            out.write(f"$ {' '.join(argv)}\n".encode())
            out.flush()
            with subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=account.env(env),
                cwd=self.directory,
                user=account.uid,
                group=account.gid,
                extra_groups=account.extra_groups,
            ) as process:
                try:
                    if self.on_spawn is not None:
                        self.on_spawn(process.pid, step)
                    returncode = process.wait(timeout=_STEP_TIMEOUT)
                except BaseException:
                    process.kill()
                    raise
        if returncode != 0:
            raise DachsError(f"{step} failed (exit {returncode}):\n{tail(logfile)}")

    def start_postgres(self, account: Account, deadline: float) -> Path:
        """Start PostgreSQL on ``pgdata`` with its socket in ``pgsocket``; wait until ready."""
        bindir = pg_bindir()
        assert bindir is not None
        sockets = self.directory / "pgsocket"
        sockets.mkdir(mode=0o755, exist_ok=True)
        account.chown(sockets)
        postgres = self.spawn(
            account,
            [
                str(bindir / "postgres"),
                "-D", str(self.directory / "pgdata"),
                "-k", str(sockets),
                "-p", str(PG_PORT),
                "-c", "listen_addresses=",
                "-c", "fsync=off",
                "-c", "synchronous_commit=off",
                "-c", "full_page_writes=off",
                "-c", "client_connection_check_interval=1s",
                "-c", "statement_timeout=300s",
            ],
            {},
            "postgres.log",
        )  # fmt: skip
        delay = 0.05
        while True:  # readiness of a server just spawned: short backoff under a deadline
            ready = subprocess.run(
                [str(bindir / "pg_isready"), "-q", "-h", str(sockets), "-p", str(PG_PORT)],
                check=False,
                capture_output=True,
            )
            if ready.returncode == 0:
                return sockets
            if postgres.poll() is not None or time.monotonic() > deadline:
                log = tail(self.directory / "postgres.log")
                raise DachsError(f"PostgreSQL did not start:\n{log}")
            time.sleep(delay)
            delay = min(delay * 2, 0.5)

    def forget(self, process: subprocess.Popen[bytes]) -> None:
        """Drop a process that has exited."""
        self.processes.remove(process)

    def stop(self) -> None:
        """Stop every process, newest first: SIGINT to its group, then SIGKILL.

        Descendants that outlive their parent are stopped the same way: DaCHS runs each async
        TAP job in a ``dachs`` process that calls ``setsid`` so as to survive a server restart.
        """
        for process in reversed(self.processes):
            family = descendants(process.pid)
            _terminate(process)
            terminate(family, _STOP_TIMEOUT, first_signal=signal.SIGINT)
        self.processes.clear()
        with suppress(OSError):
            (self.directory / "pids").unlink()


def _terminate(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    # SIGINT is PostgreSQL's fast shutdown and stops twisted (DaCHS) cleanly too.
    try:
        os.killpg(process.pid, signal.SIGINT)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=_STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=_STOP_TIMEOUT)


def _is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def reap_stale(base: Path) -> None:
    """Stop the servers of dead owners under ``base`` (by their recorded PIDs) and remove them.

    A server (or template build) directory is ``<kind>-<owner pid>-<hex>``; if its owner is gone
    (killed before it could stop them), each process recorded in its ``pids`` file that still runs
    from that directory is killed by PID (process group), and the directory is removed.
    """
    for directory in [*base.glob("run-*-*"), *base.glob("build-*-*")]:
        try:
            owner = int(directory.name.split("-")[1])
        except (IndexError, ValueError):
            continue
        if owner == os.getpid() or _is_alive(owner):
            continue
        pids_file = directory / "pids"
        pids = pids_file.read_text().split() if pids_file.exists() else []
        for pid in reversed([int(p) for p in pids if p.isdigit()]):
            try:
                cwd = os.readlink(f"/proc/{pid}/cwd")
            except OSError:
                continue
            if cwd == str(directory) or cwd.startswith(f"{directory}/"):
                with suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGKILL)
        shutil.rmtree(directory, ignore_errors=True)
