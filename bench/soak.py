"""Soak: a mixed flock set over a time-compressed day, with a slope per resource (issue "soak").

One mobu process (the real engine, per-monkey log files) runs EmptyLoop and HTTPCheck monkeys
against the loopback target (``bench/target.py``), NubladoPythonLoop monkeys against a local
JupyterHub (:class:`mobu.platform.hub.LocalHub`: spawn a lab, run code, delete it, again) and
TAPQueryRunner monkeys against a private DaCHS (:class:`mobu.platform.dachs.DachsServer`). Every
``--interval`` seconds the worker (``bench/_soak_worker.py``) reads its RSS after
``gc.collect()``, open file descriptors, threads, asyncio tasks, the size of what its monkeys
write (its private ``TMPDIR`` and the data directory's ``logs``, ``work`` and ``repos``: the
per-monkey logs, scratch files, clones) and, apart, the size of the history store.

Time compression, as in ``stats_memory.py``: the EmptyLoop and HTTPCheck monkeys run with
``idle_time`` 0, and one equivalent minute is the 6 iterations each of them would make with a
10 s ``idle_time``. The run ends at ``--hours`` equivalent hours or ``--seconds`` real seconds,
whichever comes first (the output says which). The Jupyter and TAP monkeys also run with no
idle time, but their iterations take real time (a lab cycle is seconds), so they see
``--seconds`` of real work, not a compressed day.

Pass: after the warm-up (the first ``--warm-up`` fraction of the equivalent time, at least 20
equivalent minutes: pools, log buffers and log files filling up to their cap), each metric's
least-squares slope does not grow beyond its tolerance: RSS and what is written ≤ 1 MB per
equivalent hour (what is written may also rise within its bound); fds, threads, tasks ≤ 5 % of
their mean (at least 2) per equivalent day. The per-monkey logs are capped at
``--log-max-bytes`` (``monkey_log_max_bytes``; 64 KiB here instead of the service's 1 MiB, so
that every log reaches its cap within the run and the written curve can flatten: at 1 MiB it
would keep growing, by design, for days).

Usage: ``python bench/soak.py [--empty 2000] [--http 200] [--nublado 2] [--tap 2]
[--hours 24] [--seconds 480] [--interval 5] [--warm-up 0.25] [--log-max-bytes 65536]
[--loop auto] [--from-json bench/results/soak.json]``
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    BENCH,
    PYTHON,
    Target,
    fmt,
    generator_core,
    loop_env,
    read_json,
    save,
    spawn,
    stop,
    table,
    temporary_file,
)

from mobu.platform.dachs import DachsServer
from mobu.platform.hub import LocalHub

PER_MINUTE = 6  # iterations per monkey per minute with idle_time 10 s
METRICS = ("rss", "fds", "threads", "tasks", "disk_bytes")
MB = 2**20


def _flock(name: str, business: str, count: int, options: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "count": count,
        "user_spec": {"username_prefix": f"bot-mobu-soak-{name}"},
        "business": {"type": business, "options": options, "restart": True},
    }


def _mint(hub: LocalHub, users: list[str]) -> dict[str, str]:
    """Create the Jupyter users on the hub and mint a token for each (static identity)."""
    headers = {"Authorization": f"token {hub.admin_token}"}
    tokens = {}
    with httpx.Client(base_url=f"{hub.url}hub/api/", headers=headers, timeout=60) as http:
        for user in users:
            created = http.post(f"users/{user}")
            if created.status_code not in (201, 409):  # 409: exists already
                created.raise_for_status()
            reply = http.post(f"users/{user}/tokens", json={"note": "mobu soak"})
            reply.raise_for_status()
            tokens[user] = reply.json()["token"]
    return tokens


@contextlib.contextmanager
def services(args: argparse.Namespace) -> Iterator[dict[str, Any]]:
    """The target, and the hub and DaCHS when their flocks are asked for."""
    with contextlib.ExitStack() as stack:
        target = stack.enter_context(Target())
        found: dict[str, Any] = {"target": target.url}
        if args.nublado:
            hub = LocalHub()
            stack.callback(hub.cleanup)
            stack.callback(hub.stop)
            hub.start()
            found["hub"] = hub
        if args.tap:
            dachs = DachsServer.start()
            stack.callback(dachs.stop)
            found["tap"] = dachs.tap_url
        yield found


def spec(args: argparse.Namespace, found: dict[str, Any]) -> dict[str, Any]:
    """The worker's configuration and flocks."""
    quick = {"idle_time": 0, "error_idle_time": 1}
    flocks = [
        _flock("empty", "EmptyLoop", args.empty, quick),
        _flock("http", "HTTPCheck", args.http, {**quick, "url": found["target"]}),
    ]
    config: dict[str, Any] = {
        "stop_grace": 60, "discovery": {}, "monkey_log_max_bytes": args.log_max_bytes,
    }  # fmt: skip
    tokens: dict[str, str] = {}
    if args.nublado:
        hub: LocalHub = found["hub"]
        users = [{"username": f"bot-mobu-soak-py{i + 1}"} for i in range(args.nublado)]
        tokens = _mint(hub, [u["username"] for u in users])
        options = {
            **quick, "code": "print(6*7)", "max_executions": 50, "execution_idle_time": 0,
            "spawn_settle_time": 0, "delete_timeout": 60, "spawn_timeout": 120,
            "working_directory": "/tmp",
        }  # fmt: skip
        flock = _flock("py", "NubladoPythonLoop", args.nublado, options)
        flock["users"], flock["user_spec"] = users, None
        flocks.append(flock)
        config["discovery"]["services"] = {"hub": hub.url}
    if args.tap:
        config["discovery"]["datasets"] = {"soak": {"tap": found["tap"]}}
        config["discovery"]["applications"] = ["tap"]
        query = "SELECT TOP 20 id, ra, dec, mag FROM synth.main WHERE mag < 20"
        options = {**quick, "dataset": "soak", "query_timeout": 60, "queries": [query]}
        flocks.append(_flock("tap", "TAPQueryRunner", args.tap, options))
    # One identity for the process: the Jupyter users' minted tokens, a placeholder for the rest
    # (EmptyLoop ignores it; the target and DaCHS do not check it).
    config["identity"] = {"provider": "static", "tokens": tokens, "default_token": "soak"}
    clock_monkeys = args.empty + args.http
    return {
        "config": config,
        "flocks": [{k: v for k, v in f.items() if v is not None} for f in flocks],
        "seconds": args.seconds,
        "interval": args.interval,
        "equivalent_events": int(args.hours * 60 * PER_MINUTE * clock_monkeys),
    }


def slope(xs: list[float], ys: list[float]) -> float:
    """Least-squares slope of ys over xs (NaN with fewer than two points)."""
    if len(xs) < 2:
        return float("nan")
    mean_x = sum(xs) / len(xs)
    mean_y = sum(ys) / len(ys)
    num = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True))
    den = sum((x - mean_x) ** 2 for x in xs)
    return num / den if den else float("nan")


def analyse(result: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """Equivalent hours of each sample, then slope and verdict per metric after the warm-up.

    What the monkeys write also passes when it never exceeds its bound, every monkey's log cap:
    rotation makes it a saw-tooth that rises towards that bound until every log has rotated once.
    """
    clock_monkeys = args.empty + args.http
    cap = (clock_monkeys + args.nublado + args.tap) * args.log_max_bytes / MB
    samples = result["samples"]
    for point in samples:
        point["hours"] = point["clock"] / (clock_monkeys * PER_MINUTE * 60)
    reached = samples[-1]["hours"] if samples else 0.0
    start = max(args.warm_up * reached, 20 / 60)
    tail = [p for p in samples if p["hours"] >= start]
    verdicts = {}
    for metric in METRICS:
        ys = [p[metric] / MB if metric in ("rss", "disk_bytes") else p[metric] for p in tail]
        per_hour = slope([p["hours"] for p in tail], ys)
        mean = sum(ys) / len(ys) if ys else float("nan")
        tolerance = 1.0 if metric in ("rss", "disk_bytes") else max(2.0, 0.05 * mean) / 24
        verdicts[metric] = {
            "slope_per_hour": per_hour, "per_day": per_hour * 24, "mean": mean,
            "min": min(ys, default=float("nan")), "max": max(ys, default=float("nan")),
            "tolerance_per_hour": tolerance, "flat": per_hour <= tolerance,
        }  # fmt: skip
        if metric == "disk_bytes":
            verdicts[metric]["bound"] = cap
            verdicts[metric]["bounded"] = verdicts[metric]["max"] <= cap
    flat = all(v["flat"] or v.get("bounded", False) for v in verdicts.values())
    return {"hours_reached": reached, "steady_from_hours": start, "tail_samples": len(tail),
            "verdicts": verdicts, "flat": flat}  # fmt: skip


def _verdict(v: dict[str, Any]) -> str:
    if v["flat"]:
        return "flat"
    if v.get("bounded"):
        return f"rising within its bound ({v['bound']:.1f} MB: every log at its cap)"
    return "**growing**"


def markdown(result: dict[str, Any], args: argparse.Namespace) -> str:
    """Checkpoint table and verdict table."""
    samples = result["samples"]
    minute = min(range(len(samples)), key=lambda i: abs(samples[i]["seconds"] - 60))
    fractions = (0.1, 0.25, 0.5, 0.75)
    picks = sorted({0, minute, len(samples) - 1, *(round(len(samples) * f) for f in fractions)})
    rows = []
    for index in (i for i in picks if 0 <= i < len(samples)):
        p = samples[index]
        events = p["events"]
        rows.append([
            f"{p['hours']:.2f} h", f"{p['seconds']:.0f}", fmt(p["clock"]), f"{p['rss'] / MB:.1f}",
            p["fds"], p["threads"], fmt(p["tasks"]), f"{p['disk_bytes'] / MB:.1f}",
            events.get("nublado_spawn_lab", 0), fmt(events.get("nublado_python_execution", 0)),
            fmt(events.get("tap_query", 0)),
        ])  # fmt: skip
    text = table(
        ["equivalent time", "real s", "EmptyLoop+HTTPCheck iterations", "RSS MB", "fds",
         "threads", "tasks", "written MB", "labs spawned", "Python executions", "TAP queries"],
        rows,
    )  # fmt: skip
    units = {"rss": "MB", "disk_bytes": "MB"}
    verdict_rows = []
    for metric, v in result["verdicts"].items():
        unit = units.get(metric, "")
        verdict_rows.append([
            metric, f"{v['min']:.1f} to {v['max']:.1f} {unit}", f"{v['slope_per_hour']:+.3f}",
            f"{v['per_day']:+.2f} {unit}", f"≤ {v['tolerance_per_hour']:.3f}",
            _verdict(v),
        ])  # fmt: skip
    text += "\n\n" + table(
        ["metric", "range after warm-up", "slope per equivalent hour", "projected per day",
         "tolerance per hour", "verdict"], verdict_rows,
    )  # fmt: skip
    base, after = result["base"], result["after_stop"]
    bound = "the equivalent-time bound" if result["reached_equivalent"] else "the real-time bound"
    text += (
        f"\n\n{fmt(args.empty)} EmptyLoop + {fmt(args.http)} HTTPCheck + {args.nublado}"
        f" NubladoPythonLoop + {args.tap} TAPQueryRunner monkeys in one process"
        f" ({result['loop']}); one equivalent minute = {PER_MINUTE} iterations per EmptyLoop /"
        f" HTTPCheck monkey (idle_time 10 s). Stopped by {bound} after"
        f" {samples[-1]['seconds']:.0f} s: **{result['hours_reached']:.1f} equivalent hours**."
        f" Per-monkey logs capped at {fmt(args.log_max_bytes)} bytes. Before the flocks: RSS"
        f" {base['rss'] / MB:.1f} MB, {base['fds']} fds, {base['threads']} threads,"
        f" {base['tasks']} tasks. Slopes from {result['steady_from_hours']:.2f} h on"
        f" ({result['tail_samples']} samples). Failures: {result['failures'] or 'none'}."
        f" Stop of all flocks {result['stop_seconds']:.1f} s; after it {after['fds']} fds,"
        f" {after['threads']} threads, {after['tasks']} tasks; history store"
        f" {after.get('history_bytes', 0) / MB:.1f} MB (kept apart: it grows with time up to its"
        " retention)."
        f" Verdict: **{'every metric flat or bounded' if result['flat'] else 'not flat'}**."
    )
    return text


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Start the services, run the worker, analyse its samples."""
    with services(args) as found, temporary_file(".json") as out, temporary_file(".spec") as path:
        path.write_text(json.dumps(spec(args, found)))
        with tempfile.TemporaryDirectory(prefix="mobu-soak-") as tmp:
            env = {**loop_env(args.loop), "TMPDIR": tmp}
            process = spawn([PYTHON, str(BENCH / "_soak_worker.py"), str(path), str(out)],
                            core=generator_core(), env=env, stderr=subprocess.PIPE)  # fmt: skip
            try:
                _, stderr = process.communicate(timeout=args.seconds + 300)
            finally:
                stop(process)
        if process.returncode != 0:
            raise RuntimeError(f"soak worker failed: {stderr[-3000:]}")
        result: dict[str, Any] = read_json(out)
    return finish(result, args)


def finish(result: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """Add the analysis and the Markdown to a worker's result."""
    result.update(analyse(result, args))
    result["markdown"] = markdown(result, args)
    return result


def main() -> None:
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--empty", type=int, default=2000)
    parser.add_argument("--http", type=int, default=200)
    parser.add_argument("--nublado", type=int, default=2)
    parser.add_argument("--tap", type=int, default=2)
    parser.add_argument("--hours", type=float, default=24.0, help="equivalent hours")
    parser.add_argument("--seconds", type=float, default=480.0, help="real-time bound")
    parser.add_argument("--interval", type=float, default=5.0, help="seconds between samples")
    parser.add_argument("--warm-up", type=float, default=0.25, help="fraction of the run")
    parser.add_argument(
        "--log-max-bytes", type=int, default=65536,
        help="monkey_log_max_bytes (default 64 KiB: reached within the run)",
    )  # fmt: skip
    parser.add_argument("--loop", choices=["auto", "asyncio", "uvloop"], default="auto")
    parser.add_argument(
        "--from-json", type=Path,
        help="analyse a saved result (bench/results/soak.json) again instead of running",
    )  # fmt: skip
    args = parser.parse_args()
    if args.from_json:
        saved = read_json(args.from_json)
        args = argparse.Namespace(**{**saved["args"], "from_json": args.from_json})
        result = finish(saved, args)
    else:
        result = run(args)
    print(result["markdown"])
    save("soak", {"args": vars(args), **result})


if __name__ == "__main__":
    main()
