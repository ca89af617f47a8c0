"""In-memory sink backend (tests, embedding)."""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

__all__ = ["MemoryBackend"]


class MemoryBackend:
    """Keeps the most recent exported events in memory.

    Parameters
    ----------
    maxlen
        Events kept.
    """

    name = "memory"

    def __init__(self, maxlen: int = 100_000) -> None:
        self.records: deque[dict[str, Any]] = deque(maxlen=maxlen)
        self.total = 0
        self._changed: asyncio.Event | None = None

    async def write(self, records: list[dict[str, Any]]) -> None:
        """Keep a batch."""
        self.records.extend(records)
        self.total += len(records)
        if self._changed is not None:
            self._changed.set()

    async def wait_for(self, count: int) -> list[dict[str, Any]]:
        """Wait until at least ``count`` events were written in total."""
        while self.total < count:
            if self._changed is None:
                self._changed = asyncio.Event()
            self._changed.clear()
            await self._changed.wait()
        return list(self.records)

    async def aclose(self) -> None:
        """Nothing to release."""
