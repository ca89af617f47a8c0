"""Run mobu the way the reference's chart runs it, as a real subprocess.

The pod (reference-deployment.md §2-3): the configuration at ``MOBU_CONFIG_PATH``, the chart's
environment, the image's command (:data:`CHART_COMMAND`) with the port passed the way the
command takes it, ``HOME`` and the working directory not writable and only a temporary
directory (``TMPDIR``, the pod's ``/tmp`` emptyDir) writable.

How "not writable" is made true:

* as root (permissions do not stop root), the child runs in a private mount namespace
  (``unshare --mount``) where every mount but ``TMPDIR`` is read-only (:mod:`readonly`), so the
  kernel refuses any write elsewhere, by mobu or by the git processes it starts;
* as another user, ``HOME`` and the working directory are mode 0555 and ``TMPDIR`` the only
  directory of the test that the user may write.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.cli.conftest import ServerProcess, _read_lines
from tests.deploy.dockerfile import CHART_COMMAND

HERE = Path(__file__).resolve().parent
MOBU = str(Path(sys.executable).parent / "mobu")
START_TIMEOUT = 120.0
STOP_TIMEOUT = 90.0
"""Overall bounds (not timing assertions): a loaded two-core machine must still make them."""


def closed_port() -> int:
    """A loopback port nothing listens on (the platform's services are not reachable)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


free_port = closed_port
"""A free loopback port for the server (chosen at run time)."""


def isolation_unavailable() -> str | None:
    """Why the pod's read-only filesystem cannot be made here (None: it can)."""
    if os.getuid() != 0:
        return None
    if shutil.which("unshare") is None or shutil.which("mount") is None:
        return "running as root without unshare/mount: HOME cannot be made read-only for root"
    probe = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "true"],
        capture_output=True,
        check=False,
    )
    if probe.returncode != 0:
        return "running as root and unshare --mount is not permitted here"
    return None


def merge(base: dict[str, Any], overlay: Mapping[str, Any]) -> dict[str, Any]:
    """The chart's overlay rule: maps merged key by key, everything else replaced."""
    merged = dict(base)
    for key, value in overlay.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged


@dataclass
class Pod:
    """The directories of one pod and its server process."""

    root: Path
    tmp: Path
    home: Path
    workdir: Path
    config_path: Path
    server: ServerProcess
    port: int

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>`` (the readiness probe's target)."""
        return f"http://127.0.0.1:{self.port}"

    def data_dir(self) -> Path:
        """Where mobu's default data directory must be: under TMPDIR."""
        return self.tmp / f"mobu-{os.getuid()}"


def chart_environment(pod_tmp: Path, home: Path, config_path: Path) -> dict[str, str]:
    """The environment of the chart's StatefulSet (§2), secrets as test values."""
    unreachable = f"127.0.0.1:{closed_port()}"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "TMPDIR": str(pod_tmp),
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
        "MOBU_CONFIG_PATH": str(config_path),
        "MOBU_GAFAELFAWR_TOKEN": "gt-pod-test.s3cr3t-admin-token",
        "MOBU_REPLICA_COUNT": "1",
        "MOBU_REPLICA_INDEX": "0",
        "MOBU_SENTRY_ENVIRONMENT": "pod-test",
        "SENTRY_RELEASE": "pod-test",
        "REPERTOIRE_BASE_URL": f"http://{unreachable}/repertoire",
        "KAFKA_BOOTSTRAP_SERVERS": unreachable,
        "KAFKA_SECURITY_PROTOCOL": "PLAINTEXT",
        "KAFKA_CLIENT_CERT_PATH": "/etc/mobu-kafka/user.crt",
        "KAFKA_CLIENT_KEY_PATH": "/etc/mobu-kafka/user.key",
        "KAFKA_CLUSTER_CA_PATH": "/etc/mobu-kafka/ca.crt",
    }
    # The project under test (a worktree's src/ before the installed one), as in the image.
    if "PYTHONPATH" in os.environ:
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    return env


def pod_command(tmp: Path, port: int) -> list[str]:
    """The chart's command on a loopback address and ``port``, inside the read-only pod."""
    argv = list(CHART_COMMAND)
    argv[0] = MOBU
    argv[argv.index("--host") + 1] = "127.0.0.1"
    argv[argv.index("--port") + 1] = str(port)
    if os.getuid() != 0:
        return argv
    wrapper = [sys.executable, str(HERE / "readonly.py"), str(tmp), "--"]
    return ["unshare", "--mount", "--propagation", "private", "--", *wrapper, *argv]


def _layout(root: Path, config: dict[str, Any]) -> tuple[Path, Path, Path, Path]:
    """Make the pod's directories: TMPDIR, HOME and cwd (0555), and the config file."""
    tmp, home, workdir = root / "tmp", root / "home", root / "work"
    root.mkdir(parents=True, exist_ok=True)
    tmp.mkdir(mode=0o700)
    config_path = root / "etc" / "mobu" / "config.yaml"
    config_path.parent.mkdir(parents=True)
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    for directory in (home, workdir, config_path.parent):
        directory.mkdir(exist_ok=True)
        directory.chmod(0o555)
    return tmp, home, workdir, config_path


@asynccontextmanager
async def run_pod(
    root: Path, config: dict[str, Any], env: Mapping[str, str] | None = None
) -> AsyncIterator[Pod]:
    """Start mobu as the chart does; yield once it announced that it listens."""
    tmp, home, workdir, config_path = _layout(root, config)
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        *pod_command(tmp, port),
        cwd=workdir,
        env={**chart_environment(tmp, home, config_path), **(env or {})},
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,
    )
    output: list[str] = []
    url: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    changed = asyncio.Condition()
    reader = asyncio.create_task(_read_lines(process, output, url, changed))
    try:
        started: set[asyncio.Future[Any]] = {url, reader}
        await asyncio.wait(started, timeout=START_TIMEOUT, return_when="FIRST_COMPLETED")
        if not url.done():
            raise RuntimeError(f"mobu did not start in the pod:\n{''.join(output)}")
        server = ServerProcess(url=url.result(), process=process, output=output, changed=changed)
        yield Pod(root, tmp, home, workdir, config_path, server, port)
    finally:
        if process.returncode is None:
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), STOP_TIMEOUT)
            except TimeoutError:
                os.killpg(process.pid, signal.SIGKILL)
                await process.wait()
        await reader
        for directory in (home, workdir, config_path.parent):
            directory.chmod(0o755)
