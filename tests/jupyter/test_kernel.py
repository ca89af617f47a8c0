"""The lab client and kernel websocket against a real, bare ``jupyter server``."""

from __future__ import annotations

import asyncio
import contextlib

import psutil
import pytest

from mobu.platform.hub import LocalJupyterServer
from mobu.storage.jupyter import (
    CodeExecutionError,
    ExecutionTimeoutError,
    JupyterWebError,
    KernelConnectionError,
    LabClient,
)
from mobu.storage.jupyter.kernel import WireProtocol

pytestmark = pytest.mark.jupyter


@pytest.mark.parametrize(("protocol", "binary"), [("v1", True), ("legacy", False), ("auto", True)])
async def test_execute_both_framings(lab: LabClient, protocol: WireProtocol, binary: bool) -> None:
    """Code runs over both kernel websocket framings, including a 3 MB output."""
    lab.protocol = protocol
    session = await lab.create_session()
    channel = await lab.open_kernel(session)
    try:
        assert channel.binary is binary
        result = await channel.execute("import sys\nprint(1+1)\nprint('e', file=sys.stderr)\n6*7")
        assert result.stdout == "2\n"
        assert result.stderr == "e\n"
        assert result.result == "42"
        assert "execute_reply" in result.message_types
        big = await channel.execute("print('x' * 3_000_000, end='')")
        assert len(big.stdout) == 3_000_000
    finally:
        await channel.close()
        await lab.delete_session(session)
    assert "execute" in lab.timings.last
    assert "websocket_open" in lab.timings.last


async def test_error_has_stripped_traceback(lab: LabClient) -> None:
    """A cell error carries its ename and an ANSI-free traceback; the kernel stays usable."""
    session = await lab.create_session()
    channel = await lab.open_kernel(session)
    try:
        with pytest.raises(CodeExecutionError) as info:
            await channel.execute("def f():\n    return 1/0\nf()")
        error = info.value
        assert error.ename == "ZeroDivisionError"
        assert error.status == "error"
        assert error.traceback is not None
        assert "\x1b[" not in error.traceback
        assert "return 1/0" in error.traceback
        assert "ZeroDivisionError" in str(error)
        assert error.alert_context()["code"].endswith("f()")
        after = await channel.execute("print('still alive')")
        assert after.stdout == "still alive\n"
    finally:
        await channel.close()
        await lab.delete_session(session)


async def test_timeout_then_interrupt(lab: LabClient) -> None:
    """An execution timeout raises, and an interrupt frees the kernel for the next cell."""
    session = await lab.create_session()
    channel = await lab.open_kernel(session)
    try:
        # Warm the kernel first: an interrupt that arrives before the kernel runs the sleep
        # (a cold kernel on a loaded machine) would be lost and the sleep would go on.
        warm = await channel.execute("print('warm')", timeout=60)
        assert warm.stdout == "warm\n"
        with pytest.raises(ExecutionTimeoutError):
            await channel.execute("import time\ntime.sleep(600)", timeout=2)
        await lab.interrupt_kernel(session)
        result = await channel.execute("print('after interrupt')", timeout=60)
        assert result.stdout == "after interrupt\n"
    finally:
        await channel.close()
        await lab.delete_session(session)


def _kernel_process(server: LocalJupyterServer, kernel_id: str) -> psutil.Process:
    for proc in server.processes():
        try:
            if any(kernel_id in arg for arg in proc.cmdline()):
                return proc
        except psutil.NoSuchProcess:
            continue
    raise AssertionError(f"no process for kernel {kernel_id}")


async def test_kernel_killed_mid_execution(
    lab: LabClient, jupyter_server: LocalJupyterServer
) -> None:
    """A kernel killed mid-execution fails the pending execute with KernelConnectionError."""
    session = await lab.create_session()
    channel = await lab.open_kernel(session)
    try:
        started = await channel.execute("print('ready')")
        assert started.stdout == "ready\n"
        running = asyncio.create_task(channel.execute("import time\ntime.sleep(600)", timeout=120))
        _kernel_process(jupyter_server, session.kernel_id).kill()
        with pytest.raises(KernelConnectionError):
            await running
    finally:
        await channel.close()
        # The server may still be restarting the killed kernel (500 then); its shutdown at the
        # end of the session stops the restarted kernel, which the leak check verifies.
        with contextlib.suppress(JupyterWebError):
            await lab.delete_session(session)


async def test_bad_token_and_unknown_kernel(
    lab: LabClient, jupyter_server: LocalJupyterServer
) -> None:
    """A wrong token is a 403 without the token; a deleted kernel cannot be opened."""
    bad = LabClient(jupyter_server.url, "wrong", username="bot-mobu-x", http=lab.api.http)
    with pytest.raises(JupyterWebError) as info:
        await bad.status()
    assert info.value.status == 403
    assert "wrong" not in str(info.value.alert_context())
    session = await lab.create_session()
    await lab.delete_session(session)
    with pytest.raises(KernelConnectionError, match="Cannot open kernel websocket"):
        await lab.open_kernel(session)


async def test_keepalive_tolerates_a_busy_lab_up_to_the_call_timeout(
    lab: LabClient, jupyter_server: LocalJupyterServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A lab that answers no ping for a while keeps a connection whose call timeout is longer.

    The server is paused (SIGSTOP) until the connection with the short call timeout is closed as
    lost; the one whose call timeout is longer is still open and runs code once it is resumed.
    """
    monkeypatch.setattr("mobu.storage.jupyter.kernel.KEEPALIVE_INTERVAL", 0.5)
    session = await lab.create_session()
    lab.timeout = 2.0
    short = await lab.open_kernel(session)
    lab.timeout = 120.0
    long = await lab.open_kernel(session)
    server = psutil.Process(jupyter_server.proc.pid if jupyter_server.proc else 0)
    try:
        assert (await long.execute("print('before')")).stdout == "before\n"
        server.suspend()
        try:
            async with asyncio.timeout(60):  # the short one's ping times out after about 2.5 s
                await short.websocket.wait_closed()
        finally:
            server.resume()
        assert (await long.execute("print('after')", timeout=60)).stdout == "after\n"
        with pytest.raises(KernelConnectionError):
            await short.execute("print('lost')")
    finally:
        server.resume()
        await short.close()
        await long.close()
        await lab.delete_session(session)
