"""Run every benchmark and rewrite the results section of docs/benchmarks.md (``make bench``).

Runs ``scale.py``, ``http_load.py``, ``idle_memory.py``, ``stats_memory.py`` and
``history.py`` one after the other (each starts and stops its own target and generators),
then replaces the text between the ``BEGIN GENERATED RESULTS`` / ``END GENERATED RESULTS``
markers of ``docs/benchmarks.md``.
Everything else in the page, including the Jupyter section, is left as it is. Budget: under 15
minutes on the 2-core CI machine.

Optional steps run only when named with ``--with``: ``soak`` (``soak.py``: a mixed flock set
with a hub and DaCHS over a time-compressed day, about 10 more minutes).

Usage: ``python bench/run_all.py [--skip NAME ...] [--with soak] [--no-docs]`` (a skipped or
not requested step's last results, from ``bench/results/NAME.json``, still go into the page).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import BENCH, PYTHON, RESULTS, ROOT, machine, read_json

DOC = ROOT / "docs" / "benchmarks.md"
BEGIN = "<!-- BEGIN GENERATED RESULTS (bench/run_all.py rewrites this part) -->"
END = "<!-- END GENERATED RESULTS -->"

KINDS = {
    "HTTPCheck": "HTTPCheck (connection pooled)",
    "HTTPCheck-settled": "HTTPCheck (after keep-alive expiry)",
}
STEPS: dict[str, list[str]] = {
    "scale": ["scale.py", "--counts", "1000", "10000"],
    "http_load": ["http_load.py", "--users", "50", "--seconds", "8", "--reps", "3",
                  "--configs", "mobu", "mobu-uvloop", "mobu-aiohttp", "aiohttp-uvloop", "loop-fast",
                  "loop-aiohttp", "loop-aiosonic", "loop-pyreqwest", "loop-curl-cffi",
                  "locust-fast", "locust-http"],
    "idle_memory": ["idle_memory.py", "--counts", "1000", "10000"],
    "stats_memory": ["stats_memory.py", "--monkeys", "1000", "--minutes", "240"],
    "history": ["history.py", "--monkeys", "1000", "--minutes", "60"],
}  # fmt: skip
OPTIONAL: dict[str, list[str]] = {
    "soak": ["soak.py", "--empty", "2000", "--http", "200", "--nublado", "2", "--tap", "2",
             "--seconds", "510"],
}  # fmt: skip
ALL = {**STEPS, **OPTIONAL}


def _summary(results: dict[str, Any]) -> str:
    lines = ["| target | measured | goal | met |", "|---|---|---|---|"]
    scale = results.get("scale")
    if scale:
        for row in scale["rows"]:
            count = f"{row['count']:,}"
            kb = row["bytes_per_monkey"] / 1024
            lines.append(f"| RSS per idle EmptyLoop monkey ({count}) | {kb:.2f} KB | ≤ 10 KB |"
                         f" {'yes' if kb <= 10 else '**no**'} |")  # fmt: skip
            lag = row["lag_p99_ms"]
            lines.append(f"| event-loop lag p99 ({count} monkeys) | {lag:.1f} ms | < 50 ms |"
                         f" {'yes' if lag < 50 else '**no**'} |")  # fmt: skip
            stop = row["stop_seconds"]
            lines.append(f"| stop all ({count} monkeys) | {stop:.2f} s | < 5 s |"
                         f" {'yes' if stop < 5 else '**no**'} |")  # fmt: skip
    load = results.get("http_load")
    if load:
        rows = load["summary"]["rows"]
        for config in ("mobu", "mobu-uvloop", "mobu-aiohttp"):
            if config in rows:
                ratio = rows[config]["ratio_fast"]
                lines.append(
                    f"| HTTP req/s per core, {config} vs Locust FastHttpUser | {ratio:.2f}x"
                    f" ({rows[config]['per_core']:,.0f} vs {rows['locust-fast']['per_core']:,.0f})"
                    f" | ≥ 1.5x | {'yes' if ratio >= 1.5 else '**no**'} |"
                )
    idle = results.get("idle_memory")
    if idle:
        for row in idle["rows"]:
            goal = {"EmptyLoop": 10, "HTTPCheck": 15, "HTTPCheck-settled": 15}.get(row["kind"])
            if goal is None:
                continue
            kb = row["per_user"] / 1024
            kind = KINDS.get(row["kind"], row["kind"])
            lines.append(f"| RSS per idle {kind} monkey ({row['count']:,}) | {kb:.2f} KB |"
                         f" ≤ {goal} KB | {'yes' if kb <= goal else '**no**'} |")  # fmt: skip
    stats = results.get("stats_memory")
    if stats:
        slope = stats["slope_mb_per_hour"]
        verdict = "yes" if abs(slope) < 1 else "**no**"
        lines.append(f"| RSS slope of a 1,000-monkey HTTPCheck flock | {slope:+.2f} MB/hour |"
                     f" about 0 (< 1 MB/h) | {verdict} |")  # fmt: skip
    history = results.get("history")
    if history:
        ratio = history["write"]["ratio"]
        lines.append(f"| HTTPCheck req/s per core, history on vs off | {ratio:.3f}x | ≥ 0.95x |"
                     f" {'yes' if ratio >= 0.95 else '**no**'} |")  # fmt: skip
        for label, ms in history["store"]["query_ms"].items():
            lines.append(f"| history query, {label}, SQLite | {ms:.1f} ms | < 100 ms |"
                         f" {'yes' if ms < 100 else '**no**'} |")  # fmt: skip
    soak = results.get("soak")
    if soak:
        for metric, verdict in soak["verdicts"].items():
            met = verdict["flat"] or verdict.get("bounded", False)
            lines.append(f"| soak: {metric} slope over {soak['hours_reached']:.1f} equivalent hours"
                         f" | {verdict['slope_per_hour']:+.3f} per hour | ≤"
                         f" {verdict['tolerance_per_hour']:.3f} per hour |"
                         f" {'yes' if met else '**no**'} |")  # fmt: skip
    return "\n".join(lines)


def render(results: dict[str, Any], info: dict[str, str], seconds: float, reused: list[str]) -> str:
    """The generated Markdown section."""
    commands = "\n".join(f"    .venv/bin/python bench/{' '.join(ALL[n])}" for n in results)
    when = f"Generated by `make bench` (`bench/run_all.py`) on {info['date']} in {seconds / 60:.1f}"
    when += " minutes."
    if reused:
        when += f" Kept from the previous run (skipped this time): {', '.join(reused)}."
    parts = [
        BEGIN,
        "",
        when,
        "",
        f"Machine: {info['nproc']} CPUs ({info['cpu']}), {info['memory']}, Linux {info['kernel']},"
        f" Python {info['python']}; {info['versions']}. Load average at the end:"
        f" {info['load_average']} (other work shares this machine: see Noise below).",
        "",
        "Commands:",
        "",
        commands,
        "",
        "### Summary against the targets",
        "",
        _summary(results),
    ]
    titles = {
        "scale": "### Many idle EmptyLoop monkeys in one process (`bench/scale.py`)",
        "http_load": "### HTTP load per core of generator CPU (`bench/http_load.py`)",
        "idle_memory": "### Memory per idle user (`bench/idle_memory.py`)",
        "stats_memory": "### Statistics memory over time (`bench/stats_memory.py`)",
        "soak": "### Soak: a mixed flock set over a compressed day (`bench/soak.py`)",
        "history": "### History store: write cost, size, query time (`bench/history.py`)",
    }
    for name, result in results.items():
        parts += ["", titles[name], "", result["markdown"]]
    parts += ["", END]
    return "\n".join(parts)


def update_doc(section: str) -> None:
    """Replace the generated section of docs/benchmarks.md (append it if missing)."""
    text = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        text = head + section + tail
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    DOC.write_text(text)


def main() -> None:
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip", nargs="*", default=[], choices=sorted(STEPS))
    parser.add_argument("--with", dest="extra", nargs="*", default=[], choices=sorted(OPTIONAL))
    parser.add_argument("--no-docs", action="store_true", help="do not rewrite the page")
    args = parser.parse_args()
    start = time.monotonic()
    results: dict[str, Any] = {}
    failed = []
    reused: list[str] = []
    for name, argv in ALL.items():
        if name in args.skip or (name in OPTIONAL and name not in args.extra):
            previous = RESULTS / f"{name}.json"
            if previous.exists():  # keep the page complete with the last results of that step
                results[name] = read_json(previous)
                reused.append(name)
            continue
        print(f"== {name}: {' '.join(argv)}", flush=True)
        step_start = time.monotonic()
        code = subprocess.call([PYTHON, str(BENCH / argv[0]), *argv[1:]], cwd=ROOT)
        print(f"== {name}: exit {code} after {time.monotonic() - step_start:.0f} s", flush=True)
        if code == 0:
            results[name] = read_json(RESULTS / f"{name}.json")
        else:
            failed.append(name)
    elapsed = time.monotonic() - start
    if results and not args.no_docs:
        update_doc(render(results, machine(), elapsed, reused))
        print(f"rewrote {DOC.relative_to(ROOT)}")
    print(f"total {elapsed / 60:.1f} min")
    if failed:
        print(f"failed: {', '.join(failed)}")
        sys.exit(1)


if __name__ == "__main__":
    main()
