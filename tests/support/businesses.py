"""Small businesses used to test the engine's lifecycle rules."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

from pydantic import Field
from typing_extensions import override

from mobu.models.business.base import BusinessOptions
from mobu.services.business.base import Business


class ProbeOptions(BusinessOptions):
    """Options of the probe businesses."""

    fail_startup: bool = Field(False)
    fail_executions: int = Field(0, description="Fail this many executions first")


class Probe(Business[ProbeOptions]):
    """Records every hook call; can fail on demand."""

    options_model = ProbeOptions
    calls: list[str]

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.calls = []
        self.executions = 0
        self.executed = asyncio.Event()
        self.idling = asyncio.Event()
        self.error_idling = asyncio.Event()
        self.blocked = asyncio.Event()

    @override
    async def startup(self) -> None:
        self.calls.append("startup")
        if self.options.fail_startup:
            raise RuntimeError("startup failed on purpose")

    @override
    async def execute(self) -> None:
        self.calls.append("execute")
        self.executions += 1
        self.executed.set()
        if self.executions <= self.options.fail_executions:
            raise RuntimeError(f"execution {self.executions} failed on purpose")

    @override
    async def idle(self) -> None:
        self.idling.set()
        await super().idle()

    @override
    async def error_idle(self) -> None:
        self.error_idling.set()
        await super().error_idle()

    @override
    async def shutdown(self) -> None:
        self.calls.append("shutdown")

    @override
    async def close(self) -> None:
        self.calls.append("close")


class Hanging(Probe):
    """Execute blocks forever and ignores stop requests (a hung backend)."""

    @override
    async def execute(self) -> None:
        self.calls.append("execute")
        self.executed.set()
        await asyncio.get_running_loop().create_future()


class Streaming(Probe):
    """Execute reads a slow stream through iter_with_timeout."""

    items: list[int]

    async def _stream(self) -> AsyncIterator[int]:
        for i in range(3):
            yield i
        self.blocked.set()
        await asyncio.get_running_loop().create_future()

    @override
    async def execute(self) -> None:
        self.calls.append("execute")
        self.items = []
        self.executed.set()
        async for item in self.iter_with_timeout(self._stream(), timedelta(hours=1)):
            self.items.append(item)
        self.calls.append("stream-ended")
