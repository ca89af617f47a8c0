"""Start and stop a private GAVO DaCHS server (TAP, UWS, SIA v2) on a free loopback port.

Each :class:`DachsServer` is self-contained under one directory (by default
``.services/dachs/run-<pid>-<random>/`` in the repository): its own PostgreSQL data directory,
listening only on a Unix socket there, and its own DaCHS root directory and configuration file
(``GAVOSETTINGS``). Nothing touches ``/etc/gavo.rc``, ``/var/gavo`` or the system's PostgreSQL
cluster, so several servers (tests and the demo) can run at once. DaCHS itself comes from Debian
(``scripts/install/dachs.sh``) and runs on Debian's Python; mobu only talks HTTP to it.

As root, PostgreSQL runs as ``postgres`` and DaCHS as ``dachsroot``; otherwise both run as the
current user. Both processes are children of the caller in their own process groups, and
:meth:`DachsServer.stop` ends them by PID.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import time
import xml.etree.ElementTree as ET
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Self

import httpx

from mobu.testing.dachs.fixtures import write_fixtures

__all__ = [
    "DachsError",
    "DachsServer",
    "dachs_unavailable_reason",
    "default_base_dir",
    "reap_stale",
]

_PG_PORT = 5432
"""Port number in the name of the private Unix socket (there is no TCP listener)."""

_STOP_TIMEOUT = 15.0


class DachsError(RuntimeError):
    """The DaCHS server could not be started; the message includes the relevant log lines."""


def default_base_dir() -> Path:
    """Return ``.services/dachs`` of the repository (or of the current directory)."""
    root = Path(__file__).resolve().parents[4]
    if not (root / "pyproject.toml").exists():
        root = Path.cwd()
    return root / ".services" / "dachs"


def _pg_bindir() -> Path | None:
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


def _service_users() -> tuple[str, str]:
    """Return the users that run PostgreSQL and DaCHS."""
    if os.geteuid() == 0:
        return "postgres", "dachsroot"
    me = pwd.getpwuid(os.geteuid()).pw_name
    return me, me


def dachs_unavailable_reason() -> str | None:
    """Say why a DaCHS server cannot be started here, or return None if it can."""
    if shutil.which("dachs") is None:
        return "GAVO DaCHS is not installed (scripts/install/dachs.sh installs it as root)"
    if _pg_bindir() is None:
        return "PostgreSQL with pgsphere and q3c is not installed (scripts/install/dachs.sh)"
    for user in set(_service_users()):
        try:
            pwd.getpwnam(user)
        except KeyError:
            return f"user {user} does not exist (scripts/install/dachs.sh creates it)"
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


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

    A server directory is ``run-<owner pid>-<hex>``; if its owner is gone (killed before it could
    call :meth:`DachsServer.stop`), each process recorded in its ``pids`` file that still runs
    from that directory is killed by PID (process group), and the directory is removed.
    """
    for directory in base.glob("run-*-*"):
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


@dataclass
class _Account:
    """An OS account that a child process runs as."""

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
        for dirpath, _, filenames in os.walk(path):
            os.chown(dirpath, entry.pw_uid, entry.pw_gid)
            for filename in filenames:
                os.chown(os.path.join(dirpath, filename), entry.pw_uid, entry.pw_gid)


@dataclass
class DachsServer:
    """A running private DaCHS server. Create it with :meth:`start`.

    Attributes
    ----------
    url
        Base URL of the server, ``http://127.0.0.1:<port>``.
    directory
        Directory holding everything of this server (removed by :meth:`stop`).
    rows
        Number of rows in the ``synth.main`` catalogue.
    """

    url: str
    directory: Path
    rows: int
    _processes: list[subprocess.Popen[bytes]] = field(default_factory=list, repr=False)
    _keep: bool = False

    @property
    def tap_url(self) -> str:
        """Base URL of the TAP service."""
        return f"{self.url}/tap"

    @property
    def sia_url(self) -> str:
        """URL of the site-wide SIA v2 query endpoint."""
        return f"{self.url}/__system__/siap2/sitewide/siap2.xml"

    @property
    def pids(self) -> list[int]:
        """PIDs of the running processes (PostgreSQL, DaCHS)."""
        return [p.pid for p in self._processes if p.poll() is None]

    @classmethod
    def start(
        cls,
        base_dir: Path | None = None,
        *,
        rows: int = 5000,
        timeout: float = 180.0,
        warm_up: bool = True,
        keep: bool = False,
    ) -> Self:
        """Start PostgreSQL and DaCHS, import the synthetic data and wait until TAP answers.

        Parameters
        ----------
        base_dir
            Parent of the server's directory; default :func:`default_base_dir`.
        rows
            Rows of the synthetic catalogue.
        timeout
            Overall deadline in seconds.
        warm_up
            Run one sync and one async query, so that the first real query is not the slow one
            that loads everything.
        keep
            Keep the directory after :meth:`stop` (to read the logs).

        Raises
        ------
        DachsError
            Something failed; the message names the step and shows the end of its log.
        """
        reason = dachs_unavailable_reason()
        if reason is not None:
            raise DachsError(reason)
        base = base_dir or default_base_dir()
        base.mkdir(parents=True, exist_ok=True)
        reap_stale(base)
        directory = base / f"run-{os.getpid()}-{secrets.token_hex(3)}"
        directory.mkdir(mode=0o755)
        server = cls(url="", directory=directory, rows=rows, _keep=keep)
        try:
            server._launch(time.monotonic() + timeout, warm_up=warm_up)
        except BaseException:
            server.stop()
            raise
        return server

    # Startup ----------------------------------------------------------------------------------

    def _launch(self, deadline: float, *, warm_up: bool) -> None:
        pg_user, dachs_user = (_Account(u) for u in _service_users())
        password = secrets.token_urlsafe(16)
        socket_dir = self._start_postgres(pg_user, password, deadline)
        gavo_env = self._init_dachs(dachs_user, socket_dir, password)
        for attempt in range(3):
            port = _free_port()
            self.url = f"http://127.0.0.1:{port}"
            self._write_settings(dachs_user, port)
            web = self._spawn(dachs_user, ["dachs", "serve", "start", "--foreground"], gavo_env)
            if self._wait_web(web, deadline, last=attempt == 2):
                break
        if warm_up:
            self._warm_up(deadline)

    def _spawn(
        self, account: _Account, argv: list[str], env: dict[str, str], log: str | None = None
    ) -> subprocess.Popen[bytes]:
        logfile = self.directory / (log or f"{Path(argv[0]).name}.log")
        with logfile.open("ab") as out:
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
        self._processes.append(process)
        with (self.directory / "pids").open("a") as pids:
            pids.write(f"{process.pid}\n")
        return process

    def _run(self, account: _Account, argv: list[str], env: dict[str, str], step: str) -> None:
        logfile = self.directory / "setup.log"
        with logfile.open("ab") as out:
            out.write(f"$ {' '.join(argv)}\n".encode())
            out.flush()
            result = subprocess.run(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=account.env(env),
                cwd=self.directory,
                check=False,
                timeout=300,
                user=account.uid,
                group=account.gid,
                extra_groups=account.extra_groups,
            )
        if result.returncode != 0:
            raise DachsError(f"{step} failed (exit {result.returncode}):\n{_tail(logfile)}")

    def _start_postgres(self, account: _Account, password: str, deadline: float) -> Path:
        bindir = _pg_bindir()
        assert bindir is not None
        data = self.directory / "pgdata"
        sockets = self.directory / "pgsocket"
        for path in (data, sockets):
            path.mkdir(mode=0o700)
            account.chown(path)
        os.chmod(sockets, 0o755)  # noqa: S103 - DaCHS (another user) connects through it
        pwfile = self.directory / "pgpass.tmp"
        pwfile.write_text(password + "\n")
        account.chown(pwfile)
        self._run(
            account,
            [
                str(bindir / "initdb"),
                "-D", str(data),
                "-U", "mobuadmin",
                f"--pwfile={pwfile}",
                "--auth=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ],
            {},
            "initdb",
        )  # fmt: skip
        pwfile.unlink()
        postgres = self._spawn(
            account,
            [
                str(bindir / "postgres"),
                "-D", str(data),
                "-k", str(sockets),
                "-p", str(_PG_PORT),
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
        env = {"PGPASSWORD": password}
        delay = 0.05
        while True:
            ready = subprocess.run(
                [str(bindir / "pg_isready"), "-q", "-h", str(sockets), "-p", str(_PG_PORT)],
                check=False,
                capture_output=True,
            )
            if ready.returncode == 0:
                break
            if postgres.poll() is not None or time.monotonic() > deadline:
                log = _tail(self.directory / "postgres.log")
                raise DachsError(f"PostgreSQL did not start:\n{log}")
            time.sleep(delay)
            delay = min(delay * 2, 0.5)
        self._run(
            account,
            [str(bindir / "createdb"), "-h", str(sockets), "-p", str(_PG_PORT), "-U", "mobuadmin",
             "-E", "UTF8", "-T", "template0", "gavo"],
            env,
            "createdb",
        )  # fmt: skip
        return sockets

    def _settings_path(self) -> Path:
        return self.directory / "gavo.rc"

    def _write_settings(self, account: _Account, port: int) -> None:
        settings = self._settings_path()
        settings.write_text(
            "[general]\n"
            f"rootDir: {self.directory / 'gavo'}\n"
            "[web]\n"
            "bindAddress: 127.0.0.1\n"
            f"serverPort: {port}\n"
            f"serverURL: http://127.0.0.1:{port}\n"
            f"user: {account.name}\n"
            "sitename: mobu test data centre\n"
            "[async]\n"
            "maxTAPRunning: 4\n"
        )
        account.chown(settings)

    def _init_dachs(self, account: _Account, sockets: Path, password: str) -> dict[str, str]:
        root = self.directory / "gavo"
        root.mkdir()
        account.chown(root)
        self._write_settings(account, _free_port())
        env = {"GAVOSETTINGS": str(self._settings_path()), "GAVOCUSTOM": "/nonexistent"}
        dsn = f"host={sockets} port={_PG_PORT} user=mobuadmin password={password} dbname=gavo"
        self._run(account, ["dachs", "init", "-d", dsn], env, "dachs init")
        rds = write_fixtures(root / "inputs", self.rows)
        account.chown(root / "inputs")
        for rd in rds[:1]:
            self._run(account, ["dachs", "imp", rd], env, f"dachs imp {rd}")
        self._run(account, ["dachs", "imp", "//obscore"], env, "dachs imp //obscore")
        for rd in rds[1:]:
            self._run(account, ["dachs", "imp", rd], env, f"dachs imp {rd}")
        self._run(account, ["dachs", "pub", *rds], env, "dachs pub")
        return env

    def _wait_web(self, web: subprocess.Popen[bytes], deadline: float, *, last: bool) -> bool:
        """Wait until TAP is available; False if the port was taken and another try is left."""
        url = f"{self.tap_url}/availability"
        delay = 0.1
        while True:
            try:
                if b"true</avl:available>" in httpx.get(url, timeout=5).content:
                    return True
            except httpx.HTTPError:
                pass
            log = self.directory / "dachs.log"
            if web.poll() is not None:
                text = _tail(log)
                if "already listens" in text and not last:
                    self._processes.remove(web)
                    return False
                raise DachsError(f"DaCHS exited with {web.returncode}:\n{text}")
            if time.monotonic() > deadline:
                raise DachsError(f"DaCHS did not become available at {url}:\n{_tail(log)}")
            time.sleep(delay)
            delay = min(delay * 2, 0.5)

    def _warm_up(self, deadline: float) -> None:
        query = "SELECT TOP 1 object_id FROM synth.main"
        self.sync_query(query)
        remaining = max(1, int(deadline - time.monotonic()))
        with httpx.Client(timeout=remaining + 5, follow_redirects=True) as client:
            job = str(
                client.post(f"{self.tap_url}/async", data={"LANG": "ADQL", "QUERY": query}).url
            )
            client.post(f"{job}/phase", data={"PHASE": "RUN"})
            client.get(job, params={"WAIT": str(min(remaining, 60))})
            client.delete(job, follow_redirects=False)

    # Helpers for tests ------------------------------------------------------------------------

    def sync_query(self, query: str) -> str:
        """Run an ADQL query through ``/tap/sync`` and return the CSV result."""
        data = {"LANG": "ADQL", "QUERY": query, "RESPONSEFORMAT": "csv"}
        response = httpx.post(f"{self.tap_url}/sync", data=data, timeout=60)
        response.raise_for_status()
        return response.text

    def async_jobs(self) -> list[str]:
        """Return the ids of the jobs in the UWS job list of ``/tap/async``."""
        response = httpx.get(f"{self.tap_url}/async", timeout=30)
        response.raise_for_status()
        tree = ET.fromstring(response.content)  # noqa: S314 - our own local server
        return [str(ref.get("id")) for ref in tree.iter() if ref.tag.endswith("jobref")]

    # Stopping ---------------------------------------------------------------------------------

    def stop(self) -> None:
        """Stop DaCHS, then PostgreSQL (by PID, process group), and remove the directory."""
        for process in reversed(self._processes):
            self._terminate(process)
        self._processes.clear()
        if not self._keep:
            shutil.rmtree(self.directory, ignore_errors=True)

    @staticmethod
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
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                return
            process.wait(timeout=_STOP_TIMEOUT)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
