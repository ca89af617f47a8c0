"""``mobu capacity`` and ``mobu loadtest`` against a real HTTP target whose knee is known."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from mobu.cli import mobu
from tests.cli.conftest import invoke
from tests.loadtest.support import QUIET, http_flock, run_capped_target, write_yaml
from tests.support.chromium import CHROMIUM, CHROMIUM_FLAGS, NO_CHROMIUM, chromium_installed


def capacity_plan(url: str, cap_max: int = 16) -> dict[str, object]:
    return {
        "name": "http-knee",
        "flocks": [http_flock(url)],
        "search": {
            "start": 1,
            "factor": 2,
            "max": cap_max,
            "hold": "2s",
            "refine": True,
            "warmup": "1s",
        },
        "thresholds": [
            {"stat": "failure_rate", "max": "1%"},
            {"event": "http_check", "stat": "p99", "max": "30s"},
        ],
        "grace": 0,
        "window": "5s",
        "interval": "250ms",
    }


async def test_capacity_finds_the_cap_and_the_layer(tmp_path: Path) -> None:
    """K requests in flight at most: the search reports K and the layer "downstream HTTP"."""
    async with run_capped_target(3) as target:
        plan = write_yaml(tmp_path / "plan.yaml", capacity_plan(target.url))
        config = write_yaml(tmp_path / "mobu.yaml", QUIET)
        report = tmp_path / "report"
        args = ["capacity", str(plan), "--json", "--report", str(report), "--config", str(config)]
        result = await invoke(mobu, args)
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    capacity = document["capacity"]
    assert capacity["capacity"] == 3, capacity
    assert capacity["layer"] == "downstream HTTP"
    assert [s["count"] for s in capacity["steps"]] == [1, 2, 4, 3]
    assert [s["held"] for s in capacity["steps"]] == [True, True, False, True]
    assert capacity["first_breach"]["threshold"] == "all failure_rate <= 1%"
    assert capacity["first_breach"]["monkeys"] == 4
    assert any("503" in error for error in document["errors"])
    assert target.most <= 3
    assert target.refused > 0
    assert sorted(p.name for p in report.iterdir()) == ["junit.xml", "report.html", "results.json"]
    assert json.loads((report / "results.json").read_text())["capacity"]["capacity"] == 3
    suite = ET.parse(report / "junit.xml").getroot()
    names = [case.get("name") for case in suite.iter("testcase")]
    assert names == ["all failure_rate <= 1%", "http_check p99 <= 30s", "capacity"]
    assert suite.get("failures") == "0"  # the search found an answer: CI passes
    assert "4 monkeys" in (suite.findtext("testcase/system-out") or "")
    _check_report_in_browser(report / "report.html")


def _check_report_in_browser(page: Path) -> None:
    """The report opens in headless Chromium, offline, and its script draws every chart."""
    html = page.read_text()
    for remote in ("<script src", "<link", "@import"):  # offline: nothing fetched
        assert remote not in html
    if not chromium_installed():
        pytest.skip(NO_CHROMIUM)
    profile = page.parent / "chromium-profile"
    done = subprocess.run(
        [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    shutil.rmtree(profile, ignore_errors=True)
    dom = done.stdout
    assert dom.count('data-chart="') == 3
    assert 'data-charts-drawn="' in dom
    drawn = int(dom.split('data-charts-drawn="')[1].split('"')[0])
    assert drawn >= 3  # latency, throughput and failure-rate series were drawn
    assert 'class="breach"' in dom  # the breaching step is marked
    assert 'class="stage"' in dom


async def test_thresholds_pass_and_fail_with_exit_codes(tmp_path: Path) -> None:
    """Exit 0 when every threshold held, 1 (which, by how much) when one was breached."""
    config = write_yaml(tmp_path / "mobu.yaml", QUIET)
    async with run_capped_target(50) as target:
        plan = {
            "name": "http-release",
            "flocks": [http_flock(target.url, count=1)],
            "stages": [{"monkeys": 3, "ramp": "1s", "hold": "1s"}, {"monkeys": 0, "ramp": "1s"}],
            "thresholds": [
                {"stat": "failure_rate", "max": 0.01},
                {"event": "http_check", "stat": "p95", "max": "30s"},
                {"event": "http_check", "stat": "rate", "min": 0.1},
            ],
            "window": "2s",
            "interval": "250ms",
        }
        good = write_yaml(tmp_path / "good.yaml", plan)
        passed = await invoke(mobu, ["loadtest", str(good), "--json", "--config", str(config)])
        plan["thresholds"] = [{"event": "http_check", "stat": "p50", "max": "1ms"}]
        plan["abort_on_fail"] = True
        plan["grace"] = "250ms"
        bad = write_yaml(tmp_path / "bad.yaml", plan)
        failed = await invoke(mobu, ["loadtest", str(bad), "--json", "--config", str(config)])
        human = await invoke(mobu, ["loadtest", str(bad), "--config", str(config)])
    assert passed.exit_code == 0, passed.output
    document = json.loads(passed.stdout)
    assert document["passed"] is True
    assert all(t["passed"] for t in document["thresholds"])
    assert max(p["monkeys"] for p in document["timeline"]) == 3
    assert document["timeline"][-1]["monkeys"] == 0
    assert document["events"]["http_check"]["count"] > 0
    assert document["events"]["http_check"]["mean"] is not None
    assert failed.exit_code == 1, failed.output
    document = json.loads(failed.stdout)
    assert document["passed"] is False
    assert document["aborted"] is True
    (threshold,) = document["thresholds"]
    assert threshold["passed"] is False
    breach = threshold["breaches"][0]
    assert breach["value"] > breach["limit"] == 0.001
    assert breach["excess"] == pytest.approx(breach["value"] - 0.001)
    assert human.exit_code == 1
    assert "http_check p50 <= 1ms: BREACHED" in human.stdout
