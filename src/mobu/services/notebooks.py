"""Finding the runnable notebooks of a repository: ``mobu.yaml`` rules and requirements.

Selection, in order: every ``**/*.ipynb`` under the repository (hidden directories such as
``.git`` and ``.ipynb_checkpoints`` skipped); then each collection rule (the flock's, followed
by the repository's ``mobu.yaml`` ones, then one ``exclude_union_of`` rule built from the
deprecated ``exclude_dirs``) keeps (``intersect_union_of``) or drops (``exclude_union_of``)
the notebooks matched by any of its glob patterns, relative to the repository root; finally
notebooks whose ``metadata.mobu.required_applications`` name an application the platform does
not have are dropped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from structlog.typing import FilteringBoundLogger

from mobu.exceptions import BusinessError
from mobu.models.repo import CollectionRule, RepoConfig
from mobu.yamlload import YamlLoadError, load_yaml_file

__all__ = [
    "CodeCell",
    "NotebookRepositoryError",
    "find_notebooks",
    "load_repo_config",
    "read_code_cells",
]

REPO_CONFIG_FILE = "mobu.yaml"


class NotebookRepositoryError(BusinessError):
    """The repository, its ``mobu.yaml`` or one of its notebooks is unusable."""


@dataclass(frozen=True, slots=True)
class CodeCell:
    """A code cell: its id (or number), its number among code cells, and its source."""

    id: str
    number: int
    source: str


def load_repo_config(root: Path) -> RepoConfig:
    """Read ``mobu.yaml`` at the repository root (defaults when absent).

    Raises
    ------
    NotebookRepositoryError
        The file is not valid YAML or breaks the schema.
    """
    path = root / REPO_CONFIG_FILE
    if not path.exists():
        return RepoConfig()
    try:
        data = load_yaml_file(path) or {}
        return RepoConfig.model_validate(data)
    except (YamlLoadError, ValidationError) as exc:
        raise NotebookRepositoryError(
            f"Error parsing config file: {REPO_CONFIG_FILE}: {exc}", file=REPO_CONFIG_FILE
        ) from exc


def _matches(root: Path, pattern: str, candidates: set[Path]) -> set[Path]:
    """Candidates matched by a glob pattern; a trailing ``**`` also matches files (3.13 rule)."""
    globbed = {p.relative_to(root) for p in root.glob(pattern)}
    if not pattern.endswith("**"):
        return globbed & candidates
    return {c for c in candidates if c in globbed or any(d in globbed for d in c.parents)}


def find_notebooks(
    root: Path,
    *,
    exclude_dirs: list[str],
    collection_rules: list[CollectionRule],
    applications: set[str],
    logger: FilteringBoundLogger,
) -> list[Path]:
    """Return the runnable notebooks, relative to ``root``, sorted.

    Raises
    ------
    NotebookRepositoryError
        A notebook's JSON cannot be read.
    """
    rules = list(collection_rules)
    if exclude_dirs:
        logger.warning(
            "exclude_dirs is deprecated; use collection_rules", exclude_dirs=exclude_dirs
        )
        rules.append(
            CollectionRule(
                type="exclude_union_of", patterns=[f"{d.rstrip('/')}/**" for d in exclude_dirs]
            )
        )
    found = {
        p.relative_to(root)
        for p in root.glob("**/*.ipynb")
        if not any(part.startswith(".") for part in p.relative_to(root).parts)
    }
    for rule in rules:
        matched: set[Path] = set()
        for pattern in rule.patterns:
            matched |= _matches(root, pattern, found)
        found = found & matched if rule.type == "intersect_union_of" else found - matched
    runnable = []
    for path in sorted(found):
        required = _required_applications(root / path)
        missing = sorted(set(required) - applications)
        if missing:
            logger.info(
                "Excluding notebook: required applications missing",
                notebook=str(path),
                required=required,
                missing=missing,
            )
            continue
        runnable.append(path)
    if not runnable:
        logger.warning("No notebooks to run after filtering!")
    return runnable


def _load(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise NotebookRepositoryError(
            f"Invalid notebook {path.name}: {exc}", notebook=str(path)
        ) from exc
    if not isinstance(data, dict):
        raise NotebookRepositoryError(f"Invalid notebook {path.name}: not a JSON object")
    return data


def _required_applications(path: Path) -> list[str]:
    metadata = _load(path).get("metadata") or {}
    mobu = metadata.get("mobu") if isinstance(metadata, dict) else None
    required = mobu.get("required_applications") if isinstance(mobu, dict) else None
    if required is None:
        return []
    if not isinstance(required, list):
        raise NotebookRepositoryError(
            f"Invalid notebook metadata {path.name}: required_applications is not a list"
        )
    return [str(r) for r in required]


def read_code_cells(path: Path) -> list[CodeCell]:
    """Return the code cells of a notebook, numbered from 1 among code cells.

    Raises
    ------
    NotebookRepositoryError
        The notebook cannot be read.
    """
    cells = _load(path).get("cells") or []
    out: list[CodeCell] = []
    for cell in cells:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        text = "".join(source) if isinstance(source, list) else str(source)
        number = len(out) + 1
        out.append(CodeCell(id=str(cell.get("id") or number), number=number, source=text))
    return out
