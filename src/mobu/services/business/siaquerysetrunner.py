"""SIAQuerySetRunner: random SIA v2 queries (POS circle and TIME range) through pyvo.

The parameters come from a params file (:class:`SIAQuerySetParams`):
``mobu/data/siaquerysets/<name>/params.yaml`` for a shipped set, or one under a configured
``query_set_dirs`` directory (:class:`QuerySetLocator`), never a path. Positions are drawn
uniformly inside the configured box.
"""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any, Self

import pyvo
from astropy.time import Time
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from structlog.typing import FilteringBoundLogger
from typing_extensions import override

from mobu.discovery import Discovery
from mobu.events import Events, TimedEvent
from mobu.exceptions import BusinessError, QuerySetError
from mobu.models.timedelta import HumanTimedelta
from mobu.models.user import AuthenticatedUser
from mobu.services.business.base import StopRequestedError
from mobu.services.business.querysets import (
    SHIPPED_ONLY,
    QuerySetLocator,
    check_query_set_name,
    load_params,
)
from mobu.services.business.vo import VOBusiness, VOBusinessOptions, failure_reason

__all__ = [
    "SIAClientError",
    "SIAQuery",
    "SIAQueryError",
    "SIAQuerySetParams",
    "SIAQuerySetRunner",
    "SIAQuerySetRunnerOptions",
    "load_sia_params",
]


class SIAQuery(TimedEvent):
    """``sia_query``: one SIA query."""


class SIAQuerySetParams(BaseModel):
    """Params file of an SIA query set: where and when to search."""

    model_config = ConfigDict(extra="forbid")

    min_ra: float = Field(52.0, ge=0, le=360)
    max_ra: float = Field(72.0, ge=0, le=360)
    min_dec: float = Field(-44.0, ge=-90, le=90)
    max_dec: float = Field(-28.0, ge=-90, le=90)
    min_radius: float = Field(0.003, gt=0, description="Smallest search radius (degrees)")
    radius_range: float = Field(0.05, ge=0, description="Radius = min_radius + U * radius_range")
    start_time: float = Field(60550.31803461111, description="Start of the TIME range (MJD)")
    end_time: float = Field(60550.31838182871, description="End of the TIME range (MJD)")

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.min_ra > self.max_ra or self.min_dec > self.max_dec:
            raise ValueError("min_ra/min_dec must not exceed max_ra/max_dec")
        if self.start_time > self.end_time:
            raise ValueError("start_time must not be after end_time")
        return self

    def generate(self, rng: random.Random) -> dict[str, Any]:
        """Draw one query: ``ra``, ``dec``, ``radius`` and ``time`` (start, end as MJD)."""
        return {
            "ra": rng.uniform(self.min_ra, self.max_ra),
            "dec": rng.uniform(self.min_dec, self.max_dec),
            "radius": self.min_radius + rng.random() * self.radius_range,
            "time": [self.start_time, self.end_time],
        }


def load_sia_params(name: str, locator: QuerySetLocator = SHIPPED_ONLY) -> SIAQuerySetParams:
    """Load the params of SIA query set ``name`` (see :meth:`QuerySetLocator.sia`).

    Raises
    ------
    QuerySetError
        Unknown, or its params file is unreadable or invalid (the file's content is not quoted).
    """
    path = locator.sia(name)
    try:
        return load_params(path, SIAQuerySetParams)
    except ValueError as exc:
        raise QuerySetError(f"SIA query set {name!r}: {exc}") from None


class SIAQuerySetRunnerOptions(VOBusinessOptions):
    """Options of SIAQuerySetRunner."""

    dataset: str = Field(
        "demo",
        min_length=1,
        description="Dataset whose SIA service is queried (default goes with query_set demo)",
        examples=["demo", "dp02"],
    )
    query_set: str = Field(
        "demo",
        description=(
            "Name of a shipped SIA query set, or of a params file (or a directory with"
            " params.yaml) under one of the configured query_set_dirs; never a path"
        ),
        examples=["demo"],
    )
    query_timeout: HumanTimedelta = Field(
        timedelta(minutes=5), description="Longest time a query may take", examples=[60, "2m"]
    )

    @field_validator("query_set")
    @classmethod
    def _check_query_set(cls, value: str) -> str:
        return check_query_set_name(value)


class SIAClientError(BusinessError):
    """The SIA service could not be found or reached at startup."""


class SIAQueryError(BusinessError):
    """An SIA query failed or timed out."""


def _mjd_to_datetime(mjd: float) -> datetime:
    return datetime(1858, 11, 17, tzinfo=UTC) + timedelta(days=mjd)


class SIAQuerySetRunner(VOBusiness[SIAQuerySetRunnerOptions]):
    """Runs a random SIA v2 search (position circle and time range) each iteration.

    The query set is loaded when the business is built (an unknown or invalid one is a 422 of
    the request), from the shipped sets or the configured ``query_set_dirs`` (``query_sets``).
    """

    options_model = SIAQuerySetRunnerOptions
    service_kind = "sia"
    client_error = SIAClientError

    def __init__(
        self,
        *,
        options: SIAQuerySetRunnerOptions,
        user: AuthenticatedUser,
        events: Events,
        logger: FilteringBoundLogger,
        flock: str | None,
        discovery: Discovery,
        query_sets: QuerySetLocator = SHIPPED_ONLY,
    ) -> None:
        params = load_sia_params(options.query_set, query_sets)
        super().__init__(
            options=options,
            user=user,
            events=events,
            logger=logger,
            flock=flock,
            discovery=discovery,
        )
        self._params = params
        self._rng = random.Random()  # noqa: S311 - not cryptographic
        self._queries = events.publisher("sia_query", SIAQuery)

    @override
    def make_service(self, url: str) -> Any:
        return pyvo.dal.SIA2Service(url, session=self.session)

    def _search(self, query: dict[str, Any]) -> int:
        start, end = (Time(t, format="mjd") for t in query["time"])
        results = self.service.search(
            pos=(query["ra"], query["dec"], query["radius"]), time=(start, end)
        )
        return len(results)

    @override
    async def execute(self) -> None:
        query = self._params.generate(self._rng)
        self.running_query = query
        self.logger.info(
            "Running SIA query",
            pos=[round(query["ra"], 6), round(query["dec"], 6), round(query["radius"], 6)],
            time=[_mjd_to_datetime(t).isoformat() for t in query["time"]],
        )
        start = time.perf_counter()
        try:
            async with self.interruptible(self.options.query_timeout):
                rows = await self._calls.run(self._search, query)
        except StopRequestedError:
            self.logger.info("SIA query interrupted by stop")
            raise
        except Exception as exc:
            duration = time.perf_counter() - start
            await self._publish(success=False, duration=duration)
            reason = failure_reason(exc, self._timeout)
            self.logger.warning("SIA query failed", error=reason)
            raise SIAQueryError(
                f"SIA query failed: {reason}", query=query, dataset=self.options.dataset
            ) from exc
        finally:
            self.running_query = None
        duration = time.perf_counter() - start
        await self._publish(success=True, duration=duration)
        self.logger.info("SIA query finished", rows=rows, duration=round(duration, 3))

    async def _publish(self, *, success: bool, duration: float) -> None:
        await self._queries.publish(
            SIAQuery(
                **self.common_event_attrs(), success=success, duration=timedelta(seconds=duration)
            )
        )
