"""``mobu serve``: run the API server; SIGTERM/SIGINT stop every flock and exit 0."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from mobu.cli.common import EXIT_BAD_INPUT, fail
from mobu.config import ConfigError, default_config_path, load_config
from mobu.registry import BusinessRegistry
from mobu.server import run_server

__all__ = ["serve"]


@click.command()
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    envvar="MOBU_CONFIG_PATH",
    help=(
        "YAML configuration file; default /etc/mobu/config.yaml when it exists"
        "  [env: MOBU_CONFIG_PATH]"
    ),
)
@click.option(
    "--host", default="127.0.0.1", show_default=True, envvar="MOBU_HOST", help="[env: MOBU_HOST]"
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8080,
    show_default=True,
    envvar="MOBU_PORT",
    help="0 picks a free port (the URL is printed)  [env: MOBU_PORT]",
)
def serve(config_path: Path | None, host: str, port: int) -> None:
    """Run the mobu API server until SIGTERM or SIGINT (then stop every flock, exit 0)."""

    def announce(url: str) -> None:
        click.echo(f"mobu API listening on {url}")
        sys.stdout.flush()

    try:
        registry = BusinessRegistry()
        config = load_config(config_path or default_config_path(), registry=registry)
        config.auth.check_bind(host)
        run_server(config, host, port, on_ready=announce, registry=registry)
    except ConfigError as exc:
        fail(str(exc), EXIT_BAD_INPUT)
