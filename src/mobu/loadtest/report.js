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
    for (const s of series) for (const p of pts) { const v = s.get(p); if (v != null) vmax = Math.max(vmax, v); }
    if (vmax <= 0) vmax = 1;
    const mmax = Math.max(1, ...pts.map(p => p.monkeys));
    const x = t => L + (W - L - RM) * t / tmax;
    const y = v => H - B - (H - B - T) * v / vmax;
    const ym = m => H - B - (H - B - T) * m / mmax;
    el("text", {x: L, y: 14, "font-size": 13}, svg).textContent = title;
    el("line", {x1: L, y1: H - B, x2: W - RM, y2: H - B, stroke: "#999"}, svg);
    el("line", {x1: L, y1: T, x2: L, y2: H - B, stroke: "#999"}, svg);
    el("text", {x: 4, y: T + 10, "font-size": 11}, svg).textContent = fmt(vmax, unit);
    el("text", {x: W - RM + 4, y: T + 10, "font-size": 11, fill: "#777"}, svg).textContent = mmax + " monkeys";
    el("text", {x: W - RM - 30, y: H - 8, "font-size": 11}, svg).textContent = tmax.toFixed(0) + " s";
    for (const st of R.stages) {
      el("line", {x1: x(st.start), y1: T, x2: x(st.start), y2: H - B, stroke: "#bbb",
                  "stroke-dasharray": "4 3", class: "stage"}, svg);
      el("text", {x: x(st.start) + 2, y: T + 22, "font-size": 10, fill: "#777"}, svg).textContent = st.label;
    }
    for (const th of R.thresholds) for (const b of th.breaches) {
      const end = b.end == null ? tmax : b.end;
      el("rect", {x: x(b.start), y: T, width: Math.max(2, x(end) - x(b.start)), height: H - B - T,
                  fill: "#c62828", opacity: 0.12, class: "breach"}, svg);
    }
    const mline = pts.map(p => x(p.t).toFixed(1) + "," + ym(p.monkeys).toFixed(1)).join(" ");
    el("polyline", {points: mline, fill: "none", stroke: "#999", "stroke-width": 1.5,
                    class: "monkeys"}, svg);
    series.forEach((s, i) => {
      const line = pts.filter(p => s.get(p) != null).map(p => x(p.t).toFixed(1) + "," + y(s.get(p)).toFixed(1));
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
    if (unit === "s") return v < 1 ? (v * 1000).toPrecision(3) + " ms" : v.toPrecision(3) + " s";
    if (unit === "%") return (v * 100).toPrecision(3) + " %";
    return v.toPrecision(3) + unit;
  }
  const events = [...new Set(R.timeline.flatMap(p => Object.keys(p.events)))].sort();
  const lat = [], thr = [];
  for (const e of events) {
    for (const q of ["p50", "p95", "p99"]) lat.push({name: e + " " + q, get: p => (p.events[e] || {})[q]});
    thr.push({name: e + " /s", get: p => (p.events[e] || {}).rate});
  }
  chart("latency", "Latency percentiles (sliding window) against the monkey count", lat, "s");
  chart("throughput", "Throughput (events per second) against the monkey count", thr, "/s");
  chart("failures", "Failure rate (sliding window)", [{name: "failure rate", get: p => p.failure_rate}], "%");
  document.body.setAttribute("data-charts-drawn", String(document.querySelectorAll("svg[data-chart]").length));
})();
