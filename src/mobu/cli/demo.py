"""``mobu demo``: start a local JupyterHub (and other demo components), run flocks against it."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import click

from mobu.cli.common import EXIT_BAD_INPUT, EXIT_FAILURE, fail
from mobu.demo import DemoError, DemoSettings, build_components, run_demo

__all__ = ["demo"]


def _default_notebooks() -> Path:
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "examples" / "notebooks"
        if candidate.is_dir():
            return candidate
    return Path("examples/notebooks")


@click.command()
@click.option(
    "--duration",
    type=click.FloatRange(min=1),
    default=None,
    help="Stop after this many seconds (default: run until Ctrl-C)",
)
@click.option(
    "--interval",
    type=click.FloatRange(min=0.5),
    default=5.0,
    show_default=True,
    help="Seconds between two result tables",
)
@click.option(
    "--monkeys",
    type=click.IntRange(1, 5),
    default=2,
    show_default=True,
    help="Monkeys of the NubladoPythonLoop flock (each has its own lab)",
)
@click.option(
    "--notebooks",
    default=None,
    help="Notebook directory or git URL for the notebook runner  [default: examples/notebooks]",
)
@click.option(
    "--ref", default="main", show_default=True, help="Branch or tag of a --notebooks git URL"
)
@click.option("--json", "as_json", is_flag=True, help="Print the final flock summaries as JSON")
def demo(
    duration: float | None,
    interval: float,
    monkeys: int,
    notebooks: str | None,
    ref: str,
    as_json: bool,
) -> None:
    """Run mobu against a real local JupyterHub, showing live per-flock results.

    Starts a JupyterHub on loopback (any name logs in), then mobu with autostarted flocks (a
    NubladoPythonLoop and a NotebookRunnerCounting over the example notebooks, one of which
    fails on purpose every few runs), prints where the API and the hub are, and shows the
    flocks' results until Ctrl-C or --duration. Everything it started is stopped on exit.
    """
    source = notebooks or str(_default_notebooks())
    if "://" not in source and not source.startswith("git@"):
        folder = Path(source)
        if not folder.is_dir():
            fail(f"notebook directory {folder} does not exist", EXIT_BAD_INPUT)
        source = str(folder.resolve())
    settings = DemoSettings(notebooks=source, notebooks_ref=ref, monkeys=monkeys)
    try:
        final = asyncio.run(
            run_demo(
                build_components(settings), duration=duration, interval=interval,
                echo=lambda line: click.echo(line, err=as_json),
            )
        )
    except DemoError as exc:
        fail(str(exc), EXIT_FAILURE)
    except KeyboardInterrupt:
        final = {}
    if as_json:
        click.echo(json.dumps(final, indent=2))
    click.echo("Demo stopped.", err=as_json)
