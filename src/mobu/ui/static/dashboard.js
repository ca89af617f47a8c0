// mobu's dashboard: the token prompt, the auth header on every request, the charts (uPlot) and
// the log viewer. htmx (vendored) polls the server-rendered fragments; see docs/history.md.
"use strict";
(function () {
  const body = document.body;
  const prefix = body.dataset.prefix || "";
  const mode = body.dataset.auth;
  const flock = body.dataset.flock || null;
  const KEY = "mobu-token";
  const statusLine = document.getElementById("status-line");
  const charts = { latency: null, throughput: null, failures: null, sparks: [], points: 0 };
  window.mobuCharts = charts;
  let range = "1h";

  function token() { return sessionStorage.getItem(KEY); }
  function needToken() { return mode === "tokens" && !token(); }
  function headers() {
    const h = { "X-Mobu-UI": "1" };
    if (mode === "tokens" && token()) h["Authorization"] = "Bearer " + token();
    return h;
  }
  function say(text) { if (statusLine) statusLine.textContent = text; }

  function askToken(message) {
    const form = document.getElementById("token-form");
    if (!form) return;
    form.hidden = false;
    document.getElementById("token-error").textContent = message || "";
    document.getElementById("token-input").focus();
  }
  function refused(status) {
    if (mode === "tokens" && (status === 401 || status === 403)) {
      sessionStorage.removeItem(KEY);
      askToken(status === 403 ? "That token was refused." : "A token is needed.");
      return true;
    }
    return false;
  }
  function detail(text) {
    try { return JSON.parse(text).detail.map((d) => d.msg).join("; "); } catch (e) { return text; }
  }

  const form = document.getElementById("token-form");
  if (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      const input = document.getElementById("token-input");
      const value = input.value.trim();
      if (!value) return;
      sessionStorage.setItem(KEY, value);
      input.value = "";
      form.hidden = true;
      document.getElementById("token-error").textContent = "";
      if (window.htmx) window.htmx.trigger(body, "mobu:refresh");
      loadHistory();
    });
  }

  document.addEventListener("htmx:configRequest", function (event) {
    Object.assign(event.detail.headers, headers());
  });
  document.addEventListener("htmx:beforeRequest", function (event) {
    if (needToken()) { event.preventDefault(); askToken(); }
  });
  document.addEventListener("htmx:responseError", function (event) {
    const xhr = event.detail.xhr;
    if (refused(xhr.status)) return;
    const message = "Request failed (" + xhr.status + "): " + detail(xhr.responseText);
    const result = document.getElementById("action-result");
    if (result && event.detail.elt && event.detail.elt.classList.contains("action")) {
      result.textContent = message;
    } else {
      say(message);
    }
  });
  document.addEventListener("htmx:sendError", function () { say("mobu is not answering"); });
  document.addEventListener("htmx:afterRequest", function (event) {
    if (event.detail.successful) say("");
  });
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "overview-rows") {
      charts.sparks.forEach((chart) => chart.destroy());
      charts.sparks = [];
    }
  });
  document.addEventListener("htmx:afterSettle", function () { drawSparks(); });

  function drawSparks() {
    if (!window.uPlot) return;
    document.querySelectorAll(".spark[data-spark]").forEach(function (element) {
      if (element.dataset.drawn) return;
      const points = JSON.parse(element.dataset.spark);
      const xs = points.map((p) => p[0]);
      const hasP95 = points.some((p) => p[3] !== null);
      const ys = points.map((p) => (hasP95 ? p[3] : p[1]));
      const chart = new window.uPlot({
        width: 140, height: 32, legend: { show: false }, cursor: { show: false },
        axes: [{ show: false }, { show: false }], scales: { x: { time: true } },
        series: [{}, { stroke: "#3366cc", width: 1, points: { show: false } }],
      }, [xs, ys], element);
      element.dataset.drawn = String(xs.length);
      element.title = hasP95 ? "p95 (ms) per minute, last hour" : "events per minute, last hour";
      charts.sparks.push(chart);
    });
  }

  function chart(name, id, series, data) {
    const element = document.getElementById(id);
    if (!element) return null;
    if (charts[name]) { charts[name].setData(data); return charts[name]; }
    const width = Math.max(320, element.clientWidth || 800);
    charts[name] = new window.uPlot({
      width: width, height: 200, scales: { x: { time: true } },
      series: [{}].concat(series),
    }, data, element);
    return charts[name];
  }

  function draw(history) {
    const totals = history.totals || {};
    const events = Object.keys(totals).sort((a, b) => totals[b].count - totals[a].count);
    const main = events[0];
    const note = document.getElementById("chart-note");
    document.getElementById("chart-event").textContent = main || "the main event";
    const xs = history.buckets.map((b) => Date.parse(b.start) / 1000);
    const pick = (key, scale) => history.buckets.map(function (b) {
      const e = main ? b.events[main] : undefined;
      if (!e || e[key] === undefined || e[key] === null) return key === "count" || key === "failures" ? 0 : null;
      return e[key] * scale;
    });
    const step = history.step >= 3600 ? history.step / 3600 + " h" : history.step / 60 + " min";
    if (note) note.textContent = main ? "buckets of " + step + ", " + history.resolution + " rows" : "no events in this range";
    chart("latency", "chart-latency", [
      { label: "p50", stroke: "#2a9d8f" }, { label: "p90", stroke: "#e9c46a" },
      { label: "p95", stroke: "#f4a261" }, { label: "p99", stroke: "#e76f51" },
    ], [xs, pick("p50", 1000), pick("p90", 1000), pick("p95", 1000), pick("p99", 1000)]);
    chart("throughput", "chart-throughput", [{ label: "events", stroke: "#3366cc" }],
      [xs, pick("count", 1)]);
    chart("failures", "chart-failures", [{ label: "failures", stroke: "#cc3333" }],
      [xs, pick("failures", 1)]);
    charts.points = pick("count", 1).filter((n) => n > 0).length;
    body.dataset.chartPoints = String(charts.points);
  }

  let loading = false;
  async function loadHistory() {
    if (!flock || !document.getElementById("chart-latency") || loading || needToken()) return;
    if (!window.uPlot) { document.getElementById("chart-note").textContent = "charts need uPlot (not installed)"; return; }
    loading = true;
    try {
      const url = prefix + "/flocks/" + encodeURIComponent(flock) + "/history?since=" + range;
      const response = await fetch(url, { headers: headers() });
      if (refused(response.status)) return;
      if (!response.ok) { say("History: " + detail(await response.text())); return; }
      draw(await response.json());
    } catch (error) {
      say("mobu is not answering");
    } finally {
      loading = false;
    }
  }

  document.querySelectorAll("button.range").forEach(function (button) {
    button.addEventListener("click", function () {
      range = button.dataset.range;
      document.querySelectorAll("button.range").forEach((b) => b.classList.toggle("selected", b === button));
      loadHistory();
    });
  });

  document.addEventListener("click", async function (event) {
    const link = event.target.closest ? event.target.closest("a.log-link") : null;
    if (!link) return;
    event.preventDefault();
    const view = document.getElementById("log-view");
    try {
      const response = await fetch(link.getAttribute("href"), { headers: headers() });
      if (refused(response.status)) return;
      view.textContent = response.ok ? await response.text() : "No log: " + detail(await response.text());
    } catch (error) {
      view.textContent = "mobu is not answering";
    }
    view.hidden = false;
    view.scrollIntoView();
  });

  if (needToken()) askToken();
  drawSparks();
  loadHistory();
  setInterval(loadHistory, 5000);
})();
