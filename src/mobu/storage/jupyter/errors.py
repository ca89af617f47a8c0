"""Errors of the Jupyter clients, each carrying the facts an alert needs."""

from __future__ import annotations

import re
from typing import Any

from mobu.exceptions import BusinessError

__all__ = [
    "CodeExecutionError",
    "ExecutionTimeoutError",
    "JupyterDeleteTimeoutError",
    "JupyterError",
    "JupyterProtocolError",
    "JupyterSpawnError",
    "JupyterSpawnTimeoutError",
    "JupyterWebError",
    "KernelConnectionError",
    "strip_ansi",
]

_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-Z\\-_]")


def strip_ansi(text: str) -> str:
    """Remove ANSI escape sequences (colours of IPython tracebacks)."""
    return _ANSI.sub("", text)


class JupyterError(BusinessError):
    """Root of the errors talking to JupyterHub, a lab or a kernel."""


class JupyterWebError(JupyterError):
    """An HTTP call to the hub or the lab failed (status or transport error).

    The URL is kept without query string; tokens are never part of it since they travel in
    headers.
    """

    def __init__(
        self,
        message: str,
        *,
        method: str,
        url: str,
        status: int | None = None,
        body: str | None = None,
        **context: Any,
    ) -> None:
        super().__init__(
            message,
            method=method,
            url=url.split("?", 1)[0],
            status=status,
            body=(body or "")[:500] or None,
            **context,
        )
        self.status = status


class JupyterSpawnError(JupyterError):
    """The hub reported a failed spawn, or the progress stream ended without ready."""


class JupyterSpawnTimeoutError(JupyterSpawnError):
    """The lab did not become ready within ``spawn_timeout``."""


class JupyterDeleteTimeoutError(JupyterError):
    """The lab was still running ``delete_timeout`` after it was asked to stop."""


class JupyterProtocolError(JupyterError):
    """A message from the server could not be understood."""


class KernelConnectionError(JupyterError):
    """The kernel websocket could not be opened or closed under us."""


class ExecutionTimeoutError(JupyterError):
    """Code did not finish within its execution timeout."""


class CodeExecutionError(JupyterError):
    """Code raised an exception in the kernel (or the request was aborted).

    Attributes
    ----------
    ename, evalue
        Exception name and value reported by the kernel.
    traceback
        The traceback, ANSI escapes removed.
    """

    def __init__(
        self,
        message: str,
        *,
        code: str,
        status: str,
        ename: str | None = None,
        evalue: str | None = None,
        traceback: str | None = None,
        **context: Any,
    ) -> None:
        super().__init__(
            message,
            code=code,
            status=status,
            ename=ename,
            evalue=evalue,
            traceback=traceback,
            **context,
        )
        self.code = code
        self.status = status
        self.ename = ename
        self.evalue = evalue
        self.traceback = traceback

    def __str__(self) -> str:
        text = super().__str__()
        if self.traceback:
            text += f"\nError: {self.traceback}"
        return text
