"""The reference's query sets by name (dp0.2, dp0.2-med-scans, dp0.2-long-scans; SIA dp02).

No DP0.2 tables exist here, so they are not run: every template is rendered with generated
parameters and parsed by GAVO DaCHS's ADQL parser (Debian's python3), and every table and
column it names must be in the DP0.2 schema written down in ``data/dp02_schema.yaml``.
"""

from __future__ import annotations

import json
import random
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from mobu.services.business.querysets import SHIPPED_ONLY
from mobu.services.business.siaquerysetrunner import (
    SIAQuerySetRunnerOptions,
    load_sia_params,
)
from mobu.services.business.tapquerysetrunner import QuerySet, TAPQuerySetRunnerOptions

HERE = Path(__file__).parent
SYSTEM_PYTHON = Path("/usr/bin/python3")
TAP_SETS = {"dp0.2": 7, "dp0.2-med-scans": 4, "dp0.2-long-scans": 3}
TEMPLATE_PARAMETERS = {
    "ra", "dec", "radius", "radius_near", "polygon", "min_flux", "max_flux",
    "min_mag", "max_mag", "username", "query_id", "object", "objects",
}  # fmt: skip
"""The reference's template parameter names (reference-mobu.md §4.6)."""


def _parser_unavailable() -> str | None:
    probe = subprocess.run(
        [str(SYSTEM_PYTHON), "-c", "import gavo.adql"], capture_output=True, check=False
    )
    return None if probe.returncode == 0 else "GAVO DaCHS's ADQL parser (gavo.adql) is missing"


def schema() -> dict[str, set[str]]:
    """Table (lower case, schema-qualified) → its column names (lower case)."""
    raw = yaml.safe_load((HERE / "data" / "dp02_schema.yaml").read_text())
    return {table.lower(): {c.lower() for c in columns} for table, columns in raw.items()}


def parse(queries: list[str]) -> list[dict[str, Any]]:
    """What DaCHS's ADQL parser finds in each query (or its error)."""
    result = subprocess.run(
        [str(SYSTEM_PYTHON), str(HERE / "adqlcheck.py")],
        input=json.dumps(queries),
        capture_output=True,
        text=True,
        check=True,
    )
    parsed: list[dict[str, Any]] = json.loads(result.stdout)
    return parsed


def rendered(name: str, rng: random.Random) -> dict[str, str]:
    """Every template of TAP query set ``name`` rendered with fresh generated parameters."""
    query_set = QuerySet(SHIPPED_ONLY.tap(name))
    out = {}
    for template in query_set.templates:
        params = query_set.params.generate(rng)
        params.update(username="bot-mobu-test", query_id="mobu-test-id")
        out[template] = query_set.render(template, params)
    return out


def problems(adql: str, found: dict[str, Any], tables: dict[str, set[str]]) -> list[str]:
    """Tables and columns of one parsed query that are not in the DP0.2 schema."""
    if "error" in found:
        return [found["error"]]
    wrong = []
    used: dict[str, set[str]] = {}
    for table in found["tables"]:
        qualified = f"{table['schema']}.{table['name']}".lower()
        if qualified not in tables:
            wrong.append(f"unknown table {qualified}")
            continue
        used[table["alias"].lower()] = tables[qualified]
    aliases = {a.lower() for a in found["aliases"]}
    for column in found["columns"]:
        name = column["name"].lower()
        qualifier = (column["qualifier"] or "").lower()
        everything = set().union(*used.values()) | aliases
        known = used.get(qualifier, set()) if qualifier else everything
        if name not in known:
            wrong.append(f"unknown column {qualifier + '.' if qualifier else ''}{name}")
    return wrong


@pytest.fixture(scope="module")
def parsed_sets() -> dict[str, list[tuple[str, str, dict[str, Any]]]]:
    """Each TAP set rendered three times, every query parsed (one parser run for all)."""
    rng = random.Random("dp02")
    queries = [
        (name, template, adql)
        for name in TAP_SETS
        for _ in range(3)
        for template, adql in rendered(name, rng).items()
    ]
    found = parse([adql for _, _, adql in queries])
    result: dict[str, list[tuple[str, str, dict[str, Any]]]] = {name: [] for name in TAP_SETS}
    for (name, template, adql), tree in zip(queries, found, strict=True):
        result[name].append((template, adql, tree))
    return result


@pytest.mark.skipif(_parser_unavailable() is not None, reason=_parser_unavailable() or "")
@pytest.mark.parametrize("name", sorted(TAP_SETS))
def test_tap_query_set_parses_against_dp02(
    name: str, parsed_sets: dict[str, list[tuple[str, str, dict[str, Any]]]]
) -> None:
    """Each template renders, parses as ADQL and uses only DP0.2 tables and columns."""
    tables = schema()
    queries = parsed_sets[name]
    assert len(queries) == 3 * TAP_SETS[name]
    for template, adql, found in queries:
        assert problems(adql, found, tables) == [], (template, adql)
        assert "'mobu-test-id' AS query_id" in adql, template
        assert f"'{template}' AS template" in adql, template


@pytest.mark.parametrize("name", sorted(TAP_SETS))
def test_tap_templates_use_reference_parameter_names(name: str) -> None:
    """Templates use only the reference's parameter names; every template names its query."""
    directory = SHIPPED_ONLY.tap(name)
    for path in directory.glob("*.sql"):
        names = set(re.findall(r"{{\s*(\w+)\s*}}", path.read_text()))
        assert names <= TEMPLATE_PARAMETERS, (path.name, names - TEMPLATE_PARAMETERS)
        assert "query_id" in names, path.name


def test_options_take_reference_names() -> None:
    """The reference's option values validate; demo stays the default."""
    for name in TAP_SETS:
        options = TAPQuerySetRunnerOptions.model_validate({"dataset": "dp02", "query_set": name})
        assert options.query_set == name
    assert TAPQuerySetRunnerOptions().query_set == "demo"
    sia = SIAQuerySetRunnerOptions.model_validate({"dataset": "dp02", "query_set": "dp02"})
    assert sia.query_set == "dp02"
    assert SIAQuerySetRunnerOptions().query_set == "demo"


@pytest.mark.skipif(_parser_unavailable() is not None, reason=_parser_unavailable() or "")
def test_sia_dp02_matches_obscore() -> None:
    """SIA set dp02 loads; its queries are inside DC2 and, as ObsCore ADQL, use real columns."""
    params = load_sia_params("dp02")
    rng = random.Random("sia-dp02")
    queries = []
    for _ in range(5):
        query = params.generate(rng)
        assert 50.0 <= query["ra"] <= 75.0
        assert -45.0 <= query["dec"] <= -27.0
        assert 0 < query["radius"] <= params.min_radius + params.radius_range
        start, end = query["time"]
        # What a SIA v2 service runs for POS=CIRCLE and TIME against its ObsCore table.
        queries.append(
            "SELECT obs_id, access_url, lsst_band FROM ivoa.ObsCore"
            f" WHERE CONTAINS(POINT('ICRS', s_ra, s_dec),"
            f" CIRCLE('ICRS', {query['ra']}, {query['dec']}, {query['radius']})) = 1"
            f" AND t_min <= {end} AND t_max >= {start}"
        )
    tables = schema()
    for adql, found in zip(queries, parse(queries), strict=True):
        assert problems(adql, found, tables) == [], adql


@pytest.mark.skipif(_parser_unavailable() is not None, reason=_parser_unavailable() or "")
def test_checker_finds_mistakes() -> None:
    """The check is real: a wrong column, a wrong table and bad ADQL are each reported."""
    tables = schema()
    queries = [
        "SELECT objectId, no_such_column FROM dp02_dc2_catalogs.Object",
        "SELECT x FROM dp02_dc2_catalogs.Nothing",
        "SELECT FROM WHERE",
        "SELECT o.coord_ra FROM dp02_dc2_catalogs.Source AS o",
    ]
    found = parse(queries)
    assert problems(queries[0], found[0], tables) == ["unknown column no_such_column"]
    assert problems(queries[1], found[1], tables)[0] == "unknown table dp02_dc2_catalogs.nothing"
    assert problems(queries[2], found[2], tables)[0].startswith("ParseException")
    assert problems(queries[3], found[3], tables) == []
