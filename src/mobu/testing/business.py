"""Run a business once in a test, and a fake business to test what drives businesses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import Field
from structlog.typing import FilteringBoundLogger
from typing_extensions import override

from mobu.events import BusinessEvent, EventBase, EventRecorder, Events
from mobu.models.business.base import BusinessOptions
from mobu.models.user import AuthenticatedUser
from mobu.services.builder import null_logger
from mobu.services.business.base import Business

__all__ = [
    "BusinessRun",
    "FakeBusiness",
    "FakeExecution",
    "FakeOptions",
    "run_business_once",
]


@dataclass(frozen=True)
class BusinessRun:
    """What :func:`run_business_once` ran and what it published."""

    business: Business[Any]
    """The business, after its run (``success_count``, ``dump()``...)."""

    recorder: EventRecorder
    """Every event the business published during the run."""

    def published(self, name: str | None = None) -> list[EventBase]:
        """Return the published events, optionally only those named ``name``."""
        return self.recorder.published(name)


async def run_business_once(
    business_type: type[Business[Any]],
    options: BusinessOptions | dict[str, Any] | None = None,
    *,
    user: AuthenticatedUser | None = None,
    logger: FilteringBoundLogger | None = None,
    flock: str | None = None,
    **collaborators: Any,
) -> BusinessRun:
    """Build ``business_type`` and run it once (startup, execute, shutdown, close).

    Parameters
    ----------
    business_type
        The business class to run.
    options
        Its options, as its ``options_model`` or as a dict validated by it; defaults otherwise.
    user
        The user it runs as; ``bot-mobu-test`` without a token by default.
    logger
        Where it logs; nowhere by default.
    flock
        The flock name its events carry; none (a solitary run) by default.
    **collaborators
        Extra constructor arguments the business declares (an HTTP client, a repo cache...).

    Raises
    ------
    Exception
        Whatever the business raised: the run is not retried or swallowed.
    """
    model = business_type.options_model
    if options is None:
        options = model()
    elif isinstance(options, dict):
        options = model.model_validate(options)
    recorder = EventRecorder()
    events = Events([recorder])
    business = business_type(
        options=options,
        user=user or AuthenticatedUser(username="bot-mobu-test"),
        events=events,
        logger=logger or null_logger(),
        flock=flock,
        **collaborators,
    )
    await business.run_once()
    return BusinessRun(business=business, recorder=recorder)


class FakeOptions(BusinessOptions):
    """Options of :class:`FakeBusiness`."""

    fail_startup: bool = Field(False, description="Raise from startup")
    fail_executions: int = Field(0, description="Raise from this many executions first")


class FakeExecution(BusinessEvent):
    """``fake_execution``: one execution of :class:`FakeBusiness`."""


class FakeBusiness(Business[FakeOptions]):
    """Records the hooks it went through in ``calls``; publishes one event per execution."""

    options_model = FakeOptions

    def __init__(
        self,
        *,
        options: FakeOptions,
        user: AuthenticatedUser,
        events: Events,
        logger: FilteringBoundLogger,
        flock: str | None,
    ) -> None:
        super().__init__(options=options, user=user, events=events, logger=logger, flock=flock)
        self.calls: list[str] = []
        self.executions = 0
        self._published = events.publisher("fake_execution", FakeExecution)

    @override
    async def startup(self) -> None:
        self.calls.append("startup")
        if self.options.fail_startup:
            raise RuntimeError("startup failed on purpose")

    @override
    async def execute(self) -> None:
        self.calls.append("execute")
        self.executions += 1
        success = self.executions > self.options.fail_executions
        await self._published.publish(FakeExecution(**self.common_event_attrs(), success=success))
        if not success:
            raise RuntimeError(f"execution {self.executions} failed on purpose")

    @override
    async def shutdown(self) -> None:
        self.calls.append("shutdown")

    @override
    async def close(self) -> None:
        self.calls.append("close")
