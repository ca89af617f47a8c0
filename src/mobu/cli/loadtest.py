"""``mobu loadtest PLAN`` and ``mobu capacity PLAN``: load tests with thresholds, the knee."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.live import Live

from mobu.cli.common import EXIT_BAD_INPUT, EXIT_FAILURE, check_url, fail
from mobu.config import ConfigError, load_config
from mobu.loadtest import LoadTestResult, PlanError, load_plan, run_embedded, run_remote
from mobu.loadtest.live import render_live, render_summary
from mobu.loadtest.report import write_report
from mobu.loadtest.runner import LoadRun
from mobu.loadtest.session import Mode
from mobu.registry import BusinessRegistry

__all__ = ["capacity", "loadtest"]


def _options[**P, R](func: Callable[P, R]) -> Callable[P, R]:
    """The options both commands share."""
    decorators = [
        click.argument("plan", type=click.Path(path_type=Path, dir_okay=False)),
        click.option(
            "--report",
            "report_dir",
            type=click.Path(path_type=Path, file_okay=False),
            help="Write report.html, results.json and junit.xml into this directory",
        ),
        click.option("--json", "as_json", is_flag=True, help="Print the result document as JSON"),
        click.option(
            "--url", help="Run on the mobu server of this API URL (default: in this process)"
        ),
        click.option("--token", envvar="MOBU_TOKEN", help="Admin token of the server (--url)"),
        click.option(
            "--config",
            "config_path",
            type=click.Path(path_type=Path, dir_okay=False),
            envvar="MOBU_CONFIG_PATH",
            help="mobu configuration for an in-process run (identity, discovery, ...)",
        ),
    ]
    for decorator in reversed(decorators):
        func = decorator(func)
    return func


def _execute(mode: Mode, plan_path: Path, options: dict[str, Any]) -> None:
    """Run the plan; print the result; exit 0 (held), 1 (breached or failed) or 2 (bad plan)."""
    try:
        plan = load_plan(plan_path, mode=mode)
    except PlanError as exc:
        fail(str(exc), EXIT_BAD_INPUT)
    url = options["url"]
    if url is not None:
        check_url(url)
    console = Console(stderr=True)
    live = Live(console=console, auto_refresh=False) if console.is_terminal else None
    show = None if options["as_json"] or live is None else live

    def on_sample(run: LoadRun) -> None:
        if show is not None:
            show.update(render_live(run), refresh=True)

    try:
        if show is not None:
            show.start()
        try:
            result = asyncio.run(_run(mode, plan, options, on_sample))
        finally:
            if show is not None:
                show.stop()
    except PlanError as exc:
        fail(f"{plan_path}: {exc}", EXIT_BAD_INPUT)
    if options["report_dir"] is not None:
        written = write_report(result, options["report_dir"])
        if not options["as_json"]:
            console.print(f"report: {', '.join(str(p) for p in written)}")
    if options["as_json"]:
        click.echo(result.model_dump_json(indent=2))
    else:
        render_summary(result, Console(file=sys.stdout))
    sys.exit(0 if result.passed else EXIT_FAILURE)


async def _run(
    mode: Mode, plan: Any, options: dict[str, Any], on_sample: Callable[[LoadRun], None]
) -> LoadTestResult:
    if options["url"] is not None:
        return await run_remote(
            plan, options["url"], mode=mode, token=options["token"], on_sample=on_sample
        )
    registry = BusinessRegistry()
    try:
        config = load_config(options["config_path"], registry=registry)
    except ConfigError as exc:
        fail(str(exc), EXIT_BAD_INPUT)
    return await run_embedded(plan, config, mode=mode, registry=registry, on_sample=on_sample)


@click.command()
@_options
def loadtest(plan: Path, **options: Any) -> None:
    """Run the load test of PLAN (flocks, stages, thresholds).

    Exits 0 when every threshold held, 1 when one was breached (or the run was aborted),
    2 when PLAN is invalid. Runs in this process unless --url names a mobu server.
    """
    _execute("loadtest", plan, options)


@click.command()
@_options
def capacity(plan: Path, **options: Any) -> None:
    """Find how many monkeys the platform holds (PLAN with a search: block).

    Reports the capacity (the largest count that held every threshold for the hold), the
    first breach and the layer that broke first. Exits 0 with an answer, 1 when even the
    first count broke a threshold, 2 when PLAN is invalid.
    """
    _execute("capacity", plan, options)
