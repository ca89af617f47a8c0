"""Helpers shared by the commands: reading YAML specs, tables, errors."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

import click
import yaml
from pydantic import BaseModel

__all__ = ["EXIT_BAD_INPUT", "EXIT_FAILURE", "dump_json", "fail", "load_yaml", "table"]

EXIT_FAILURE = 1
"""The operation failed (business failure, server error, server unreachable)."""

EXIT_BAD_INPUT = 2
"""The input was invalid (bad spec, bad configuration, bad usage)."""


def fail(message: str, code: int = EXIT_FAILURE) -> NoReturn:
    """Print ``message`` to stderr and exit with ``code``."""
    click.echo(f"Error: {message}", err=True)
    sys.exit(code)


def load_yaml(path: Path) -> dict[str, Any]:
    """Read a YAML mapping; exit 2 with a message if it cannot be read or is not a mapping."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror}", EXIT_BAD_INPUT)
    except yaml.YAMLError as exc:
        fail(f"{path} is not valid YAML: {exc}", EXIT_BAD_INPUT)
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
