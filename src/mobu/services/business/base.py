"""Base class for monkey business: one kind of repeated operation."""

from __future__ import annotations

import asyncio
from abc import ABCMeta, abstractmethod
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator
from contextlib import AbstractContextManager, asynccontextmanager, suppress
from datetime import timedelta
from typing import Any, ClassVar, Generic, TypedDict, TypeVar

from structlog.typing import FilteringBoundLogger

from mobu.events import Events
from mobu.exceptions import MobuError
from mobu.models.business.base import BusinessData, BusinessOptions
from mobu.models.secrets import secret_values
from mobu.models.user import AuthenticatedUser
from mobu.redaction import redact_text
from mobu.tracing import iteration

__all__ = ["Business", "CommonEventAttrs", "StopRequestedError"]

T = TypeVar("T", bound=BusinessOptions)
U = TypeVar("U")


class CommonEventAttrs(TypedDict):
    """Attributes that are on every published event."""

    flock: str | None
    username: str
    business: str


class StopRequestedError(MobuError):
    """Raised out of :meth:`Business.interruptible` when a stop interrupts the body."""

    def __init__(self) -> None:
        super().__init__("Interrupted: the monkey was told to stop")


def _resolve(waiter: asyncio.Future[bool], value: bool) -> None:
    if not waiter.done():
        waiter.set_result(value)


class Business(Generic[T], metaclass=ABCMeta):
    """Base class for monkey business (one type of repeated operation).

    The flow: :meth:`startup` once, then :meth:`execute` followed by :meth:`idle` until told to
    stop, then :meth:`shutdown` and :meth:`close`. Every wait goes through :meth:`pause` (or
    :meth:`interruptible` / :meth:`iter_with_timeout` for I/O), so that a stop request ends it
    at once.

    Parameters
    ----------
    options
        Configuration options for the business.
    user
        User with their authentication token to use to run the business.
    events
        Event publishers.
    logger
        Logger to use to report the results of business.
    flock
        Flock that is running this business, if it is running in a flock.
    """

    options_model: ClassVar[type[BusinessOptions]] = BusinessOptions
    """Options model of this business; subclasses set it to their own options class."""

    def __init__(
        self,
        *,
        options: T,
        user: AuthenticatedUser,
        events: Events,
        logger: FilteringBoundLogger,
        flock: str | None,
    ) -> None:
        self.options = options
        self.user = user
        self.events = events
        self.logger = logger
        self.flock = flock
        self.name = type(self).__name__
        self.success_count = 0
        self.failure_count = 0
        self.stopping = False
        self.refreshing = False
        self._active = 0
        self._acknowledged: asyncio.Event | None = None
        self._waiters: set[asyncio.Future[bool]] = set()
        self._scopes: set[asyncio.Timeout] = set()
        self._secrets = [s for s in (user.token, *secret_values(options)) if s]

    # Hooks --------------------------------------------------------------------------------------

    async def startup(self) -> None:
        """Run before the start of the first iteration and then not again."""

    @abstractmethod
    async def execute(self) -> None:
        """Execute the core of each business loop."""

    async def idle(self) -> None:
        """Pause at the end of each business loop."""
        self.logger.debug("Idling...")
        await self.pause(self.options.idle_time)

    async def shutdown(self) -> None:
        """Perform any cleanup required after stopping."""

    async def close(self) -> None:
        """Clean up any allocated resources. Must be idempotent."""

    # Running ------------------------------------------------------------------------------------

    async def run(self) -> None:
        """Execute the core business logic.

        Calls :meth:`startup`, then loops calling :meth:`execute` followed by :meth:`idle`,
        counting successes and failures. A failed startup counts as a failure. An exception
        ends the loop and propagates to the caller (the monkey decides about restarting),
        unless it happened because a stop was requested. When told to stop, calls
        :meth:`shutdown` followed by :meth:`close`.
        """
        self._active += 1
        try:
            self.logger.info("Starting up...")
            try:
                await self.startup()
            except Exception:
                if self.stopping:
                    self.logger.info("Startup interrupted by stop")
                    return
                self.failure_count += 1
                raise
            while not self.stopping:
                self.logger.info("Starting next iteration")
                try:
                    with self._traced():
                        await self.execute()
                except Exception:
                    if self._stop_requested():
                        self.logger.info("Iteration interrupted by stop")
                        break
                    self.failure_count += 1
                    raise
                self.success_count += 1
                await self.idle()
            self.logger.info("Shutting down...")
            await self.shutdown()
            await self.close()
        finally:
            self._leave()

    async def run_once(self) -> None:
        """Execute the core business logic, only once.

        Calls :meth:`startup`, :meth:`execute`, :meth:`shutdown` and :meth:`close`. Shutdown
        also runs after a failed execute, so that resources such as labs are released, and
        close always runs. Exceptions propagate.
        """
        self._active += 1
        try:
            self.logger.info("Starting up...")
            await self.startup()
            try:
                with self._traced():
                    await self.execute()
            except BaseException:
                self.logger.info("Shutting down...")
                with suppress(Exception):
                    await self.shutdown()
                raise
            self.logger.info("Shutting down...")
            await self.shutdown()
        finally:
            try:
                await self.close()
            finally:
                self._leave()

    async def error_idle(self) -> None:
        """Pause after an error and before attempting to restart."""
        self._active += 1
        try:
            self.logger.warning(
                "Restarting failed monkey after pause",
                error_idle_time=self.options.error_idle_time.total_seconds(),
            )
            await self.pause(self.options.error_idle_time)
        finally:
            self._leave()

    # Stopping and waiting -----------------------------------------------------------------------

    def request_stop(self) -> None:
        """Ask the business to stop without waiting; wakes every pause and interruptible wait."""
        if not self.stopping:
            self.stopping = True
            self.logger.info("Stopping...")
        for waiter in self._waiters:
            _resolve(waiter, False)
        if self._scopes:
            now = asyncio.get_running_loop().time()
            for scope in list(self._scopes):
                scope.reschedule(now)

    async def stop(self) -> None:
        """Tell the running background task to stop and wait for that."""
        self.request_stop()
        if self._active > 0:
            if self._acknowledged is None:
                self._acknowledged = asyncio.Event()
            await self._acknowledged.wait()
        self.logger.info("Stopped")

    def _traced(self) -> AbstractContextManager[None]:
        """The Sentry transaction of one iteration (nothing when tracing is off)."""
        return iteration(
            self.name, flock=self.flock, username=self.user.username, stopping=self._stop_requested
        )

    def _stop_requested(self) -> bool:
        # A method, not the attribute, so type checkers do not assume it unchanged across awaits.
        return self.stopping

    def _leave(self) -> None:
        self._active -= 1
        if self._active <= 0 and self.stopping and self._acknowledged is not None:
            self._acknowledged.set()

    async def pause(self, interval: timedelta) -> bool:
        """Pause for up to the given interval, handling commands.

        Returns
        -------
        bool
            False if the business has been told to stop, True otherwise.
        """
        if self.stopping:
            return False
        seconds = interval.total_seconds()
        if seconds <= 0:
            await asyncio.sleep(0)
            return not self.stopping
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[bool] = loop.create_future()
        handle = loop.call_later(seconds, _resolve, waiter, True)
        self._waiters.add(waiter)
        try:
            return await waiter
        finally:
            handle.cancel()
            self._waiters.discard(waiter)

    @asynccontextmanager
    async def interruptible(self, timeout: timedelta | None = None) -> AsyncIterator[None]:
        """Run the body until it finishes, a stop is requested, or ``timeout`` passes.

        Raises
        ------
        StopRequestedError
            The business was told to stop while the body ran.
        TimeoutError
            The timeout passed first.
        """
        if self.stopping:
            raise StopRequestedError
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout.total_seconds()
        async with self._deadline_scope(deadline):
            yield

    @asynccontextmanager
    async def _deadline_scope(self, deadline: float | None) -> AsyncIterator[asyncio.Timeout]:
        scope = asyncio.timeout_at(deadline)
        try:
            async with scope:
                self._scopes.add(scope)
                if self.stopping:
                    scope.reschedule(asyncio.get_running_loop().time())
                yield scope
        except TimeoutError:
            if scope.expired() and self.stopping:
                raise StopRequestedError from None
            raise
        finally:
            self._scopes.discard(scope)

    async def iter_with_timeout(
        self, iterable: AsyncIterable[U], timeout: timedelta
    ) -> AsyncGenerator[U]:
        """Run an iterator with an overall timeout.

        Yields the items of ``iterable`` until it is exhausted, ``timeout`` has passed since the
        first call (measured overall, not per item), or the business was told to stop. The
        latter two can be told apart by checking :attr:`stopping`.
        """
        iterator = aiter(iterable)
        deadline = asyncio.get_running_loop().time() + timeout.total_seconds()
        try:
            while not self.stopping:
                scope: asyncio.Timeout | None = None
                try:
                    async with self._deadline_scope(deadline) as scope:
                        item = await anext(iterator)
                except (StopAsyncIteration, StopRequestedError):
                    return
                except TimeoutError:
                    if scope is not None and scope.expired():
                        return
                    raise
                yield item
        finally:
            aclose = getattr(iterator, "aclose", None)
            if aclose is not None:
                with suppress(Exception):
                    await aclose()

    # Reporting ----------------------------------------------------------------------------------

    def secrets(self) -> list[str]:
        """The credentials of this business: the user's token and its secret options."""
        return list(self._secrets)

    def redact(self, text: str) -> str:
        """``text`` without this business's secrets or anything shaped like a credential."""
        return redact_text(text, self._secrets)

    def signal_refresh(self) -> None:
        """Ask the business to refresh (e.g. re-clone its notebooks) at its next boundary."""
        self.refreshing = True

    def common_event_attrs(self) -> CommonEventAttrs:
        """Attributes that are on every published event."""
        return {"flock": self.flock, "username": self.user.username, "business": self.name}

    def dump(self) -> BusinessData:
        """Return the status of this business."""
        return BusinessData(
            name=self.name,
            failure_count=self.failure_count,
            success_count=self.success_count,
            refreshing=self.refreshing,
        )

    @classmethod
    def describe(cls) -> dict[str, Any]:
        """Return the business's name, docstring summary and options JSON schema."""
        doc = (cls.__doc__ or "").strip().splitlines()
        return {
            "name": cls.__name__,
            "description": doc[0] if doc else "",
            "options_schema": cls.options_model.model_json_schema(),
        }
