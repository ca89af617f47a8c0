"""report.html: one self-contained page (no network), its charts drawn as SVG by inline JS."""

from __future__ import annotations

import html
import json
from importlib.resources import files
from typing import Any

__all__ = ["render_html"]

_HERE = files("mobu.loadtest")
_STYLE = (_HERE / "report.css").read_text(encoding="utf-8")
_SCRIPT = (_HERE / "report.js").read_text(encoding="utf-8")


def _esc(value: Any) -> str:
    return html.escape(str(value))


def _fmt(value: float | None, stat: str) -> str:
    if value is None:
        return "-"
    if stat == "failure_rate":
        return f"{100 * value:.3g}%"
    if stat == "rate":
        return f"{value:.3g}/s"
    return f"{1000 * value:.3g} ms" if value < 1 else f"{value:.3g} s"


def _thresholds(doc: dict[str, Any]) -> str:
    rows = []
    for t in doc["thresholds"]:
        verdict = '<td class="pass">held</td>' if t["passed"] else '<td class="fail">BREACHED</td>'
        breaches = "; ".join(
            f"{b['where']} at {b['start']:.1f}s, {b['monkeys']} monkeys: "
            f"{_fmt(b['value'], t['stat'])} (limit {_fmt(b['limit'], t['stat'])})"
            for b in t["breaches"]
        )
        rows.append(
            f"<tr><td>{_esc(t['label'])}</td>{verdict}<td>{_fmt(t['value'], t['stat'])}</td>"
            f"<td>{_esc(breaches)}</td></tr>"
        )
    head = "<tr><th>Threshold</th><th>Verdict</th><th>Whole run</th><th>Breaches</th></tr>"
    return f"<table>{head}{''.join(rows)}</table>"


def _events(doc: dict[str, Any]) -> str:
    head = "<tr><th>Event</th><th>Count</th><th>Failures</th>" + "".join(
        f"<th>{s}</th>" for s in ("p50", "p90", "p95", "p99", "max", "mean")
    )
    rows = [
        f"<tr><td>{_esc(name)}</td><td>{e['count']}</td><td>{e['failures']}</td>"
        + "".join(f"<td>{_fmt(e[s], s)}</td>" for s in ("p50", "p90", "p95", "p99", "max", "mean"))
        + "</tr>"
        for name, e in doc["events"].items()
    ]
    return f"<table>{head}</tr>{''.join(rows)}</table>"


def _errors(doc: dict[str, Any]) -> str:
    if not doc["errors"]:
        return "<p>No failures.</p>"
    ordered = sorted(doc["errors"].items(), key=lambda kv: -kv[1])
    rows = "".join(f"<tr><td>{n}</td><td>{_esc(k)}</td></tr>" for k, n in ordered)
    return f"<table><tr><th>Count</th><th>Error</th></tr>{rows}</table>"


def _capacity(doc: dict[str, Any]) -> str:
    cap = doc.get("capacity")
    if not cap:
        return ""
    steps = "".join(
        f'<tr><td>{s["count"]}</td><td class="{"pass" if s["held"] else "fail"}">'
        f"{'held' if s['held'] else 'broke'}</td><td>{_esc(', '.join(s['breaches']))}</td>"
        f"<td>{_esc(s['layer'] or '')}</td></tr>"
        for s in cap["steps"]
    )
    answer = "none held" if cap["capacity"] is None else cap["capacity"]
    return (
        f"<h2>Capacity: {_esc(answer)}</h2><p>Layer that broke first: "
        f"<b>{_esc(cap['layer'] or '-')}</b></p><table><tr><th>Monkeys</th><th>Result</th>"
        f"<th>Breached</th><th>Layer</th></tr>{steps}</table>"
    )


def render_html(doc: dict[str, Any]) -> str:
    """The report page of a result document (``LoadTestResult.model_dump(mode="json")``)."""
    data = json.dumps(doc, sort_keys=True).replace("</", "<\\/")
    verdict = "PASSED" if doc["passed"] else "FAILED"
    css = "pass" if doc["passed"] else "fail"
    abort = f"<p class=fail>Aborted: {_esc(doc['abort_reason'])}</p>" if doc["aborted"] else ""
    title = f"mobu {_esc(doc['mode'])}: {_esc(doc['name'])}"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>{_STYLE}</style></head><body>
<h1>mobu {_esc(doc["mode"])} <i>{_esc(doc["name"])}</i>: <span class="{css}">{verdict}</span></h1>
<p>Target {_esc(doc["target"])}, started {_esc(doc["started_at"])}, {doc["duration"]:.1f} s.</p>
{abort}{_capacity(doc)}
<h2>Thresholds</h2>{_thresholds(doc)}
<h2>Charts</h2><div class="chart" id="latency"></div><div class="chart" id="throughput"></div>
<div class="chart" id="failures"></div>
<h2>Events (whole run)</h2>{_events(doc)}
<h2>Failures by error</h2>{_errors(doc)}
<script id="results" type="application/json">{data}</script>
<script>{_SCRIPT}</script>
</body></html>
"""
