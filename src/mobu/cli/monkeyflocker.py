"""``monkeyflocker``: the reference's command-line client, for existing scripts.

Same commands and options (``start -f SPEC``, ``report NAME -o DIR``, ``stop NAME [-o DIR]``,
``refresh NAME [-o DIR]``, ``-e/--base-url``, ``-k/--token``, ``MONKEYFLOCKER_*`` environment
variables). Unlike the reference, a path in the base URL and a non-default API prefix
(``--path-prefix``) are honoured.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import ParamSpec, TypeVar

import click

from mobu.cli.common import MobuGroup, check_url, debug_option, load_yaml
from mobu.cli.report import write_report
from mobu.client import MobuClient, MobuClientError

__all__ = ["main", "monkeyflocker"]

P = ParamSpec("P")
R = TypeVar("R")

TIMEOUT = 30.0
"""Seconds per request, as in the reference."""

logger = logging.getLogger("monkeyflocker")


def _server_options(func: Callable[P, R]) -> Callable[P, R]:
    func = click.option(
        "--path-prefix",
        envvar="MONKEYFLOCKER_PATH_PREFIX",
        default="/mobu",
        show_default=True,
        help="Path prefix of the mobu API (after the base URL's own path)",
    )(func)
    func = click.option(
        "-k", "--token", envvar="MONKEYFLOCKER_TOKEN", required=True, help="Admin bearer token"
    )(func)
    return click.option(
        "-e",
        "--base-url",
        envvar="MONKEYFLOCKER_BASE_URL",
        default="http://localhost:8000",
        show_default=True,
        help="Base URL of the mobu server",
    )(func)


def _output_option(*, required: bool) -> Callable[[Callable[P, R]], Callable[P, R]]:
    return click.option(
        "-o",
        "--output",
        envvar="MONKEYFLOCKER_OUTPUT",
        type=click.Path(path_type=Path, file_okay=False),
        required=required,
        help="Directory for the flock report",
    )


def _api_url(base_url: str, path_prefix: str) -> str:
    prefix = "/" + path_prefix.strip("/") if path_prefix.strip("/") else ""
    return base_url.rstrip("/") + prefix


def _run(
    base_url: str, path_prefix: str, token: str, action: Callable[[MobuClient], Awaitable[R]]
) -> R:
    url = check_url(_api_url(base_url, path_prefix), "--base-url")

    async def body() -> R:
        async with MobuClient(url, token=token, timeout=TIMEOUT) as c:
            return await action(c)

    try:
        return asyncio.run(body())
    except MobuClientError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(1)


@click.group(cls=MobuGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="mobu")
@debug_option
def monkeyflocker(debug: bool) -> None:
    """Command-line client of mobu: start, report on, refresh and stop flocks."""


@monkeyflocker.command()
@click.argument("topic", required=False)
@click.pass_context
def help(ctx: click.Context, topic: str | None) -> None:  # the reference's name
    """Show help for the group or for a command."""
    parent = ctx.parent
    assert parent is not None
    if topic is None:
        click.echo(monkeyflocker.get_help(parent))
        return
    command = monkeyflocker.get_command(ctx, topic)
    if command is None:
        raise click.UsageError(f"Unknown help topic {topic}", ctx)
    with click.Context(command, info_name=topic, parent=parent) as sub:
        click.echo(command.get_help(sub))


@monkeyflocker.command()
@_server_options
@click.option(
    "-f",
    "--spec-file",
    envvar="MONKEYFLOCKER_SPEC_FILE",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    required=True,
    help="YAML flock specification",
)
def start(base_url: str, token: str, path_prefix: str, spec_file: Path) -> None:
    """Start a flock."""
    spec = load_yaml(spec_file)
    name = spec.get("name")
    logger.info("Starting flock %s", name)
    _run(base_url, path_prefix, token, lambda c: c.start_flock(spec))
    logger.info("Flock %s started", name)


@monkeyflocker.command()
@_server_options
@_output_option(required=True)
@click.argument("name")
def report(base_url: str, token: str, path_prefix: str, output: Path, name: str) -> None:
    """Write each monkey's log and status of flock NAME into a directory."""
    logger.info("Reporting on flock %s to %s", name, output)
    _run(base_url, path_prefix, token, lambda c: write_report(c, name, output))


@monkeyflocker.command()
@_server_options
@_output_option(required=False)
@click.argument("name")
def stop(base_url: str, token: str, path_prefix: str, output: Path | None, name: str) -> None:
    """Stop flock NAME (reporting on it first with -o)."""

    async def action(client: MobuClient) -> None:
        if output is not None:
            await write_report(client, name, output)
        await client.stop_flock(name)

    logger.info("Stopping flock %s", name)
    _run(base_url, path_prefix, token, action)
    logger.info("Flock %s stopped", name)


@monkeyflocker.command()
@_server_options
@_output_option(required=False)
@click.argument("name")
def refresh(base_url: str, token: str, path_prefix: str, output: Path | None, name: str) -> None:
    """Refresh flock NAME (reporting on it first with -o)."""

    async def action(client: MobuClient) -> None:
        if output is not None:
            await write_report(client, name, output)
        await client.refresh_flock(name)

    logger.info("Refreshing flock %s", name)
    _run(base_url, path_prefix, token, action)


def main() -> None:
    """Entry point of the ``monkeyflocker`` console script."""
    logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(asctime)s %(message)s")
    monkeyflocker()
