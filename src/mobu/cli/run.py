"""``mobu run SPEC.yaml``: run a business once, without a server."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError

from mobu.cli.common import EXIT_BAD_INPUT, EXIT_FAILURE, dump_json, fail, load_yaml
from mobu.config import Config, ConfigError, format_validation_error, load_config
from mobu.exceptions import ClientRequestError, InvalidOptionsError
from mobu.factory import ProcessContext
from mobu.models.errors import format_errors
from mobu.models.solitary import SolitaryConfig, SolitaryResult
from mobu.registry import BusinessRegistry
from mobu.services.builder import null_logger
from mobu.services.solitary import run_solitary

__all__ = ["run"]


async def _run(
    config: Config, spec: dict[str, Any], registry: BusinessRegistry
) -> SolitaryResult | str:
    """Run the spec; returns the result, or the validation message of a bad spec."""
    try:
        solitary = SolitaryConfig.model_validate(spec)
    except ValidationError as exc:
        return f"invalid spec:\n{format_validation_error(exc)}"
    async with ProcessContext(config, logger=null_logger(), registry=registry) as context:
        try:
            return await run_solitary(solitary, builder=context.builder, identity=context.identity)
        except InvalidOptionsError as exc:
            return f"invalid spec:\n{format_errors(exc.errors_at(('business',)))}"
        except ClientRequestError as exc:
            return str(exc)


@click.command()
@click.argument("spec", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    envvar="MOBU_CONFIG_PATH",
    help="mobu configuration (identity, discovery, ...)  [env: MOBU_CONFIG_PATH]",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON")
def run(spec: Path, config_path: Path | None, as_json: bool) -> None:
    """Run the business of SPEC (a solitary config: user, scopes, business) once.

    Prints the log; exits 0 on success, 1 if the business failed, 2 if SPEC is invalid.
    """
    data = load_yaml(spec)
    registry = BusinessRegistry()
    try:
        config = load_config(config_path, registry=registry)
    except ConfigError as exc:
        fail(str(exc), EXIT_BAD_INPUT)
    result = asyncio.run(_run(config, data, registry))
    if isinstance(result, str):
        fail(f"{spec}: {result}", EXIT_BAD_INPUT)
    if as_json:
        click.echo(dump_json(result))
    else:
        click.echo(result.log, nl=not result.log.endswith("\n"))
        if result.error:
            click.echo(f"Failed: {result.error}", err=True)
    sys.exit(0 if result.success else EXIT_FAILURE)
