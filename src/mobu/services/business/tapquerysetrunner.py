"""TAPQuerySetRunner: renders a random template of a query set with random parameters.

A query set is a directory of Jinja2 templates (``*.sql``, rendered with strict undefined
variables) plus ``params.yaml`` describing the random parameters (:class:`QuerySetParams`).
Shipped sets live in ``mobu/data/querysets/<name>/``; ``query_set`` may also be the path of a
directory of one's own.
"""

from __future__ import annotations

import math
import random
from importlib.resources import files
from pathlib import Path
from typing import Any

import jinja2
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from typing_extensions import override

from mobu.services.business.tap import (
    PreparedQuery,
    TAPBusiness,
    TAPBusinessOptions,
    TAPClientError,
    new_query_id,
)
from mobu.yamlload import YamlLoadError, load_yaml_file

__all__ = [
    "QuerySet",
    "QuerySetParams",
    "TAPQuerySetRunner",
    "TAPQuerySetRunnerOptions",
    "resolve_query_set",
]


def shipped_query_sets() -> Path:
    """Return the directory of the query sets shipped with mobu."""
    return Path(str(files("mobu").joinpath("data", "querysets")))


def resolve_query_set(name: str) -> Path:
    """Return the directory of a shipped query set, or of the directory ``name`` points at.

    Raises
    ------
    ValueError
        Neither exists, or the directory has no ``*.sql`` template or no ``params.yaml``.
    """
    shipped = shipped_query_sets()
    directory = shipped / name
    if "/" in name or not directory.is_dir():
        directory = Path(name).expanduser()
    if not directory.is_dir():
        known = ", ".join(sorted(p.name for p in shipped.iterdir() if p.is_dir()))
        raise ValueError(f"no query set {name!r}: not a shipped set ({known}) nor a directory")
    if not any(directory.glob("*.sql")):
        raise ValueError(f"query set {directory} has no *.sql templates")
    if not (directory / "params.yaml").is_file():
        raise ValueError(f"query set {directory} has no params.yaml")
    return directory


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
        description="Name of a shipped query set, or path of a directory of *.sql + params.yaml",
        examples=["demo", "/etc/mobu/querysets/mine"],
    )

    @field_validator("query_set")
    @classmethod
    def _check_query_set(cls, value: str) -> str:
        resolve_query_set(value)
        return value


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
    """The templates and parameters of one query set."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        try:
            raw = load_yaml_file(directory / "params.yaml") or {}
            self.params = QuerySetParams.model_validate(raw)
        except (YamlLoadError, ValidationError) as exc:
            raise ValueError(f"bad {directory / 'params.yaml'}: {exc}") from exc
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
    """Runs a random template of a query set with random parameters each iteration."""

    options_model = TAPQuerySetRunnerOptions

    _query_set: QuerySet | None = None
    _rng: random.Random = random.Random()  # noqa: S311 - replaced per instance in startup

    @override
    async def startup(self) -> None:
        self._rng = random.Random()  # noqa: S311 - not cryptographic
        try:
            query_set = QuerySet(resolve_query_set(self.options.query_set))
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
