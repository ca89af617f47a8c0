"""EmptyLoop: a business that does nothing, for testing mobu itself."""

from __future__ import annotations

from typing_extensions import override

from mobu.events import EmptyLoopExecution
from mobu.models.business.base import BusinessOptions
from mobu.services.business.base import Business

__all__ = ["EmptyLoop"]


class EmptyLoop(Business[BusinessOptions]):
    """Does nothing but publish an empty_loop event each iteration."""

    options_model = BusinessOptions

    @override
    async def execute(self) -> None:
        await self.events.empty_loop.publish(
            EmptyLoopExecution(**self.common_event_attrs(), success=True)
        )
