"""Plans: limits in people's units; a bad plan is one line naming the field and exit 2."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mobu.cli import mobu
from mobu.loadtest.plan import LoadTestPlan, PlanError, load_plan
from tests.cli.conftest import invoke
from tests.loadtest.support import http_flock, write_yaml


def plan(**fields: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "p",
        "flocks": [http_flock("http://127.0.0.1:1/")],
        "stages": [{"monkeys": 2, "ramp": "1m", "hold": "5m"}, {"monkeys": 0, "ramp": "30s"}],
        "thresholds": [
            {"event": "nublado_spawn_lab", "stat": "p95", "max": "60s"},
            {"event": "http_check", "stat": "p99", "max": "250ms"},
            {"stat": "failure_rate", "max": "1%"},
            {"event": "http_check", "stat": "rate", "min": 5},
        ],
    }
    data.update(fields)
    return data


def test_limits_are_normalised() -> None:
    """Durations become seconds, percents fractions; labels read back in the same units."""
    parsed = LoadTestPlan.model_validate(plan())
    assert [t.max for t in parsed.thresholds[:3]] == [60.0, 0.25, 0.01]
    assert parsed.thresholds[3].min == 5
    assert [t.label for t in parsed.thresholds] == [
        "nublado_spawn_lab p95 <= 60s",
        "http_check p99 <= 250ms",
        "all failure_rate <= 1%",
        "http_check rate >= 5/s",
    ]
    assert parsed.grace.total_seconds() == 30
    assert parsed.stages is not None
    assert parsed.stages[0].ramp.total_seconds() == 60


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"stages": [{"monkeys": 2, "ramp": "soon"}]}, "stages.0.ramp"),
        ({"stages": [{"monkeys": -1}]}, "stages.0.monkeys"),
        ({"thresholds": [{"stat": "p95", "max": "1s"}]}, "thresholds.0"),
        ({"thresholds": [{"stat": "failure_rate", "max": "lots"}]}, "thresholds.0"),
        ({"thresholds": [{"stat": "p42", "max": 1}]}, "thresholds.0.stat"),
        ({"flocks": [{"name": "x"}]}, "flocks.0.count"),
        ({"search": {"start": 4, "max": 2}}, "search"),
        ({"stages": None}, "stages"),
    ],
)
def test_bad_plans_name_the_field(tmp_path: Path, change: dict[str, Any], field: str) -> None:
    """Each mistake is one line that names where it is (and never echoes the value)."""
    path = write_yaml(tmp_path / "plan.yaml", plan(**change))
    with pytest.raises(PlanError) as info:
        load_plan(path, mode="loadtest")
    message = str(info.value)
    assert "\n" not in message
    assert f" {field}" in message
    assert "soon" not in message
    assert "lots" not in message


def test_capacity_needs_a_search(tmp_path: Path) -> None:
    """A plan for mobu capacity needs search:, one for mobu loadtest stages:."""
    path = write_yaml(tmp_path / "plan.yaml", plan())
    with pytest.raises(PlanError, match="search: required"):
        load_plan(path, mode="capacity")


async def test_cli_exit_2_for_a_bad_plan(tmp_path: Path) -> None:
    """The commands exit 2 with one Error: line for a bad plan, an unknown business too."""
    bad = write_yaml(tmp_path / "bad.yaml", plan(stages=[{"monkeys": 1, "hold": "never"}]))
    result = await invoke(mobu, ["loadtest", str(bad)])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert "stages.0.hold" in result.stderr
    flock = http_flock("http://127.0.0.1:1/")
    flock["business"]["options"]["idle_time"] = "often"
    refused = write_yaml(tmp_path / "refused.yaml", plan(flocks=[flock]))
    result = await invoke(mobu, ["loadtest", str(refused)])
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1
    assert "idle_time" in result.stderr
    assert "often" not in result.stderr
    missing = await invoke(mobu, ["capacity", str(tmp_path / "nothing.yaml")])
    assert missing.exit_code == 2
    assert missing.stderr.startswith("Error: ")
