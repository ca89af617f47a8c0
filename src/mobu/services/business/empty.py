"""EmptyLoop: a business that does nothing, for testing mobu itself."""

from __future__ import annotations

from structlog.typing import FilteringBoundLogger
from typing_extensions import override

from mobu.events import BusinessEvent, Events
from mobu.models.business.base import BusinessOptions
from mobu.models.user import AuthenticatedUser
from mobu.services.business.base import Business

__all__ = ["EmptyLoop", "EmptyLoopExecution"]


class EmptyLoopExecution(BusinessEvent):
    """``empty_loop``: one iteration of EmptyLoop."""


class EmptyLoop(Business[BusinessOptions]):
    """Does nothing but publish an empty_loop event each iteration."""

    options_model = BusinessOptions

    def __init__(
        self,
        *,
        options: BusinessOptions,
        user: AuthenticatedUser,
        events: Events,
        logger: FilteringBoundLogger,
        flock: str | None,
    ) -> None:
        super().__init__(options=options, user=user, events=events, logger=logger, flock=flock)
        self._executions = events.publisher("empty_loop", EmptyLoopExecution)

    @override
    async def execute(self) -> None:
        await self._executions.publish(
            EmptyLoopExecution(**self.common_event_attrs(), success=True)
        )
