"""Local JupyterHub and bare Jupyter server launchers, for tests, benchmarks and the demo.

Both bind 127.0.0.1 on free ports chosen at run time, run from a private temporary directory,
and stop every process they started by PID (never by name). JupyterHub starts each user server
in its own session, so :meth:`LocalHub.stop` also sweeps the processes whose working directory
lies in the hub's directory (the proxy, user servers and their kernels).
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

import httpx
import psutil

from mobu.exceptions import MobuError
from mobu.platform.settings import PlatformSettings

__all__ = [
    "HubUnavailableError",
    "LocalHub",
    "LocalJupyterServer",
    "SpawnHook",
    "find_configurable_http_proxy",
    "free_port",
]

_NODELAY_LAUNCHER = '''\
"""Run {module} with TCP_NODELAY on the websockets it serves (no Nagle delay)."""
import sys
import tornado.websocket as _ws
_start = _ws.WebSocketProtocol13.start_pinging
def _start_pinging(self):
    self.stream.set_nodelay(True)
    _start(self)
_ws.WebSocketProtocol13.start_pinging = _start_pinging
from {module} import main
sys.exit(main())
'''


SpawnHook = Callable[[int, str], None]
"""Called with the PID and a label of each process a launcher spawns, right after the spawn.

It may raise to abandon the start (the launcher then stops what it started)."""


class HubUnavailableError(MobuError, RuntimeError):
    """The local server could not be started (missing proxy, crash, no answer)."""


def free_port() -> int:
    """Return a TCP port that is free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def find_configurable_http_proxy(platform: PlatformSettings | None = None) -> str | None:
    """Locate npm's ``configurable-http-proxy``.

    Looks under ``platform.services_dir`` (installed there by ``scripts/install/jupyter.sh``;
    default: :class:`PlatformSettings` from the environment), then ``PATH`` (skipping the Python
    package of that name, which corrupts binary websocket frames).
    """
    candidate = (platform or PlatformSettings()).configurable_http_proxy
    if os.access(candidate, os.X_OK):
        return str(candidate)
    found = shutil.which("configurable-http-proxy")
    if found and Path(found).parent != Path(sys.executable).parent:
        return found
    return None


class _Launched:
    """A server process in its own process group, with its log and temporary directory."""

    label = "server"

    def __init__(self, prefix: str, on_spawn: SpawnHook | None = None) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix=prefix))
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._on_spawn = on_spawn

    @property
    def log_path(self) -> Path:
        """The server's combined stdout/stderr."""
        return self.dir / "server.log"

    def _spawn(self, argv: list[str], env: dict[str, str]) -> None:
        if self._log is not None:  # a restart after a crash: the old log is done
            self._log.close()
        self._log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            argv,
            cwd=self.dir,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        if self._on_spawn is not None:
            self._on_spawn(self.proc.pid, self.label)

    def log_tail(self, size: int = 3000) -> str:
        """The end of the server log."""
        try:
            return self.log_path.read_text(errors="replace")[-size:]
        except OSError:
            return ""

    def _wait_ready(self, url: str, headers: dict[str, str], timeout: float) -> None:
        """Poll ``url`` with a short backoff until 200, under an overall deadline."""
        deadline = time.monotonic() + timeout
        delay = 0.05
        with httpx.Client(trust_env=False, timeout=2.0) as client:
            while True:
                if self.proc is None or self.proc.poll() is not None:
                    raise HubUnavailableError(f"server exited during startup:\n{self.log_tail()}")
                try:
                    if client.get(url, headers=headers).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise HubUnavailableError(
                        f"server not ready after {timeout}s:\n{self.log_tail()}"
                    )
                time.sleep(delay)
                delay = min(delay * 1.5, 0.5)

    def processes(self) -> list[psutil.Process]:
        """Every live process started by this server: its tree plus those working in its dir."""
        found: dict[int, psutil.Process] = {}
        if self.proc is not None and self.proc.poll() is None:
            try:
                root = psutil.Process(self.proc.pid)
                found[root.pid] = root
                for child in root.children(recursive=True):
                    found[child.pid] = child
            except psutil.NoSuchProcess:
                pass
        prefix = str(self.dir)
        for proc in psutil.process_iter():
            try:
                if proc.pid != os.getpid() and proc.cwd().startswith(prefix):
                    found[proc.pid] = proc
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                continue
        return list(found.values())

    def stop(self, grace: float = 30.0) -> list[int]:
        """Stop the server and everything it started; returns PIDs that had to be killed."""
        family = self.processes()
        killed: list[int] = []
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                killed.append(self.proc.pid)
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        leftovers = {p.pid: p for p in family + self.processes()}.values()
        _, alive = psutil.wait_procs(list(leftovers), timeout=5)
        for proc in alive:
            killed.append(proc.pid)
            try:
                proc.kill()
            except psutil.NoSuchProcess:
                continue
        psutil.wait_procs(alive, timeout=5)
        if self._log is not None:
            self._log.close()
            self._log = None
        return killed

    def cleanup(self) -> None:
        """Remove the temporary directory (after :meth:`stop`)."""
        shutil.rmtree(self.dir, ignore_errors=True)

    def _nodelay_launcher(self, module: str) -> str:
        path = self.dir / f"nodelay_{module.replace('.', '_')}.py"
        path.write_text(_NODELAY_LAUNCHER.format(module=module))
        return str(path)


class LocalJupyterServer(_Launched):
    """A bare ``jupyter server`` with token authentication.

    Parameters
    ----------
    base_url
        URL prefix of the server (e.g. ``/js/``).
    nodelay
        Serve websockets with TCP_NODELAY (removes the ~40 ms Nagle floor per execution).
    on_spawn
        Told the PID of the server as soon as it is spawned.
    """

    label = "jupyter server"

    def __init__(
        self, *, base_url: str = "/", nodelay: bool = False, on_spawn: SpawnHook | None = None
    ) -> None:
        super().__init__("mobu-jupyter-server-", on_spawn)
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.base_path = base_url if base_url.endswith("/") else base_url + "/"
        self.url = f"http://127.0.0.1:{self.port}{self.base_path}"
        self.nodelay = nodelay

    def start(self, timeout: float = 60.0) -> None:
        """Start the server and wait until it answers."""
        root = self.dir / "root"
        root.mkdir()
        env = dict(os.environ)
        env.update(
            JUPYTER_CONFIG_DIR=str(self.dir / "config"),
            JUPYTER_RUNTIME_DIR=str(self.dir / "runtime"),
            JUPYTER_DATA_DIR=str(self.dir / "data"),
            IPYTHONDIR=str(self.dir / "ipython"),
        )
        entry = (
            [sys.executable, self._nodelay_launcher("jupyter_server.serverapp")]
            if self.nodelay
            else [sys.executable, "-m", "jupyter_server"]
        )
        argv = [
            *entry,
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}",
            "--ServerApp.open_browser=False",
            f"--ServerApp.root_dir={root}",
            f"--ServerApp.base_url={self.base_path}",
            "--ServerApp.iopub_data_rate_limit=1e12",
        ]
        if os.geteuid() == 0:
            argv.append("--allow-root")
        self._spawn(argv, env)
        self._wait_ready(f"{self.url}api/status", {"Authorization": f"token {self.token}"}, timeout)


class LocalHub(_Launched):
    """A JupyterHub with DummyAuthenticator, SimpleLocalProcessSpawner and an admin service.

    Parameters
    ----------
    port
        Public port; a free one by default (a test that restarts a hub reuses it).
    chp
        Path of npm's ``configurable-http-proxy``; by default found under ``platform``.
    nodelay
        Start user servers with TCP_NODELAY websockets.
    lab
        Serve JupyterLab's UI (``/lab``) as default URL when it is installed.
    extra_config
        Python appended to the generated ``jupyterhub_config.py``.
    on_spawn
        Told the PID of the hub as soon as it is spawned (the hub then spawns the proxy and
        the user servers, each in its own session).
    platform
        Where the local services are installed; default :class:`PlatformSettings` from the
        environment.
    """

    label = "jupyterhub"

    def __init__(
        self,
        *,
        port: int | None = None,
        chp: str | None = None,
        nodelay: bool = False,
        lab: bool = False,
        extra_config: str = "",
        on_spawn: SpawnHook | None = None,
        platform: PlatformSettings | None = None,
    ) -> None:
        proxy = chp or find_configurable_http_proxy(platform)
        if proxy is None:
            raise HubUnavailableError(
                "npm configurable-http-proxy is not installed (run scripts/install/jupyter.sh)"
            )
        super().__init__("mobu-jupyterhub-", on_spawn)
        self.chp = proxy
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.admin_token = secrets.token_hex(24)
        self.service_name = "mobu"
        self.nodelay = nodelay
        self.lab = lab
        self.extra_config = extra_config

    def _config(self) -> str:
        bindir = Path(sys.executable).parent
        singleuser = (
            [sys.executable, self._nodelay_launcher("jupyterhub.singleuser")]
            if self.nodelay
            else [str(bindir / "jupyterhub-singleuser")]
        )
        default_url = "/lab" if self.lab else "/tree"
        return (
            f"""
c = get_config()  # noqa
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = {self.port}
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = {free_port()}
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{free_port()}"
c.ConfigurableHTTPProxy.auth_token = "{secrets.token_hex(16)}"
c.ConfigurableHTTPProxy.command = [{self.chp!r}]
c.ConfigurableHTTPProxy.pid_file = "{self.dir}/proxy.pid"
c.JupyterHub.db_url = "sqlite:///{self.dir}/jupyterhub.sqlite"
c.JupyterHub.pid_file = "{self.dir}/jupyterhub.pid"
c.JupyterHub.cookie_secret = bytes.fromhex("{secrets.token_hex(32)}")
c.JupyterHub.authenticator_class = "dummy"
c.Authenticator.allow_all = True
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = "{self.dir}/homes/{{username}}"
c.Spawner.cmd = {singleuser!r}
c.Spawner.args = {["--allow-root"] if os.geteuid() == 0 else []!r}
c.Spawner.default_url = "{default_url}"
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
c.JupyterHub.tornado_settings = {{"slow_spawn_timeout": 0}}
c.JupyterHub.services = [{{"name": "{self.service_name}", "api_token": "{self.admin_token}"}}]
c.JupyterHub.load_roles = [{{
    "name": "mobu-admin",
    "services": ["{self.service_name}"],
    "scopes": ["admin:users", "admin:servers", "tokens", "access:servers", "list:users",
               "read:users"],
}}]
"""
            + self.extra_config
        )

    def start(self, timeout: float = 90.0) -> None:
        """Write the configuration, start the hub and wait until its API answers.

        A restart (after :meth:`stop` or a crash) keeps the first configuration: the same
        public, hub and proxy API ports, proxy token and cookie secret, so the proxy, the user
        servers and the clients still running find the hub where it was.
        """
        config = self.dir / "jupyterhub_config.py"
        if not config.exists():
            config.write_text(self._config())
        env = dict(os.environ)
        env.pop("JUPYTERHUB_API_TOKEN", None)
        argv = [str(Path(sys.executable).parent / "jupyterhub"), "-f", str(config)]
        self._spawn(argv, env)
        self._wait_ready(f"{self.url}hub/api/", {}, timeout)

    def user_processes(self) -> list[psutil.Process]:
        """Live user servers and kernels (processes working under the users' homes)."""
        prefix = str(self.dir / "homes")
        out = []
        for proc in self.processes():
            try:
                if proc.cwd().startswith(prefix):
                    out.append(proc)
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                continue
        return out
