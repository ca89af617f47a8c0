"""Shared helpers of the hub and kernel fault tests: a private hub, a kernel gate, leak checks.

Each hub test gets its own :class:`LocalHub` (the tests kill it); at its end every process that
hub, its restarts, proxy, labs and kernels started must be gone.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
import pytest

from mobu.platform.hub import LocalHub, find_configurable_http_proxy
from tests.observability.receivers import Receiver, run_receiver

CHP = find_configurable_http_proxy()
needs_hub = pytest.mark.skipif(
    CHP is None,
    reason="npm configurable-http-proxy not installed (run scripts/install/jupyter.sh)",
)

WAIT = 120.0
"""Generous bound on any wait on the hub or a lab (spawns take 4-20 s on 2 cores)."""


@pytest.fixture
def private_hub() -> Iterator[LocalHub]:
    """A hub of this test alone; at the end every process it (or a restart) started is gone."""
    if CHP is None:
        pytest.skip("npm configurable-http-proxy not installed (run scripts/install/jupyter.sh)")
    local = LocalHub(chp=CHP)
    local.start()
    started: dict[int, psutil.Process] = {}
    try:
        yield local
    finally:
        started.update((p.pid, p) for p in local.processes())
        local.stop()
        local.cleanup()
        alive = [p for p in started.values() if _alive(p)]
        assert alive == [], f"leaked processes: {[(p.pid, p.name()) for p in alive]}"


def _alive(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """Local Slack webhook receiver."""
    async with run_receiver() as receiver:
        yield receiver


@pytest.fixture
def mobu_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private temporary root for what mobu creates (so parallel tests cannot blur a leak)."""
    root = tmp_path / "tmp"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    return root


class KernelGate:
    """Code that blocks the kernel once, on a FIFO, until the test lets it go.

    The kernel's first execution removes the flag file and opens the FIFO for reading; opening
    it for writing in the test returns exactly then, so the test knows the monkey is
    mid-execution. Later executions do not block.
    """

    def __init__(self, root: Path) -> None:
        self.fifo = root / "gate.fifo"
        self.flag = root / "gate.flag"
        os.mkfifo(self.fifo)
        self.flag.touch()
        self._writer: int | None = None
        self.code = (
            "import os\n"
            f"if os.path.exists({str(self.flag)!r}):\n"
            f"    os.unlink({str(self.flag)!r})\n"
            f"    open({str(self.fifo)!r}).read()\n"
            "print('through', end='')"
        )

    async def wait_blocked(self) -> None:
        """Wait (bounded) until a kernel is blocked on the gate."""
        opened = asyncio.ensure_future(asyncio.to_thread(os.open, self.fifo, os.O_WRONLY))
        try:
            async with asyncio.timeout(WAIT):
                self._writer = await asyncio.shield(opened)
        except TimeoutError:
            reader = os.open(self.fifo, os.O_RDONLY | os.O_NONBLOCK)  # frees the thread
            os.close(await opened)
            os.close(reader)
            raise

    def release(self) -> None:
        """Let the blocked kernel go on (it reads end of file)."""
        if self._writer is not None:
            os.close(self._writer)
            self._writer = None


@dataclass(frozen=True)
class Resources:
    """What the test process holds: open fds and live threads.

    The event loop's default executor (threads ``asyncio_N``) is not counted: its idle workers
    are reused and joined when the loop closes, after the test.
    """

    fds: int
    threads: frozenset[str]

    @classmethod
    def now(cls) -> Resources:
        names = frozenset(
            f"{t.name}:{t.ident}"
            for t in threading.enumerate()
            if not t.name.startswith("asyncio_")
        )
        return cls(fds=psutil.Process().num_fds(), threads=names)


def assert_no_leaks(before: Resources, tmp_root: Path) -> None:
    """No fd or thread beyond those held before, and every temp dir mobu made is removed."""
    after = Resources.now()
    assert after.threads <= before.threads, f"new threads: {after.threads - before.threads}"
    assert after.fds <= before.fds, f"fds {before.fds} -> {after.fds}"
    assert list(tmp_root.iterdir()) == [], f"temp dirs left: {list(tmp_root.iterdir())}"


async def assert_hub_clean(hub: LocalHub, usernames: list[str]) -> None:
    """On the hub (its API): no server and no token mobu minted left for ``usernames``.

    The hub keeps the token it made for each lab server ("Server at ..."): not mobu's to revoke.
    """
    headers = {"Authorization": f"token {hub.admin_token}"}
    async with httpx.AsyncClient(trust_env=False, timeout=30, headers=headers) as http:
        for name in usernames:
            user = (await http.get(f"{hub.url}hub/api/users/{name}")).raise_for_status().json()
            assert user["servers"] == {}, f"{name} still has servers: {user['servers']}"
            reply = await http.get(f"{hub.url}hub/api/users/{name}/tokens")
            minted = [
                t
                for t in reply.raise_for_status().json()["api_tokens"]
                if not str(t.get("note", "")).startswith("Server at ")  # the hub's own
            ]
            assert minted == [], f"{name} still has tokens mobu minted: {minted}"
