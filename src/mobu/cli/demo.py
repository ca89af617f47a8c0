"""``mobu demo``: start a local JupyterHub (and other demo components), run flocks against it."""

from __future__ import annotations

import asyncio
import atexit
import json
import os
import sys
from pathlib import Path
from typing import Any, TextIO

import click
from rich.console import Console

from mobu.cli.common import EXIT_BAD_INPUT, EXIT_FAILURE, fail
from mobu.demo import (
    DemoError,
    DemoSettings,
    ProcessRegistry,
    StopRequest,
    build_components,
    run_demo,
)

__all__ = ["demo"]


def _default_notebooks() -> Path:
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "examples" / "notebooks"
        if candidate.is_dir():
            return candidate
    return Path("examples/notebooks")


_PLATFORM_HELP = (
    "local: JupyterHub and DaCHS; rsp: shaped like a Rubin Science Platform"
    " (Gafaelfawr tokens, Repertoire discovery, the Nublado hub; see docs/rsp.md)"
)


_PLATFORMS = click.Choice(["local", "rsp"])


@click.command()
@click.option("--platform", type=_PLATFORMS, default="local", help=_PLATFORM_HELP)
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
    platform: str,
    as_json: bool,
) -> None:
    """Run mobu against a real local JupyterHub, showing live per-flock results.

    Starts a JupyterHub on loopback (any name logs in), then mobu with autostarted flocks (a
    NubladoPythonLoop and a NotebookRunnerCounting over the example notebooks, one of which
    fails on purpose every few runs), prints where the API and the hub are, and shows the
    flocks' results until Ctrl-C, SIGTERM, SIGHUP, a closed stdout or --duration. Everything
    it started is stopped on exit, whenever the stop comes; progress goes to stderr.
    """
    stop = StopRequest()
    stop.install()
    out = _Output(stop, tables_to_stderr=as_json)
    options = {"duration": duration, "interval": interval, "monkeys": monkeys, "ref": ref}
    options |= {"platform": platform}
    final = _run_owning_processes(stop, out, notebooks=notebooks, **options)
    if as_json:
        out.echo(json.dumps(final, indent=2))
    out.log("Demo stopped.")
    stop.uninstall()


def _run_owning_processes(
    stop: StopRequest, out: _Output, *, notebooks: str | None, **options: Any
) -> dict[str, Any]:
    """Run the demo; every process it registered is stopped afterwards, even on a crash."""
    processes = ProcessRegistry(log=out.log)
    atexit.register(processes.stop, own_children=True)  # a crash that skips the finally
    try:
        return _run(processes, stop, out, notebooks=notebooks, **options)
    finally:
        processes.stop(own_children=True)
        atexit.unregister(processes.stop)


def _run(
    processes: ProcessRegistry,
    stop: StopRequest,
    out: _Output,
    *,
    duration: float | None,
    interval: float,
    monkeys: int,
    notebooks: str | None,
    ref: str,
    platform: str = "local",
) -> dict[str, Any]:
    source = notebooks or str(_default_notebooks())
    if "://" not in source and not source.startswith("git@"):
        folder = Path(source)
        if not folder.is_dir():
            fail(f"notebook directory {folder} does not exist", EXIT_BAD_INPUT)
        source = str(folder.resolve())
    settings = DemoSettings(
        notebooks=source, notebooks_ref=ref, monkeys=monkeys, processes=processes
    )
    try:
        return asyncio.run(
            run_demo(
                build_components(settings, platform),
                duration=duration,
                interval=interval,
                echo=out.table,
                log=out.log,
                stop=stop,
                processes=processes,
                wake_on_signal=True,
                live=None if out.tables_to_stderr or not sys.stdout.isatty() else Console(),
            )
        )
    except DemoError as exc:
        out.log(f"Error: {exc}")
        sys.exit(EXIT_FAILURE)


class _Output:
    """The demo's two streams; a closed stdout stops the demo, a closed stderr is ignored.

    A stream that fails is pointed at ``/dev/null`` so that nothing (not even the final flush
    of the interpreter) writes to it again.
    """

    def __init__(self, stop: StopRequest, *, tables_to_stderr: bool) -> None:
        self._stop = stop
        self.tables_to_stderr = tables_to_stderr
        self._broken: set[int] = set()

    def table(self, line: str) -> None:
        """Print a URL or a result table (stdout; stderr with ``--json``)."""
        if self.tables_to_stderr:
            self.log(line)
        else:
            self.echo(line)

    def echo(self, line: str) -> None:
        """Print to stdout; if it is closed (a reader went away), ask the demo to stop."""
        if not self._write(sys.stdout, 1, line):
            self.log("stdout is closed: stopping the demo")
            self._stop.request("stdout closed")

    def log(self, line: str) -> None:
        """Print to stderr (progress, cleanup); nothing happens if it is closed."""
        self._write(sys.stderr, 2, line)

    def _write(self, stream: TextIO, fd: int, line: str) -> bool:
        if fd in self._broken:
            return False
        try:
            stream.write(line + "\n")
            stream.flush()
        except (OSError, ValueError):
            self._broken.add(fd)
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, fd)
            os.close(devnull)
            return False
        return True
