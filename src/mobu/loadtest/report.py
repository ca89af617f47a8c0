"""``--report DIR``: results.json, junit.xml (one test case per threshold) and report.html."""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree as ET

from mobu.loadtest.html import render_html
from mobu.loadtest.plan import format_value
from mobu.loadtest.results import LoadTestResult

__all__ = ["junit_xml", "write_report"]


def junit_xml(result: LoadTestResult) -> str:
    """A JUnit document: one test case per threshold (and one for the search's answer)."""
    suite = ET.Element("testsuite", name=f"mobu loadtest {result.name}")
    failures = 0
    for threshold in result.thresholds:
        case = ET.SubElement(
            suite, "testcase", classname=f"mobu.loadtest.{result.name}", name=threshold.label
        )
        case.set("time", f"{result.duration:.3f}")
        if not threshold.passed:
            lines = [
                f"{b.where} at {b.start:.1f}s with {b.monkeys} monkeys: "
                f"{format_value(threshold.stat, b.value)} "
                f"(limit {format_value(threshold.stat, b.limit)})"
                for b in threshold.breaches
            ]
            if result.capacity is not None:
                # A search breaks thresholds on purpose: where they broke is information; the
                # verdict is the capacity case.
                ET.SubElement(case, "system-out").text = "\n".join(lines)
                continue
            failures += 1
            failure = ET.SubElement(case, "failure", message=f"{threshold.label} breached")
            failure.text = "\n".join(lines)
    if result.capacity is not None:
        case = ET.SubElement(suite, "testcase", classname=f"mobu.capacity.{result.name}")
        case.set("name", "capacity")
        if result.capacity.capacity is None:
            failures += 1
            ET.SubElement(case, "failure", message="even the first count broke a threshold")
    if result.aborted:
        case = ET.SubElement(suite, "testcase", classname=f"mobu.loadtest.{result.name}")
        case.set("name", "run")
        failures += 1
        ET.SubElement(case, "failure", message=result.abort_reason or "aborted")
    suite.set("tests", str(len(suite)))
    suite.set("failures", str(failures))
    suite.set("time", f"{result.duration:.3f}")
    return ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"


def write_report(result: LoadTestResult, directory: Path) -> list[Path]:
    """Write the three files into ``directory`` (created if needed); returns their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    document = result.model_dump(mode="json")
    files = {
        "results.json": json.dumps(document, indent=2, sort_keys=True) + "\n",
        "junit.xml": junit_xml(result),
        "report.html": render_html(document),
    }
    written = []
    for name, text in files.items():
        path = directory / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
