"""Monkey: one simulated user running one business, with restart and stop policies."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from structlog.typing import FilteringBoundLogger

from mobu.alerts.reporting import FailureReport, Reporters
from mobu.exceptions import BusinessError
from mobu.models.business.base import BusinessData
from mobu.models.monkey import MonkeyData, MonkeyState
from mobu.redaction import redact_value
from mobu.services.business.base import Business
from mobu.storage.monkeylog import MonkeyLog

__all__ = ["Monkey"]

CLEANUP_TIMEOUT = timedelta(seconds=30)
"""Time allowed to each of shutdown and close after a business was cancelled."""

CANCEL_WAIT = 5.0
"""Seconds to wait for a cancelled task to finish before abandoning it."""

_abandoned: set[asyncio.Task[Any]] = set()
"""Tasks of monkeys outside their task group: cleanup steps, and businesses that ignored their
cancellation. Held here until they end, so none is garbage-collected while it runs."""


class Monkey:
    """Runs one business for one user.

    Parameters
    ----------
    name
        Name of the monkey (its username, or ``solitary-<username>``).
    flock
        Name of its flock, or None for a solitary run.
    business
        The business to run.
    restart
        Restart the business (after its ``error_idle``) when it fails.
    log
        The monkey's own log, or None when logs are not retained.
    logger
        Logger for the monkey's own messages (usually writing to ``log``).
    stop_grace
        How long a business may take to acknowledge a stop before it is cancelled.
    reporters
        Where failures are reported.
    """

    __slots__ = (
        "_task",
        "business",
        "flock",
        "log",
        "logger",
        "name",
        "reporters",
        "restart",
        "state",
        "stop_grace",
    )

    def __init__(
        self,
        *,
        name: str,
        flock: str | None,
        business: Business[Any],
        restart: bool,
        log: MonkeyLog | None,
        logger: FilteringBoundLogger,
        stop_grace: timedelta,
        reporters: Reporters,
    ) -> None:
        self.name = name
        self.flock = flock
        self.business = business
        self.restart = restart
        self.log = log
        self.logger = logger
        self.stop_grace = stop_grace
        self.reporters = reporters
        self.state = MonkeyState.IDLE
        self._task: asyncio.Task[None] | None = None

    def start(self, task_group: asyncio.TaskGroup) -> None:
        """Start running the business in a task owned by ``task_group``."""
        self._task = task_group.create_task(self._runner(), name=f"monkey:{self.name}")

    async def _runner(self) -> None:
        business = self.business
        while not business.stopping:
            self.state = MonkeyState.RUNNING
            try:
                await business.run()
            except Exception as exc:  # noqa: BLE001 - the monkey is the error boundary
                if business._stop_requested():
                    break
                self._report(exc)
                await self._bounded(business.close(), "close")
                if not self.restart:
                    self.logger.warning("Shutting down monkey due to error")
                    break
                self.state = MonkeyState.ERROR
                await business.error_idle()
            else:
                break
        self.state = MonkeyState.FINISHED

    def _report(self, exc: Exception) -> None:
        secrets = self.business.secrets()
        context = exc.alert_context() if isinstance(exc, BusinessError) else {}
        self.logger.error(
            "Exception thrown while doing monkey business",
            error=self.business.redact(f"{type(exc).__name__}: {exc}"),
            exc_info=exc,
        )
        self.reporters.failure(
            FailureReport(
                flock=self.flock,
                monkey=self.name,
                business=self.business.name,
                error=exc,
                context=context,
                secrets=tuple(secrets),
            )
        )

    async def run_once(self) -> str | None:
        """Run the business once (solitary). Returns the error text, or None on success."""
        self.state = MonkeyState.RUNNING
        try:
            await self.business.run_once()
        except Exception as exc:  # the result carries the error
            self.logger.error(
                "Exception thrown while doing monkey business",
                error=self.business.redact(str(exc)),
                exc_info=exc,
            )
            self.state = MonkeyState.ERROR
            return self.business.redact(f"{type(exc).__name__}: {exc}")
        self.state = MonkeyState.FINISHED
        return None

    async def stop(self) -> None:
        """Stop the monkey: signal, wait up to the grace period, then cancel.

        Always finishes: a business that does not acknowledge the stop within ``stop_grace`` is
        cancelled, then its ``shutdown`` and ``close`` run, each under its own timeout.
        """
        task = self._task
        if self.state in (MonkeyState.RUNNING, MonkeyState.ERROR, MonkeyState.IDLE):
            self.state = MonkeyState.STOPPING
        self.business.request_stop()
        if task is not None and not task.done():
            done, _ = await asyncio.wait({task}, timeout=self.stop_grace.total_seconds())
            if not done:
                self.logger.warning(
                    "Business did not stop within grace period, cancelling it",
                    grace=self.stop_grace.total_seconds(),
                )
                task.cancel()
                done, _ = await asyncio.wait({task}, timeout=CANCEL_WAIT)
                if not done:
                    self.logger.error("Business ignored cancellation, abandoning it")
                    _abandoned.add(task)
                    task.add_done_callback(_abandoned.discard)
                await self._bounded(self.business.shutdown(), "shutdown")
                await self._bounded(self.business.close(), "close")
        elif task is None:
            await self._bounded(self.business.close(), "close")
        # The log is not flushed here: readers flush it (MonkeyLog.iter_chunks), and a stopped
        # flock deletes its logs, so flushing 10,000 of them would create 10,000 files to delete.
        self.state = MonkeyState.FINISHED

    async def _bounded(self, coro: Any, what: str) -> None:
        """Run a cleanup coroutine in its own task under CLEANUP_TIMEOUT; never raises."""
        task: asyncio.Task[Any] = asyncio.create_task(coro, name=f"monkey-{what}:{self.name}")
        _abandoned.add(task)  # owned until it ends, even if this wait is cancelled
        task.add_done_callback(_abandoned.discard)
        try:
            done, _ = await asyncio.wait({task}, timeout=CLEANUP_TIMEOUT.total_seconds())
        except asyncio.CancelledError:
            task.cancel()
            raise
        if not done:
            self.logger.error("Cleanup timed out", step=what)
            task.cancel()
            return
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            self.logger.warning("Cleanup failed", step=what, error=f"{type(exc).__name__}: {exc}")

    def dump(self) -> MonkeyData:
        """Return the status of the monkey (without its token or any other credential)."""
        data = self.business.dump().model_dump()
        business = BusinessData(**redact_value(data, self.business.secrets()))
        return MonkeyData(
            name=self.name, state=self.state, user=self.business.user, business=business
        )
