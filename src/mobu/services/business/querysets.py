"""Where query sets are found: the shipped ones, then under the configured ``query_set_dirs``.

A query set is asked for by a plain name (no ``/``, no ``..``), never by a path: an API caller
must not make mobu read, or tell about, files outside the directories the operator listed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import BaseModel, ValidationError

from mobu.exceptions import QuerySetError
from mobu.models.errors import format_errors
from mobu.yamlload import YamlLoadError, load_yaml_text

__all__ = [
    "QUERY_SET_NAME",
    "SHIPPED_ONLY",
    "QuerySetLocator",
    "check_query_set_name",
    "load_params",
]

ModelT = TypeVar("ModelT", bound=BaseModel)

QUERY_SET_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$"
"""A query set name: letters, digits, ``_``, ``.``, ``-``; no ``/``, no ``..``, at most 100."""

QuerySetKind = Literal["tap", "sia"]

_SHIPPED = {"tap": "querysets", "sia": "siaquerysets"}


def check_query_set_name(name: str) -> str:
    """Return ``name`` if it is a plain query set name.

    Raises
    ------
    ValueError
        A path, ``..``, or characters outside :data:`QUERY_SET_NAME` (the name is not quoted).
    """
    if not re.match(QUERY_SET_NAME, name) or ".." in name:
        raise ValueError(
            "a query set is a plain name (letters, digits, '_', '.', '-'; no '/' or '..'),"
            " of a shipped set or of one under the configured query_set_dirs"
        )
    return name


@dataclass(frozen=True, slots=True)
class QuerySetLocator:
    """Finds query sets by name: first the shipped ones, then under each of ``dirs`` in order.

    A TAP query set is a directory (``*.sql`` templates and ``params.yaml``); an SIA query set is
    a params file, ``<dir>/<name>`` itself or ``<dir>/<name>/params.yaml`` (the shipped layout).
    Every file used must resolve, symbolic links followed, inside the directory it was found
    under.
    """

    dirs: tuple[Path, ...] = ()

    @classmethod
    def from_dirs(cls, dirs: Iterable[Path]) -> QuerySetLocator:
        """Locator over the configured directories."""
        return cls(tuple(Path(d) for d in dirs))

    def shipped_root(self, kind: QuerySetKind) -> Path:
        """Directory of the query sets of ``kind`` shipped with mobu."""
        return Path(str(files("mobu").joinpath("data", _SHIPPED[kind])))

    def tap(self, name: str) -> Path:
        """Return the directory of TAP query set ``name``.

        Raises
        ------
        QuerySetError
            Not found (the same message whatever exists elsewhere), or incomplete.
        """
        for root in self._roots("tap"):
            directory = _inside(root, root / check_name(name))
            if directory is None or not directory.is_dir():
                continue
            templates = list(directory.glob("*.sql"))
            if not templates:
                raise QuerySetError(f"Query set {name!r} has no *.sql templates")
            if _inside(root, directory / "params.yaml") is None:
                raise QuerySetError(f"Query set {name!r} has no params.yaml")
            if any(_inside(root, t) is None for t in templates):
                raise QuerySetError(f"Query set {name!r} has a template outside its directory")
            return directory
        raise self._unknown("tap", name)

    def sia(self, name: str) -> Path:
        """Return the params file of SIA query set ``name``.

        Raises
        ------
        QuerySetError
            Not found (the same message whatever exists elsewhere).
        """
        for root in self._roots("sia"):
            for candidate in (root / check_name(name), root / name / "params.yaml"):
                path = _inside(root, candidate)
                if path is not None and path.is_file():
                    return path
        raise self._unknown("sia", name)

    def _roots(self, kind: QuerySetKind) -> list[Path]:
        return [self.shipped_root(kind), *self.dirs]

    def _unknown(self, kind: QuerySetKind, name: str) -> QuerySetError:
        shipped = self.shipped_root(kind)
        known = ", ".join(
            sorted(p.name for p in shipped.iterdir() if not p.name.startswith(("_", ".")))
        )
        where = " nor under the configured query_set_dirs" if self.dirs else ""
        label = "SIA query set" if kind == "sia" else "query set"
        return QuerySetError(f"Unknown {label} {name!r}: not a shipped set ({known}){where}")


SHIPPED_ONLY = QuerySetLocator()
"""The locator of a business built without configuration: the shipped sets only."""


def check_name(name: str) -> str:
    """Like :func:`check_query_set_name`, as a :class:`QuerySetError`."""
    try:
        return check_query_set_name(name)
    except ValueError as exc:
        raise QuerySetError(str(exc)) from None


def load_params(path: Path, model: type[ModelT]) -> ModelT:
    """Read the YAML params file ``path`` into ``model``.

    Raises
    ------
    ValueError
        Unreadable, not YAML or invalid. The message gives the file's name, a position and the
        reason, never the file's content (a YAML error would quote it).
    """
    try:
        raw = load_yaml_text(path.read_text(encoding="utf-8"), path.name)
    except (OSError, UnicodeDecodeError):
        raise ValueError(f"cannot read {path.name}") from None
    except YamlLoadError as exc:
        # Only the position: the loader's problem text may quote the file.
        cause = exc.__cause__
        mark = getattr(cause, "problem_mark", None) or getattr(cause, "context_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        raise ValueError(f"{path.name} is not valid YAML{where}") from None
    try:
        return model.model_validate(raw if raw is not None else {})
    except ValidationError as exc:
        reasons = "; ".join(format_errors(exc.errors()).splitlines())
        raise ValueError(f"invalid {path.name}: {reasons}") from None


def _inside(root: Path, path: Path) -> Path | None:
    """``path`` resolved (links followed) if it exists and lies strictly inside ``root``."""
    try:
        base = root.resolve(strict=True)
        resolved = path.resolve(strict=True)
    except OSError:
        return None
    if resolved == base or not resolved.is_relative_to(base):
        return None
    return resolved
