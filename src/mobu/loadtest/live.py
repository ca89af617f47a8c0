"""The live terminal view of a run (rich): stage, monkeys, per-event rates and percentiles,
threshold states; and the summary printed at the end."""

from __future__ import annotations

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from mobu.loadtest.evaluate import span_value
from mobu.loadtest.plan import format_value
from mobu.loadtest.results import LoadTestResult
from mobu.loadtest.runner import LoadRun

__all__ = ["render_live", "render_summary"]


def render_live(run: LoadRun) -> Group:
    """What the terminal shows after each sample."""
    last = run.last
    header = Text(
        f"{run.plan.name} · {run.stage_label or 'starting'} · "
        f"{last.obs.monkeys if last else 0} monkeys · {run.now():.0f}s",
        style="bold",
    )
    events = Table("event", "rate/s", "p50", "p95", "p99", "failures", box=None)
    point = run.timeline[-1] if run.timeline else None
    if last is not None:
        for name, view in sorted(last.obs.events.items()):
            rate = point.events.get(name, {}).get("rate") if point else None
            events.add_row(
                name,
                "-" if rate is None else f"{rate:.2f}",
                format_value("p50", view.window.p50),
                format_value("p95", view.window.p95),
                format_value("p99", view.window.p99),
                str(view.failures),
            )
    checks = Table("threshold", "now", "state", box=None)
    base = run.history[0] if run.history else None
    for index, threshold in enumerate(run.plan.thresholds):
        value = span_value(threshold, base, last, "window") if last is not None else None
        state = Text("BREACHED", style="bold red") if index in run.tracker.open else Text("ok")
        checks.add_row(threshold.label, format_value(threshold.stat, value), state)
    return Group(header, events, checks)


def render_summary(result: LoadTestResult, console: Console) -> None:
    """Print the verdict, each threshold, the capacity answer and the top failures."""
    style = "bold green" if result.passed else "bold red"
    console.print(
        Text(f"{result.mode} {result.name}: {'PASSED' if result.passed else 'FAILED'}", style=style)
    )
    if result.abort_reason:
        console.print(f"aborted: {result.abort_reason}")
    for threshold in result.thresholds:
        verdict = "held" if threshold.passed else "BREACHED"
        whole = format_value(threshold.stat, threshold.value)
        line = f"  {threshold.label}: {verdict} (whole run {whole})"
        for breach in threshold.breaches[:3]:
            line += (
                f"; {breach.where} at {breach.start:.1f}s with {breach.monkeys} monkeys:"
                f" {format_value(threshold.stat, breach.value)}"
            )
        console.print(line)
    capacity = result.capacity
    if capacity is not None:
        answer = "none (the first count broke)" if capacity.capacity is None else capacity.capacity
        console.print(f"capacity: {answer}" + (" (max reached)" if capacity.max_reached else ""))
        if capacity.first_breach is not None:
            breach = capacity.first_breach
            console.print(f"first breach: {breach.threshold} with {breach.monkeys} monkeys")
        if capacity.layer:
            console.print(f"layer that broke first: {capacity.layer}")
    for error, count in sorted(result.errors.items(), key=lambda kv: -kv[1])[:5]:
        console.print(f"  {count}x {error}")
