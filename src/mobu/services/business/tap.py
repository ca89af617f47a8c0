"""Base class of the TAP businesses: run ADQL queries, sync or async (UWS), through pyvo.

The service, its session and its worker threads are the :class:`VOBusiness`'s: every call ends
at once on a stop or after ``query_timeout``. An async job is aborted if it is still running and
always deleted.
"""

from __future__ import annotations

import asyncio
import secrets
import threading
import time
from abc import abstractmethod
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Generic, TypeVar

import pyvo
from pydantic import Field
from typing_extensions import override

from mobu.events import TimedEvent
from mobu.exceptions import BusinessError
from mobu.models.timedelta import HumanTimedelta
from mobu.services.business.base import StopRequestedError
from mobu.services.business.vo import VOBusiness, VOBusinessOptions, failure_reason

__all__ = [
    "CLEANUP_TIMEOUT",
    "PreparedQuery",
    "TAPBusiness",
    "TAPBusinessOptions",
    "TAPClientError",
    "TAPQueryError",
    "TapQuery",
    "new_query_id",
]

CLEANUP_TIMEOUT = timedelta(seconds=10)
"""Time allowed to abort and delete an async job after the query ended."""

_FINAL_PHASES = frozenset({"COMPLETED", "ERROR", "ABORTED"})


def new_query_id() -> str:
    """Return a fresh identifier for a query, to find it in server logs."""
    return f"mobu-{secrets.token_hex(6)}"


class TapQuery(TimedEvent):
    """``tap_query``: one TAP query."""

    sync: bool


class TAPBusinessOptions(VOBusinessOptions):
    """Options shared by the TAP businesses."""

    dataset: str = Field(
        "dp02",
        min_length=1,
        description="Dataset whose TAP service is queried (a key of discovery.datasets)",
        examples=["dp02", "demo"],
    )
    sync: bool = Field(True, description="Run sync queries (/sync); false: async UWS jobs (/async)")
    query_timeout: HumanTimedelta = Field(
        timedelta(minutes=5),
        description=(
            "Longest time a query may take, sync or async; an async job still running then is"
            " aborted (and, like every job, deleted)"
        ),
        examples=[300, "30s"],
    )
    query_comment: bool = Field(
        True,
        description=(
            "Start each query with the comment '-- mobu query_id=... user=... template=...' so"
            " server logs can be correlated; turn off for servers whose ADQL parser rejects"
            " comments"
        ),
    )


class TAPClientError(BusinessError):
    """The TAP service could not be found or reached at startup."""


class TAPQueryError(BusinessError):
    """A TAP query failed or timed out; the context names the query and its id."""


@dataclass(frozen=True)
class PreparedQuery:
    """One query to run.

    Attributes
    ----------
    adql
        The ADQL text, without the identifying comment.
    query_id
        Identifier of this execution, also sent in an ADQL comment.
    template
        Name of the template it came from, if any.
    """

    adql: str
    query_id: str
    template: str | None = None

    def text(self, username: str, *, comment: bool = True) -> str:
        """Return the ADQL sent to the server, starting with an identifying comment."""
        if not comment:
            return self.adql.strip()
        label = f"-- mobu query_id={self.query_id} user={username}"
        if self.template:
            label += f" template={self.template}"
        return f"{label}\n{self.adql.strip()}"


class _JobSlot:
    """Hands an async job from the worker thread to whoever cleans it up, exactly once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._job: Any = None
        self._closed = False

    def attach(self, job: Any) -> bool:
        """Record the job; False if the query was already given up (the thread cleans up)."""
        with self._lock:
            self._job = job
            return not self._closed

    def close(self) -> Any:
        """Give up the query; returns the job to clean up, if the thread created one."""
        with self._lock:
            self._closed = True
            return self._job


OptionsT = TypeVar("OptionsT", bound=TAPBusinessOptions)


class TAPBusiness(VOBusiness[OptionsT], Generic[OptionsT]):
    """Runs one TAP query per iteration; subclasses choose the query."""

    service_kind = "tap"
    client_error = TAPClientError

    @abstractmethod
    def get_next_query(self) -> PreparedQuery:
        """Return the query of the next iteration."""

    @override
    def make_service(self, url: str) -> Any:
        return pyvo.dal.TAPService(url, session=self.session)

    @override
    async def execute(self) -> None:
        query = self.get_next_query()
        text = query.text(self.user.username, comment=self.options.query_comment)
        sync = self.options.sync
        self.running_query = text
        self.logger.info(
            "Running query",
            mode="sync" if sync else "async",
            query_id=query.query_id,
            template=query.template,
            query=text,
        )
        slot = _JobSlot()
        start = time.perf_counter()
        try:
            async with self.interruptible(self.options.query_timeout):
                if sync:
                    rows = await self._calls.run(self._run_sync, text)
                else:
                    rows = await self._calls.run(self._run_async, text, slot)
        except StopRequestedError:
            self.logger.info("Query interrupted by stop", query_id=query.query_id)
            raise
        except Exception as exc:
            duration = time.perf_counter() - start
            await self._publish(success=False, duration=duration)
            raise self._query_error(query, text, exc) from exc
        finally:
            self.running_query = None
            if not sync:
                await self._cleanup(slot, query.query_id)
        duration = time.perf_counter() - start
        await self._publish(success=True, duration=duration)
        self.logger.info(
            "Query finished", query_id=query.query_id, rows=rows, duration=round(duration, 3)
        )

    def _query_error(self, query: PreparedQuery, text: str, exc: Exception) -> TAPQueryError:
        reason = failure_reason(exc, self._timeout).strip()
        self.logger.warning("Query failed", query_id=query.query_id, error=reason)
        return TAPQueryError(
            f"TAP query {query.query_id} failed: {reason}",
            query=text,
            query_id=query.query_id,
            template=query.template,
            dataset=self.options.dataset,
            sync=self.options.sync,
        )

    def _run_sync(self, text: str) -> int:
        return len(self.service.run_sync(text))

    def _run_async(self, text: str, slot: _JobSlot) -> int:
        job = self.service.submit_job(text)
        if not slot.attach(job):
            self._clean_job(job)
            raise TimeoutError("query given up before the job started")
        job.run()
        job.wait(phases=list(_FINAL_PHASES), timeout=self._timeout)
        job.raise_if_error()
        if job.phase != "COMPLETED":
            raise pyvo.dal.DALServiceError(f"job ended in phase {job.phase}")
        return len(job.fetch_result())

    def _clean_job(self, job: Any) -> None:
        """Abort the job if it is still running, then delete it (blocking)."""
        try:
            if job.phase not in _FINAL_PHASES:
                job.abort()
        finally:
            job.delete()

    async def _cleanup(self, slot: _JobSlot, query_id: str) -> None:
        job = slot.close()
        if job is None or job.url is None:
            return
        url = job.url
        try:
            # Also runs after a stop, so it is bounded rather than interruptible.
            async with asyncio.timeout(CLEANUP_TIMEOUT.total_seconds()):
                await self._calls.run(self._clean_job, job)
        except Exception as exc:  # noqa: BLE001 - cleanup failures are logged, not raised
            self.logger.warning(
                "Could not abort and delete async job",
                query_id=query_id,
                job=url,
                error=f"{type(exc).__name__}: {exc}",
            )
        else:
            self.logger.debug("Deleted async job", query_id=query_id, job=url)

    async def _publish(self, *, success: bool, duration: float) -> None:
        await self.events.publisher("tap_query", TapQuery).publish(
            TapQuery(
                **self.common_event_attrs(),
                success=success,
                duration=timedelta(seconds=duration),
                sync=self.options.sync,
            )
        )
