"""``mobu ci REPO_DIR --base REF --head REF``: the CI app's check, without GitHub.

The notebooks that ``base...head`` of the local repository changed (:mod:`mobu.github.localdiff`)
go through the very check the GitHub CI app runs (:class:`mobu.github.notebookcheck.NotebookCheck`),
in this process, on the platform the configuration names (``--config``, as for ``mobu run``).
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError

from mobu.cli.common import EXIT_BAD_INPUT, EXIT_FAILURE, fail, load_yaml
from mobu.config import Config, ConfigError, format_validation_error, load_config
from mobu.exceptions import ClientRequestError
from mobu.factory import ProcessContext
from mobu.github.localdiff import GitRangeError, LocalChange, local_change
from mobu.github.notebookcheck import NotebookCheck, Outcome
from mobu.models.business.notebookrunner import NotebookRunnerOptions
from mobu.models.timedelta import parse_timedelta
from mobu.models.user import User
from mobu.registry import BusinessRegistry
from mobu.services.builder import null_logger

__all__ = ["ci"]

DEFAULT_USER = "bot-mobu-ci"
DEFAULT_SCOPES = ("exec:notebook",)
DEFAULT_TIMEOUT = "1h"


def _one_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return " ".join(f"{line};" if not line.endswith(":") else line for line in lines).rstrip(";")


@dataclass(frozen=True, slots=True)
class _Settings:
    user: User
    scopes: list[str]
    options: dict[str, Any]
    timeout: timedelta


def _settings(
    config: Config,
    username: str | None,
    scopes: tuple[str, ...],
    options_path: Path | None,
    timeout: str | None,
) -> _Settings:
    """The run's user, scopes, options and timeout: the options given, else ``githubCiApp``'s."""
    app = config.github_ci_app
    if username is None:
        username = app.users[0].username if app is not None else DEFAULT_USER
    if not scopes:
        scopes = tuple(app.scopes) if app is not None else DEFAULT_SCOPES
    if options_path is not None:
        options = load_yaml(options_path)
    else:
        options = dict(app.options) if app is not None else {}
    try:
        user = User(username=username)
    except ValidationError:
        fail("--user: not a valid mobu username (bot-mobu followed by [a-z0-9._-])", EXIT_BAD_INPUT)
    try:
        limit = parse_timedelta(timeout) if timeout is not None else None
    except ValueError:
        fail("--timeout: not a duration (e.g. 30m, 1h)", EXIT_BAD_INPUT)
    if limit is None:
        limit = app.timeout if app is not None else parse_timedelta(DEFAULT_TIMEOUT)
    try:
        NotebookRunnerOptions.model_validate({**options, "repo_url": "/", "repo_ref": "HEAD"})
    except ValidationError as exc:
        message = _one_line(format_validation_error(exc))
        fail(f"invalid NotebookRunnerList options: {message}", EXIT_BAD_INPUT)
    return _Settings(user=user, scopes=list(scopes), options=options, timeout=limit)


async def _progress(summary: str) -> None:
    click.echo(summary, err=True)


async def _check(
    config: Config, registry: BusinessRegistry, change: LocalChange, settings: _Settings
) -> Outcome | str:
    """Run the check; returns its outcome, or the message of a request mobu refused."""
    async with ProcessContext(config, logger=null_logger(), registry=registry) as context:
        check = NotebookCheck(
            builder=context.builder,
            identity=context.identity,
            repo_cache=context.repo_cache,
            discovery=context.discovery,
            scopes=settings.scopes,
            options=settings.options,
            timeout=settings.timeout,
            logger=context.logger,
        )
        try:
            return await check.run(
                clone_url=str(change.repo),
                head=change.head,
                changed=change.changed,
                user=settings.user,
                progress=_progress,
            )
        except ClientRequestError as exc:
            return str(exc)


@click.command()
@click.argument("repo_dir", type=click.Path(path_type=Path))
@click.option("--base", required=True, help="Commit the change is compared with (e.g. origin/main)")
@click.option("--head", default="HEAD", show_default=True, help="Commit to check")
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    envvar="MOBU_CONFIG_PATH",
    help="mobu configuration (identity, discovery, githubCiApp)  [env: MOBU_CONFIG_PATH]",
)
@click.option("--user", "username", help=f"User the notebooks run as [default: {DEFAULT_USER}]")
@click.option("--scope", "scopes", multiple=True, help="Token scope (repeat) [exec:notebook]")
@click.option(
    "--options",
    "options_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="YAML mapping of NotebookRunnerList options (image, timeouts, ...)",
)
@click.option("--timeout", help=f"Longest run of the notebooks [default: {DEFAULT_TIMEOUT}]")
def ci(
    repo_dir: Path,
    base: str,
    head: str,
    config_path: Path | None,
    username: str | None,
    scopes: tuple[str, ...],
    options_path: Path | None,
    timeout: str | None,
) -> None:
    """Run the notebooks that BASE...HEAD of the git repository REPO_DIR changed, once each.

    The same check as the GitHub CI app: mobu.yaml rules and required_applications apply, the
    summary is printed as Markdown. Unset options default to the configuration's githubCiApp.
    Exits 0 on success or nothing to run, 1 if a notebook failed, 2 on bad input.
    """
    registry = BusinessRegistry()
    try:
        config = load_config(config_path, registry=registry)
    except ConfigError as exc:
        fail(_one_line(str(exc)), EXIT_BAD_INPUT)
    settings = _settings(config, username, scopes, options_path, timeout)
    try:
        change = local_change(repo_dir, base, head)
    except GitRangeError as exc:
        fail(str(exc), EXIT_BAD_INPUT)
    outcome = asyncio.run(_check(config, registry, change, settings))
    if isinstance(outcome, str):
        fail(_one_line(outcome), EXIT_BAD_INPUT)
    click.echo(outcome.markdown)
    click.echo(f"Conclusion: {outcome.conclusion}", err=True)
    sys.exit(EXIT_FAILURE if outcome.conclusion not in ("success", "neutral") else 0)
