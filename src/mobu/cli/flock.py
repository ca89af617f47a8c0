"""``mobu flock ...``: start, inspect, report on and stop the flocks of a running server."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import ParamSpec, TypeVar

import click
from rich.console import Console

from mobu.cli.common import (
    EXIT_BAD_INPUT,
    EXIT_FAILURE,
    check_url,
    dump_json,
    fail,
    load_yaml,
    table,
)
from mobu.cli.report import write_report
from mobu.cli.statistics import statistics_table, watch_summary
from mobu.client import DEFAULT_URL, MobuClient, MobuClientError
from mobu.models.flock import FlockData, FlockSummary

__all__ = ["flock"]

P = ParamSpec("P")
R = TypeVar("R")

PROGRESS_INTERVAL = 1.0
"""Seconds between two progress lines while a batched flock starts."""

START_TIMEOUT = 3600.0
"""Seconds a flock start may take (batched starts of large flocks are slow)."""


def _client_options(func: Callable[P, R]) -> Callable[P, R]:
    """Add --url, --token and --json."""
    func = click.option(
        "--json",
        "as_json",
        is_flag=True,
        envvar="MOBU_JSON",
        help="Print JSON instead of a human table  [env: MOBU_JSON]",
    )(func)
    func = click.option(
        "--token",
        envvar="MOBU_TOKEN",
        help="Admin bearer token of the server  [env: MOBU_TOKEN]",
    )(func)
    return click.option(
        "--url",
        envvar="MOBU_URL",
        default=DEFAULT_URL,
        show_default=True,
        help="URL of the mobu API, including its path prefix  [env: MOBU_URL]",
    )(func)


def _call(url: str, token: str | None, action: Callable[[MobuClient], Awaitable[R]]) -> R:
    """Run ``action`` with a client; server errors exit 1 (2 for a rejected spec)."""

    check_url(url)

    async def body() -> R:
        async with MobuClient(url, token=token) as client:
            return await action(client)

    try:
        return asyncio.run(body())
    except MobuClientError as exc:
        code = EXIT_BAD_INPUT if exc.status_code == 422 else EXIT_FAILURE
        fail(str(exc), code)


@click.group()
def flock() -> None:
    """Drive the flocks of a running mobu server."""


@flock.command()
@click.argument("spec", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--quiet", "-q", is_flag=True, help="No progress display")
@_client_options
def start(spec: Path, quiet: bool, url: str, token: str | None, as_json: bool) -> None:
    """Start the flock of SPEC (a YAML flock config), replacing one of the same name.

    Shows the start progress of a batched flock; returns once every monkey has started.
    """
    data = load_yaml(spec)
    name = str(data.get("name", ""))
    show = not quiet and not as_json and bool(data.get("start_batch_size"))

    async def action(client: MobuClient) -> FlockData:
        put = asyncio.ensure_future(client.start_flock(data, timeout=START_TIMEOUT))
        while show:
            done, _ = await asyncio.wait({put}, timeout=PROGRESS_INTERVAL)
            if done:
                break
            await _show_progress(client, name)
        return await put

    result = _call(url, token, action)
    if as_json:
        click.echo(dump_json(result))
        return
    if show:
        click.echo("", err=True)
    click.echo(f"Flock {result.name} started with {len(result.monkeys)} monkeys")


async def _show_progress(client: MobuClient, name: str) -> None:
    try:
        summary = await client.flock_summary(name)
    except MobuClientError:
        return
    line = f"Starting {name}: {summary.started_count}/{summary.monkey_count} monkeys started"
    end = "\r" if sys.stderr.isatty() else "\n"
    click.echo(line, err=True, nl=False)
    click.echo(end, err=True, nl=False)


@flock.command(name="list")
@_client_options
def list_(url: str, token: str | None, as_json: bool) -> None:
    """List the flocks with their counters."""
    summary = _call(url, token, lambda c: c.summary())
    if as_json:
        click.echo(dump_json(summary))
        return
    click.echo(_summary_table(summary.flocks))
    for failure in summary.autostart_failures:
        click.echo(f"Autostart of {failure.name} failed: {failure.error}", err=True)


@flock.command()
@click.argument("name")
@_client_options
def show(name: str, url: str, token: str | None, as_json: bool) -> None:
    """Show a flock and its monkeys."""
    data = _call(url, token, lambda c: c.get_flock(name))
    if as_json:
        click.echo(dump_json(data))
        return
    business = data.config.business.type
    click.echo(f"Flock {data.name}: {data.config.count} monkeys, business {business}")
    rows = [
        [m.name, m.state, m.business.success_count, m.business.failure_count] for m in data.monkeys
    ]
    click.echo(table(["MONKEY", "STATE", "SUCCESSES", "FAILURES"], rows))


@flock.command()
@click.argument("name", required=False)
@click.option("--watch", "-w", is_flag=True, help="Keep showing a live table (Ctrl-C ends it)")
@click.option(
    "--interval", type=click.FloatRange(min=0.1), default=2.0, show_default=True,
    help="Seconds between two refreshes of --watch",
)  # fmt: skip
@click.option(
    "--iterations", type=click.IntRange(min=1), default=None,
    help="With --watch: stop after this many refreshes",
)  # fmt: skip
@_client_options
def summary(
    name: str | None,
    watch: bool,
    interval: float,
    iterations: int | None,
    url: str,
    token: str | None,
    as_json: bool,
) -> None:
    """Show the counters of one flock (NAME) or of all of them."""
    if watch:
        if as_json:
            fail("--watch and --json cannot be combined", EXIT_BAD_INPUT)
        console = Console(highlight=False)
        if not console.is_terminal:
            console.width = 180  # a pipe or a log: no terminal width to fit, keep rows whole
        try:
            _call(url, token, lambda c: watch_summary(c, name, console, interval, iterations))
        except KeyboardInterrupt:
            return
        return
    if name is not None:
        one = _call(url, token, lambda c: c.flock_summary(name))
        click.echo(dump_json(one) if as_json else _summary_table([one]))
        flocks = [one]
    else:
        everything = _call(url, token, lambda c: c.summary())
        click.echo(dump_json(everything) if as_json else _summary_table(everything.flocks))
        flocks = everything.flocks
    latency = None if as_json else statistics_table(flocks)
    if latency is not None:
        click.echo()
        click.echo(latency)


def _summary_table(summaries: list[FlockSummary]) -> str:
    rows = []
    for s in summaries:
        runs = s.success_count + s.failure_count
        rate = f"{100 * s.success_count / runs:.2f}%" if runs else "-"
        started = s.start_time.strftime("%Y-%m-%d %H:%M:%S") if s.start_time else "(starting)"
        rows.append(
            [s.name, s.business, s.monkey_count, s.success_count, s.failure_count, rate, started]
        )
    headers = ["FLOCK", "BUSINESS", "MONKEYS", "SUCCESSES", "FAILURES", "SUCCESS", "STARTED"]
    return table(headers, rows)


@flock.command()
@click.argument("name")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, file_okay=False),
    required=True,
    help="Directory for the report",
)
@_client_options
def report(name: str, output: Path, url: str, token: str | None, as_json: bool) -> None:
    """Write every monkey's log and status of flock NAME into a directory."""
    written = _call(url, token, lambda c: write_report(c, name, output))
    if as_json:
        click.echo(dump_json([str(p) for p in written]))
    else:
        click.echo(f"Wrote {len(written)} files to {output}")


@flock.command()
@click.argument("name")
@_client_options
def stop(name: str, url: str, token: str | None, as_json: bool) -> None:
    """Stop flock NAME (returns once all its monkeys have stopped)."""
    _call(url, token, lambda c: c.stop_flock(name, timeout=START_TIMEOUT))
    click.echo(dump_json({"stopped": name}) if as_json else f"Flock {name} stopped")


@flock.command()
@click.argument("name")
@_client_options
def refresh(name: str, url: str, token: str | None, as_json: bool) -> None:
    """Ask every monkey of flock NAME to refresh."""
    _call(url, token, lambda c: c.refresh_flock(name))
    click.echo(dump_json({"refreshed": name}) if as_json else f"Flock {name} refreshing")
