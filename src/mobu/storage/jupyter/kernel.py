"""A kernel's channels websocket: run code and collect its output."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from typing import Literal

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from mobu.storage.jupyter.errors import (
    CodeExecutionError,
    ExecutionTimeoutError,
    JupyterProtocolError,
    KernelConnectionError,
    strip_ansi,
)
from mobu.storage.jupyter.protocol import (
    V1_SUBPROTOCOL,
    KernelMessage,
    decode_message,
    encode_message,
    execute_request,
)
from mobu.storage.jupyter.timing import PhaseTimings

__all__ = [
    "KEEPALIVE_INTERVAL",
    "ExecutionResult",
    "KernelChannel",
    "WireProtocol",
    "open_kernel_channel",
]

KEEPALIVE_INTERVAL = 20.0
"""Seconds between the keepalive pings of a kernel websocket (the websockets default)."""

WireProtocol = Literal["v1", "legacy", "auto"]
"""``v1``: ask only for the binary subprotocol; ``legacy``: JSON frames; ``auto``: offer v1 and
use whatever the server picks."""

_DEAD_STATES = frozenset({"dead", "restarting", "autorestarting"})


@dataclass(slots=True)
class ExecutionResult:
    """Outcome of one ``execute_request`` that succeeded."""

    code: str
    stdout: str = ""
    stderr: str = ""
    result: str | None = None
    duration: float = 0.0
    message_types: list[str] = field(default_factory=list)

    @property
    def output(self) -> str:
        """Everything the code printed, then its ``text/plain`` result if any."""
        text = self.stdout + self.stderr
        if self.result is not None:
            text += self.result
        return text


class KernelChannel:
    """An open ``/api/kernels/<id>/channels`` websocket.

    One execution at a time. Every message is matched to its request by
    ``parent_header.msg_id``; messages of other clients and kernel-info nudges are skipped.
    An execution is complete when both the shell ``execute_reply`` and the iopub ``idle``
    status for it have arrived, in either order.
    """

    def __init__(
        self, websocket: ClientConnection, *, username: str, timings: PhaseTimings | None = None
    ) -> None:
        self.websocket = websocket
        self.binary = websocket.subprotocol == V1_SUBPROTOCOL
        self.username = username
        self.session = uuid.uuid4().hex
        self.timings = timings if timings is not None else PhaseTimings()
        self._lock = asyncio.Lock()

    async def execute(self, code: str, timeout: float | None = None) -> ExecutionResult:
        """Run ``code`` and return what it printed and returned.

        Raises
        ------
        CodeExecutionError
            The code raised (traceback ANSI-stripped), or the request was aborted.
        ExecutionTimeoutError
            No complete answer within ``timeout`` seconds.
        KernelConnectionError
            The websocket closed or the kernel died during execution.
        """
        async with self._lock:
            request = execute_request(code, self.session, self.username)
            loop = asyncio.get_running_loop()
            start = loop.time()
            try:
                async with asyncio.timeout(timeout):
                    result = await self._run(request, code)
            except TimeoutError:
                self.timings.record("execute", loop.time() - start)
                raise ExecutionTimeoutError(
                    f"Code did not finish within {timeout}s", code=code
                ) from None
            result.duration = loop.time() - start
            self.timings.record("execute", result.duration)
            return result

    async def _run(self, request: KernelMessage, code: str) -> ExecutionResult:
        msg_id = request.header["msg_id"]
        try:
            await self.websocket.send(encode_message(request, binary=self.binary))
        except ConnectionClosed as exc:
            raise KernelConnectionError(f"Kernel websocket closed: {exc}", code=code) from exc
        result = ExecutionResult(code=code)
        reply: dict[str, object] | None = None
        error: dict[str, object] | None = None
        idle = False
        while reply is None or not idle:
            message = await self._receive(code)
            if message.parent_id != msg_id:
                self._check_alive(message, code)
                continue
            kind = message.msg_type
            content = message.content
            result.message_types.append(kind)
            if kind == "stream":
                text = str(content.get("text", ""))
                if content.get("name") == "stderr":
                    result.stderr += text
                else:
                    result.stdout += text
            elif kind == "execute_result":
                data = content.get("data") or {}
                plain = data.get("text/plain") if isinstance(data, dict) else None
                result.result = None if plain is None else str(plain)
            elif kind == "error":
                error = content
            elif kind == "status":
                state = content.get("execution_state")
                idle = idle or state == "idle"
                self._check_alive(message, code)
            elif kind == "execute_reply":
                reply = content
        status = str(reply.get("status", "unknown"))
        if status != "ok":
            raise _execution_error(code, status, error or reply)
        return result

    async def _receive(self, code: str) -> KernelMessage:
        try:
            frame = await self.websocket.recv()
        except ConnectionClosed as exc:
            raise KernelConnectionError(
                f"Kernel websocket closed during execution: {exc}", code=code
            ) from exc
        try:
            return decode_message(frame)
        except JupyterProtocolError as exc:
            exc.context["code"] = code
            raise

    @staticmethod
    def _check_alive(message: KernelMessage, code: str) -> None:
        if message.msg_type == "status":
            state = message.content.get("execution_state")
            if state in _DEAD_STATES:
                raise KernelConnectionError(
                    f"Kernel {state} during execution", code=code, phase="execute"
                )

    async def close(self) -> None:
        """Close the websocket (idempotent)."""
        await self.websocket.close()


def _execution_error(code: str, status: str, error: dict[str, object]) -> CodeExecutionError:
    raw = error.get("traceback") or []
    lines = [strip_ansi(str(line)) for line in raw] if isinstance(raw, list) else []
    ename = error.get("ename")
    evalue = error.get("evalue")
    if status == "aborted":
        message = "Execution was aborted by the kernel"
    else:
        message = f"Code raised {ename}: {strip_ansi(str(evalue))}" if ename else "Code failed"
    return CodeExecutionError(
        message,
        code=code,
        status=status,
        ename=None if ename is None else str(ename),
        evalue=None if evalue is None else strip_ansi(str(evalue)),
        traceback="\n".join(lines) or None,
    )


async def open_kernel_channel(
    url: str,
    token: str | None,
    *,
    username: str,
    protocol: WireProtocol = "auto",
    max_size: int | None = None,
    open_timeout: float = 60.0,
    timings: PhaseTimings | None = None,
) -> KernelChannel:
    """Open the channels websocket at ``url`` (``ws://`` or ``wss://``).

    The connection is kept alive by a ping every :data:`KEEPALIVE_INTERVAL` seconds; it is
    closed as lost when no pong came within ``open_timeout`` (the business's
    ``jupyter_timeout``, at least the interval), so a lab busy for less than a call may take
    does not lose its kernel connection.

    Raises
    ------
    KernelConnectionError
        The handshake failed or timed out, or the server refused the requested framing.
    """
    subprotocols = [] if protocol == "legacy" else [V1_SUBPROTOCOL]
    headers = {"Authorization": f"token {token}"} if token else {}
    timings = timings if timings is not None else PhaseTimings()
    try:
        with timings.measure("websocket_open"):
            websocket = await connect(
                url,
                subprotocols=subprotocols or None,  # type: ignore[arg-type]
                additional_headers=headers,
                max_size=max_size,
                open_timeout=open_timeout,
                ping_interval=KEEPALIVE_INTERVAL,
                ping_timeout=max(KEEPALIVE_INTERVAL, open_timeout),
                proxy=None,
                compression=None,
            )
    except (OSError, InvalidHandshake, InvalidURI, TimeoutError) as exc:
        raise KernelConnectionError(
            f"Cannot open kernel websocket: {type(exc).__name__}: {exc}",
            url=url.split("?", 1)[0],
        ) from exc
    if protocol == "v1" and websocket.subprotocol != V1_SUBPROTOCOL:
        await websocket.close()
        raise KernelConnectionError(
            "Server does not speak the v1 kernel websocket protocol", url=url.split("?", 1)[0]
        )
    return KernelChannel(websocket, username=username, timings=timings)
