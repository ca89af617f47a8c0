"""report.html: one self-contained page (no network), its charts drawn as SVG by inline JS."""

from __future__ import annotations

import html
import json
from typing import Any

__all__ = ["render_html"]

_STYLE = """
body{font:14px system-ui,sans-serif;margin:2em;color:#222}h1{font-size:1.4em}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px}
.pass{color:#1a7f37}.fail{color:#c62828;font-weight:bold}
svg{background:#fafafa;border:1px solid #ddd}
.chart{margin:1em 0}.legend span{margin-right:1em}
"""

_SCRIPT = r"""
(function () {
  const R = JSON.parse(document.getElementById("results").textContent);
  const NS = "http://www.w3.org/2000/svg";
  const COLORS = ["#1565c0", "#ef6c00", "#2e7d32", "#6a1b9a", "#00838f", "#ad1457"];
  function el(name, attrs, parent) {
    const e = document.createElementNS(NS, name);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }
  function chart(id, title, series, unit) {
    const W = 900, H = 260, L = 60, B = 30, T = 20, RM = 60;
    const box = document.getElementById(id);
    const svg = el("svg", {width: W, height: H, "data-chart": id}, box);
    const pts = R.timeline;
    const tmax = Math.max(1, ...pts.map(p => p.t));
    let vmax = 0;
    for (const s of series) {
      for (const p of pts) {
        const v = s.get(p);
        if (v != null) vmax = Math.max(vmax, v);
      }
    }
    if (vmax <= 0) vmax = 1;
    const mmax = Math.max(1, ...pts.map(p => p.monkeys));
    const x = t => L + (W - L - RM) * t / tmax;
    const y = v => H - B - (H - B - T) * v / vmax;
    const ym = m => H - B - (H - B - T) * m / mmax;
    el("text", {x: L, y: 14, "font-size": 13}, svg).textContent = title;
    el("line", {x1: L, y1: H - B, x2: W - RM, y2: H - B, stroke: "#999"}, svg);
    el("line", {x1: L, y1: T, x2: L, y2: H - B, stroke: "#999"}, svg);
    el("text", {x: 4, y: T + 10, "font-size": 11}, svg).textContent = fmt(vmax, unit);
    const right = el("text", {x: W - RM + 4, y: T + 10, "font-size": 11, fill: "#777"}, svg);
    right.textContent = mmax + " monkeys";
    const bottom = el("text", {x: W - RM - 30, y: H - 8, "font-size": 11}, svg);
    bottom.textContent = tmax.toFixed(0) + " s";
    for (const st of R.stages) {
      el("line", {x1: x(st.start), y1: T, x2: x(st.start), y2: H - B, stroke: "#bbb",
                  "stroke-dasharray": "4 3", class: "stage"}, svg);
      const label = el("text", {x: x(st.start) + 2, y: T + 22, "font-size": 10, fill: "#777"}, svg);
      label.textContent = st.label;
    }
    for (const th of R.thresholds) for (const b of th.breaches) {
      const end = b.end == null ? tmax : b.end;
      const width = Math.max(2, x(end) - x(b.start));
      el("rect", {x: x(b.start), y: T, width: width, height: H - B - T,
                  fill: "#c62828", opacity: 0.12, class: "breach"}, svg);
    }
    const mline = pts.map(p => x(p.t).toFixed(1) + "," + ym(p.monkeys).toFixed(1)).join(" ");
    el("polyline", {points: mline, fill: "none", stroke: "#999", "stroke-width": 1.5,
                    class: "monkeys"}, svg);
    series.forEach((s, i) => {
      const line = pts.filter(p => s.get(p) != null)
        .map(p => x(p.t).toFixed(1) + "," + y(s.get(p)).toFixed(1));
      el("polyline", {points: line.join(" "), fill: "none", stroke: COLORS[i % COLORS.length],
                      "stroke-width": 2, class: "series"}, svg);
    });
    const legend = document.createElement("div");
    legend.className = "legend";
    series.forEach((s, i) => {
      const span = document.createElement("span");
      span.style.color = COLORS[i % COLORS.length];
      span.textContent = "\u25a0 " + s.name;
      legend.appendChild(span);
    });
    const grey = document.createElement("span");
    grey.style.color = "#999"; grey.textContent = "\u25a0 monkeys (right scale)";
    legend.appendChild(grey);
    box.appendChild(legend);
  }
  function fmt(v, unit) {
    if (unit === "s") {
      return v < 1 ? (v * 1000).toPrecision(3) + " ms" : v.toPrecision(3) + " s";
    }
    if (unit === "%") return (v * 100).toPrecision(3) + " %";
    return v.toPrecision(3) + unit;
  }
  const events = [...new Set(R.timeline.flatMap(p => Object.keys(p.events)))].sort();
  const lat = [], thr = [];
  for (const e of events) {
    for (const q of ["p50", "p95", "p99"]) {
      lat.push({name: e + " " + q, get: p => (p.events[e] || {})[q]});
    }
    thr.push({name: e + " /s", get: p => (p.events[e] || {}).rate});
  }
  chart("latency", "Latency percentiles (sliding window) against the monkey count", lat, "s");
  chart("throughput", "Throughput (events per second) against the monkey count", thr, "/s");
  const failures = [{name: "failure rate", get: p => p.failure_rate}];
  chart("failures", "Failure rate (sliding window)", failures, "%");
  const drawn = document.querySelectorAll("svg[data-chart] polyline.series").length;
  document.body.setAttribute("data-charts-drawn", String(drawn));
})();
"""


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
