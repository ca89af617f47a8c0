"""JSON-lines file sink backend with size-based rotation."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import IO, Any

from mobu.sinks.config import FileSinkConfig

__all__ = ["JsonLinesBackend"]


class JsonLinesBackend:
    """Appends one JSON object per line to a file; rotates to ``path.1`` .. ``path.N``.

    Writes run in a worker thread so the event loop never waits on the disk.
    """

    name = "file"

    def __init__(self, config: FileSinkConfig) -> None:
        self.path = config.path
        self.max_bytes = config.max_bytes
        self.backups = config.backups
        self._file: IO[bytes] | None = None
        self._size = 0
        self._lock = asyncio.Lock()

    async def write(self, records: list[dict[str, Any]]) -> None:
        """Append a batch (in a thread)."""
        lines = [
            json.dumps(r, separators=(",", ":"), default=str).encode() + b"\n" for r in records
        ]
        async with self._lock:
            await asyncio.to_thread(self._write_lines, lines)

    def _write_lines(self, lines: list[bytes]) -> None:
        handle = self._open()
        for line in lines:
            if self._size and self._size + len(line) > self.max_bytes:
                handle = self._rotate()
            handle.write(line)
            self._size += len(line)
        handle.flush()

    def _open(self) -> IO[bytes]:
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("ab")
            self._size = self._file.tell()
        return self._file

    def _rotate(self) -> IO[bytes]:
        if self._file is not None:
            self._file.close()
            self._file = None
        if self.backups > 0:
            for number in range(self.backups - 1, 0, -1):
                source = self._backup(number)
                if source.exists():
                    source.replace(self._backup(number + 1))
            self.path.replace(self._backup(1))
        else:
            self.path.unlink(missing_ok=True)
        return self._open()

    def _backup(self, number: int) -> Path:
        return self.path.with_name(f"{self.path.name}.{number}")

    async def aclose(self) -> None:
        """Close the file."""
        async with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None
