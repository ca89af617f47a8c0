"""Helpers shared by the commands: the error boundary, reading YAML specs, tables."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click
import httpx
from pydantic import BaseModel, ValidationError

from mobu.client import MobuClientError
from mobu.config import ConfigError, format_validation_error
from mobu.yamlload import YamlLoadError, load_yaml_file

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_FAILURE",
    "MobuGroup",
    "check_url",
    "debug_option",
    "dump_json",
    "fail",
    "load_yaml",
    "table",
]

F = TypeVar("F", bound=Callable[..., Any])

EXIT_FAILURE = 1
"""The operation failed (business failure, server error, server unreachable, a bug)."""

EXIT_BAD_INPUT = 2
"""The input was invalid (bad spec, bad configuration, bad usage, unusable path or address)."""

BAD_INPUT: tuple[type[Exception], ...] = (
    OSError,
    ValueError,  # includes UnicodeDecodeError, YamlLoadError and pydantic's ValidationError
    ConfigError,
    httpx.InvalidURL,
)
"""Exceptions that mean the input cannot be used: one ``Error:`` line and exit 2."""


def fail(message: str, code: int = EXIT_FAILURE) -> NoReturn:
    """Print ``message`` to stderr and exit with ``code``."""
    click.echo(f"Error: {message}", err=True)
    sys.exit(code)


def describe(exc: BaseException) -> str:
    """Describe an expected error in one line."""
    if isinstance(exc, OSError) and exc.strerror:
        names = [str(n) for n in (exc.filename, exc.filename2) if n is not None]
        return ": ".join([*names, exc.strerror])
    if isinstance(exc, ValidationError):
        return "invalid input: " + format_validation_error(exc).replace("\n", "; ")
    if isinstance(exc, httpx.InvalidURL):
        return f"invalid URL: {exc}"
    return " ".join(str(exc).split()) or type(exc).__name__


def debug_option(func: F) -> F:
    """Add ``--debug`` (``MOBU_DEBUG``): show the traceback of any error."""
    return click.option(
        "--debug",
        is_flag=True,
        envvar="MOBU_DEBUG",
        help="Show the traceback of an error  [env: MOBU_DEBUG]",
    )(func)


class MobuGroup(click.Group):
    """A command group whose commands never end in a traceback (unless ``--debug``).

    Expected errors (:data:`BAD_INPUT`: unreadable or unusable files and paths, invalid YAML,
    values or URLs) end with one ``Error:`` line and exit 2; a failed server call exits 1.
    Anything else is a bug: one ``Error:`` line naming the exception and pointing to
    ``--debug``, exit 1. click's own usage errors and exits pass through.
    """

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command inside the error boundary."""
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:
            if ctx.params.get("debug"):
                raise
            if isinstance(exc, MobuClientError):
                fail(describe(exc), EXIT_FAILURE)
            if isinstance(exc, BAD_INPUT):
                fail(describe(exc), EXIT_BAD_INPUT)
            fail(
                f"unexpected {type(exc).__name__}: {describe(exc)}"
                " (a bug; rerun with --debug for the traceback)",
                EXIT_FAILURE,
            )


def check_url(url: str, option: str = "--url") -> str:
    """Return ``url`` if it is an absolute http(s) URL; exit 2 with a message otherwise."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        fail(f"invalid {option} {url!r}: {exc}", EXIT_BAD_INPUT)
    if parsed.scheme not in ("http", "https") or not parsed.host:
        fail(f"invalid {option} {url!r}: not an http:// or https:// URL", EXIT_BAD_INPUT)
    if parsed.port is not None and parsed.port > 65535:
        fail(f"invalid {option} {url!r}: port {parsed.port} out of range", EXIT_BAD_INPUT)
    return url


def load_yaml(path: Path) -> dict[str, Any]:
    """Read a YAML mapping; exit 2 with a message if it cannot be read or is not a mapping."""
    try:
        data = load_yaml_file(path)
    except YamlLoadError as exc:
        fail(str(exc), EXIT_BAD_INPUT)
    if not isinstance(data, dict):
        fail(f"{path}: the top level must be a mapping", EXIT_BAD_INPUT)
    return data


def dump_json(data: BaseModel | Sequence[Any] | dict[str, Any]) -> str:
    """Render as indented JSON with sorted keys and no nulls."""
    if isinstance(data, BaseModel):
        data = data.model_dump(mode="json", exclude_none=True)
    elif isinstance(data, Sequence) and not isinstance(data, str):
        data = [
            d.model_dump(mode="json", exclude_none=True) if isinstance(d, BaseModel) else d
            for d in data
        ]
    return json.dumps(data, indent=4, sort_keys=True)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Render rows as a plain aligned text table."""
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in r] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
