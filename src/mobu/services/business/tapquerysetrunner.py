"""TAPQuerySetRunner: renders a random template of a query set with random parameters.

A query set is a directory of Jinja2 templates (``*.sql``, rendered with strict undefined
variables) plus ``params.yaml`` describing the random parameters (:class:`QuerySetParams`).
Shipped sets live in ``mobu/data/querysets/<name>/``; ``query_set`` may also name a directory
under one of the configured ``query_set_dirs`` (:class:`QuerySetLocator`), never a path.
"""

from __future__ import annotations

import math
import random
from pathlib import Path
from typing import Any

import jinja2
from pydantic import BaseModel, ConfigDict, Field, field_validator
from structlog.typing import FilteringBoundLogger
from typing_extensions import override

from mobu.discovery import Discovery
from mobu.events import Events
from mobu.models.user import AuthenticatedUser
from mobu.services.business.querysets import (
    SHIPPED_ONLY,
    QuerySetLocator,
    check_query_set_name,
    load_params,
)
from mobu.services.business.tap import (
    PreparedQuery,
    TAPBusiness,
    TAPBusinessOptions,
    TAPClientError,
    new_query_id,
)

__all__ = [
    "QuerySet",
    "QuerySetParams",
    "TAPQuerySetRunner",
    "TAPQuerySetRunnerOptions",
    "resolve_query_set",
]


def resolve_query_set(name: str, locator: QuerySetLocator = SHIPPED_ONLY) -> Path:
    """Return the directory of TAP query set ``name`` (see :meth:`QuerySetLocator.tap`)."""
    return locator.tap(name)


class TAPQuerySetRunnerOptions(TAPBusinessOptions):
    """Options of TAPQuerySetRunner. The defaults go together: the demo set on the demo data."""

    dataset: str = Field(
        "demo",
        min_length=1,
        description="Dataset whose TAP service is queried (a key of discovery.datasets)",
        examples=["demo", "dp02"],
    )
    query_set: str = Field(
        "demo",
        description=(
            "Name of a shipped query set, or of a directory (*.sql + params.yaml) under one of"
            " the configured query_set_dirs; never a path"
        ),
        examples=["demo", "dp02"],
    )

    @field_validator("query_set")
    @classmethod
    def _check_query_set(cls, value: str) -> str:
        return check_query_set_name(value)


class QuerySetParams(BaseModel):
    """``params.yaml`` of a query set: ranges of the random template parameters.

    Each iteration draws ``ra``/``dec`` uniformly in the box, ``radius`` = min_radius + U *
    radius_range, ``radius_near`` = min_radius + U * radius_near_range, a ``polygon`` of 3-7
    vertices around a random centre, ``min_flux`` = flux_base + U * flux_range with
    ``max_flux`` = min_flux + flux_width, ``min_mag`` = mag_base + U * mag_range with
    ``max_mag`` = min_mag + mag_width, and, with ``object_ids``, one ``object`` and 12
    comma-separated ``objects``.
    """

    model_config = ConfigDict(extra="forbid")

    min_ra: float = Field(55.0, ge=0, le=360)
    max_ra: float = Field(70.0, ge=0, le=360)
    min_dec: float = Field(-42.0, ge=-90, le=90)
    max_dec: float = Field(-30.0, ge=-90, le=90)
    min_radius: float = Field(0.01, gt=0)
    radius_range: float = Field(0.04, ge=0)
    radius_near_range: float = Field(0.09, ge=0)
    flux_base: float = 0.0
    flux_range: float = Field(0.001, ge=0)
    flux_width: float = Field(1e-5, ge=0)
    mag_base: float = 15.0
    mag_range: float = Field(15.0, ge=0)
    mag_width: float = Field(0.1, ge=0)
    object_ids: list[int | str] | None = Field(None, min_length=1)

    def generate(self, rng: random.Random) -> dict[str, Any]:
        """Draw one set of template parameters (without ``username`` and ``query_id``)."""
        params: dict[str, Any] = {
            "ra": rng.uniform(self.min_ra, self.max_ra),
            "dec": rng.uniform(self.min_dec, self.max_dec),
            "radius": self.min_radius + rng.random() * self.radius_range,
            "radius_near": self.min_radius + rng.random() * self.radius_near_range,
            "polygon": self._polygon(rng),
        }
        params["min_flux"] = self.flux_base + rng.random() * self.flux_range
        params["max_flux"] = params["min_flux"] + self.flux_width
        params["min_mag"] = self.mag_base + rng.random() * self.mag_range
        params["max_mag"] = params["min_mag"] + self.mag_width
        if self.object_ids:
            params["object"] = str(rng.choice(self.object_ids))
            params["objects"] = ", ".join(str(rng.choice(self.object_ids)) for _ in range(12))
        return params

    def _polygon(self, rng: random.Random) -> str:
        ra = rng.uniform(self.min_ra, self.max_ra)
        dec = rng.uniform(self.min_dec, self.max_dec)
        radius = self.min_radius + rng.random() * self.radius_range
        count = rng.randint(3, 7)
        angles = sorted(rng.uniform(0, 2 * math.pi) for _ in range(count))
        stretch = 1 / max(math.cos(math.radians(dec)), 0.01)
        points = []
        for angle in angles:
            points.append(f"{ra + radius * math.cos(angle) * stretch:.6f}")
            points.append(f"{dec + radius * math.sin(angle):.6f}")
        return ", ".join(points)


class QuerySet:
    """The templates and parameters of one query set.

    Raises
    ------
    ValueError
        ``params.yaml`` cannot be read or is invalid; the message names the place and the
        reason, never the file's content.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.params = load_params(directory / "params.yaml", QuerySetParams)
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(directory),
            undefined=jinja2.StrictUndefined,
            autoescape=False,  # noqa: S701 - ADQL, not HTML
            keep_trailing_newline=True,
        )
        self.templates = {
            path.stem: env.get_template(path.name) for path in sorted(directory.glob("*.sql"))
        }

    def render(self, name: str, params: dict[str, Any]) -> str:
        """Render template ``name`` (raises on an undefined variable)."""
        return self.templates[name].render(**params)


class TAPQuerySetRunner(TAPBusiness[TAPQuerySetRunnerOptions]):
    """Runs a random template of a query set with random parameters each iteration.

    The query set is found when the business is built (an unknown one is a 422 of the request),
    among the shipped sets and under the configured ``query_set_dirs`` (``query_sets``).
    """

    options_model = TAPQuerySetRunnerOptions

    _query_set: QuerySet | None = None
    _rng: random.Random = random.Random()  # noqa: S311 - replaced per instance in startup

    def __init__(
        self,
        *,
        options: TAPQuerySetRunnerOptions,
        user: AuthenticatedUser,
        events: Events,
        logger: FilteringBoundLogger,
        flock: str | None,
        discovery: Discovery,
        query_sets: QuerySetLocator = SHIPPED_ONLY,
    ) -> None:
        directory = query_sets.tap(options.query_set)
        super().__init__(
            options=options,
            user=user,
            events=events,
            logger=logger,
            flock=flock,
            discovery=discovery,
        )
        self._directory = directory

    @override
    async def startup(self) -> None:
        self._rng = random.Random()  # noqa: S311 - not cryptographic
        try:
            query_set = QuerySet(self._directory)
            for name in query_set.templates:
                query_set.render(name, self._params(query_set, "startup-check"))
        except (ValueError, jinja2.TemplateError) as exc:
            raise TAPClientError(
                f"Invalid query set {self.options.query_set}: {type(exc).__name__}: {exc}",
                query_set=self.options.query_set,
            ) from exc
        self._query_set = query_set
        self.logger.info(
            "Loaded query set",
            query_set=str(query_set.directory),
            templates=list(query_set.templates),
        )
        await super().startup()

    def _params(self, query_set: QuerySet, query_id: str) -> dict[str, Any]:
        params = query_set.params.generate(self._rng)
        params["username"] = self.user.username
        params["query_id"] = query_id
        return params

    @override
    def get_next_query(self) -> PreparedQuery:
        assert self._query_set is not None
        name = self._rng.choice(list(self._query_set.templates))
        query_id = new_query_id()
        adql = self._query_set.render(name, self._params(self._query_set, query_id))
        return PreparedQuery(adql=adql, query_id=query_id, template=name)
