"""Bounded per-monkey logs: a small in-memory buffer spilled to a size-capped file.

A file is opened only while a batch of lines is written, so 10,000 monkeys need no open file
descriptors while idle, and each monkey's disk use is capped at ``max_bytes`` (the current file
plus one rotated predecessor).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import traceback
from collections.abc import Iterable, Iterator, MutableMapping
from pathlib import Path
from typing import Any

import structlog
from structlog.typing import FilteringBoundLogger

from mobu.models.business.base import LogLevel
from mobu.redaction import redact_text

__all__ = ["MonkeyLog", "MonkeyLogDirectory", "make_monkey_logger"]

_LEVELS = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "ERROR": 40, "CRITICAL": 50}


class MonkeyLog:
    """Log of one monkey.

    Parameters
    ----------
    path
        File to spill to, or None to keep only the most recent ``max_bytes`` in memory.
    max_bytes
        Cap on the bytes kept (file plus its rotated predecessor, or memory).
    flush_bytes
        Lines are buffered in memory until this many bytes, then appended to the file.
    """

    __slots__ = ("_memory", "_pending", "_size", "flush_bytes", "max_bytes", "path")

    def __init__(
        self, path: Path | None, *, max_bytes: int = 1_048_576, flush_bytes: int = 4096
    ) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.flush_bytes = flush_bytes
        # Unwritten lines are one string, not a list of lines: an idle monkey's partly filled
        # buffer then costs about its text (<= flush_bytes), not twice that in str objects.
        self._pending = ""
        self._memory = ""
        self._size = 0

    def write(self, line: str) -> None:
        """Append one line (without its newline)."""
        self._pending += line + "\n"
        if len(self._pending) >= self.flush_bytes:
            self.flush()

    def flush(self) -> None:
        """Write buffered lines to the file (rotating it when over half the cap)."""
        data = self._pending
        if not data:
            return
        self._pending = ""
        if self.path is None:
            self._keep_in_memory(data)
            return
        if self._size + len(data) > self.max_bytes // 2 and self._size > 0:
            os.replace(self.path, self._rotated)
            self._size = 0
        with self.path.open("a", encoding="utf-8", errors="replace") as fh:
            fh.write(data)
        self._size += len(data)

    def _keep_in_memory(self, data: str) -> None:
        text = self._memory + data
        if len(text) > self.max_bytes:
            cut = text.find("\n", len(text) - self.max_bytes)
            text = text[cut + 1 :] if cut >= 0 else text[-self.max_bytes :]
        self._memory = text

    @property
    def _rotated(self) -> Path:
        assert self.path is not None
        return self.path.with_name(self.path.name + ".1")

    def iter_chunks(self, chunk_size: int = 65536) -> Iterator[str]:
        """Yield the whole retained log, oldest first."""
        self.flush()
        if self.path is None:
            if self._memory:
                yield self._memory
            return
        for path in (self._rotated, self.path):
            try:
                with path.open(encoding="utf-8", errors="replace") as fh:
                    while chunk := fh.read(chunk_size):
                        yield chunk
            except FileNotFoundError:
                continue

    def text(self) -> str:
        """Return the whole retained log."""
        return "".join(self.iter_chunks())

    def delete(self) -> None:
        """Remove the files."""
        self._pending = ""
        self._memory = ""
        if self.path is not None:
            for path in (self.path, self._rotated):
                path.unlink(missing_ok=True)


class MonkeyLogDirectory:
    """A private temporary directory holding the logs of every monkey of the process."""

    def __init__(self, parent: Path | None = None, *, max_bytes: int = 1_048_576) -> None:
        self.path = Path(tempfile.mkdtemp(prefix="mobu-logs-", dir=parent))
        self.max_bytes = max_bytes

    def create(self, flock: str | None, name: str) -> MonkeyLog:
        """Create the log of one monkey."""
        stem = f"{flock}--{name}" if flock else f"solitary--{name}-{time.monotonic_ns()}"
        return MonkeyLog(self.path / f"{stem}.log", max_bytes=self.max_bytes)

    def remove(self) -> None:
        """Delete the directory and all logs."""
        shutil.rmtree(self.path, ignore_errors=True)


class _LogWriter:
    """structlog "logger" that writes rendered, redacted lines into a MonkeyLog."""

    __slots__ = ("echo", "secrets", "target")

    def __init__(self, target: MonkeyLog, secrets: tuple[str, ...], echo: Any) -> None:
        self.target = target
        self.secrets = secrets
        self.echo = echo

    def msg(self, message: str) -> None:
        message = redact_text(message, self.secrets)
        self.target.write(message)
        if self.echo is not None:
            self.echo.info(message)

    info = debug = warning = error = critical = exception = log = msg


_last_second = 0
_last_stamp = ""


def _render(_logger: Any, method: str, event: MutableMapping[str, Any]) -> str:
    global _last_second, _last_stamp  # a one-entry cache of the timestamp text
    now = int(time.time())
    if now != _last_second:
        _last_second = now
        _last_stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(now))
    message = str(event.pop("event", ""))
    exc_info = event.pop("exc_info", None)
    parts = [_last_stamp, method.upper() if method != "msg" else "INFO", message]
    parts.extend(f"{k}={v}" for k, v in event.items())
    line = " ".join(parts)
    if exc_info:
        exc = exc_info if isinstance(exc_info, BaseException) else None
        if exc is None and exc_info is True:
            import sys

            exc = sys.exc_info()[1]
        if exc is not None:
            line += "\n" + "".join(traceback.format_exception(exc)).rstrip()
    return line


def make_monkey_logger(
    log: MonkeyLog,
    level: LogLevel,
    *,
    secret: str | None = None,
    secrets: Iterable[str | None] = (),
    echo: Any = None,
    **context: Any,
) -> FilteringBoundLogger:
    """Return a structlog logger writing to ``log`` at ``level``.

    Every line is redacted before it is written (or echoed): the known ``secret``/``secrets``
    (the monkey's token, its secret options) and anything shaped like a credential (URL
    passwords, ``token=``/``apikey=``-style values, ``Authorization`` and bearer values).
    """
    known = tuple(s for s in (secret, *secrets) if s)
    wrapper = structlog.make_filtering_bound_logger(_LEVELS[str(level)])
    logger: FilteringBoundLogger = structlog.wrap_logger(
        _LogWriter(log, known, echo),
        processors=[_render],
        wrapper_class=wrapper,
        cache_logger_on_first_use=True,
    )
    # bind() returns the concrete bound logger: calls on it skip the lazy proxy's per-call
    # attribute lookup (half the cost of a log line, and ten times that of a filtered one).
    return logger.bind(**context)
