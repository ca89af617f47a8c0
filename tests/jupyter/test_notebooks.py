"""Notebook selection (mobu.yaml, rules, required applications) and the repo cache."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import structlog

from mobu.models.repo import CollectionRule
from mobu.services.notebooks import (
    NotebookRepositoryError,
    find_notebooks,
    load_repo_config,
    read_code_cells,
)
from mobu.services.repo import RepoCache, RepoCloneError
from tests.jupyter.conftest import commit_file, make_git_repo
from tests.jupyter.notebooks import notebook

logger = structlog.get_logger("test")

EXAMPLES = Path(__file__).parents[2] / "examples" / "notebooks"


def _tree(root: Path) -> Path:
    files = {
        "a.ipynb": notebook("1"),
        "sub/b.ipynb": notebook("2"),
        "sub/deep/c.ipynb": notebook("3"),
        "other/d.ipynb": notebook("4", metadata={"mobu": {"required_applications": ["tap"]}}),
        ".ipynb_checkpoints/a-checkpoint.ipynb": notebook("5"),
        "readme.md": "not a notebook",
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def _find(root: Path, **kwargs: object) -> list[str]:
    args: dict[str, object] = {"exclude_dirs": [], "collection_rules": [], "applications": {"tap"}}
    args.update(kwargs)
    return [str(p) for p in find_notebooks(root, logger=logger, **args)]  # type: ignore[arg-type]


def test_all_notebooks_hidden_skipped(tmp_path: Path) -> None:
    """With no rules every notebook is found, except those in hidden directories."""
    root = _tree(tmp_path)
    assert _find(root) == ["a.ipynb", "other/d.ipynb", "sub/b.ipynb", "sub/deep/c.ipynb"]


def test_rules_in_order_only_remove(tmp_path: Path) -> None:
    """Collection rules apply in order, and each can only remove notebooks."""
    root = _tree(tmp_path)
    rules = [
        CollectionRule(type="intersect_union_of", patterns=["sub/**", "a.ipynb"]),
        CollectionRule(type="exclude_union_of", patterns=["sub/deep/*.ipynb"]),
        CollectionRule(type="intersect_union_of", patterns=["**/*.ipynb", "other/**"]),
    ]
    assert _find(root, collection_rules=rules) == ["a.ipynb", "sub/b.ipynb"]


def test_deprecated_exclude_dirs(tmp_path: Path) -> None:
    """The deprecated exclude_dirs setting still excludes whole directories."""
    root = _tree(tmp_path)
    assert _find(root, exclude_dirs=["sub", "other/"]) == ["a.ipynb"]


def test_required_applications(tmp_path: Path) -> None:
    """A notebook needing an application the platform lacks is skipped."""
    root = _tree(tmp_path)
    assert "other/d.ipynb" not in _find(root, applications=set())


def test_invalid_notebook_and_config(tmp_path: Path) -> None:
    """A broken notebook or mobu.yaml is a NotebookRepositoryError naming the file."""
    root = _tree(tmp_path)
    (root / "broken.ipynb").write_text("{not json")
    with pytest.raises(NotebookRepositoryError, match=r"Invalid notebook broken\.ipynb"):
        _find(root)
    (root / "mobu.yaml").write_text("collection_rules:\n  - type: keep_some\n    patterns: [x]\n")
    with pytest.raises(NotebookRepositoryError, match=r"Error parsing config file: mobu\.yaml"):
        load_repo_config(root)
    (root / "mobu.yaml").write_text("unknown_key: 1\n")
    with pytest.raises(NotebookRepositoryError, match=r"mobu\.yaml"):
        load_repo_config(root)


def test_code_cells_numbered_among_code_cells(tmp_path: Path) -> None:
    """Code cells are numbered among code cells only, with their source joined."""
    path = tmp_path / "n.ipynb"
    data = json.loads(notebook(("markdown", "# t"), "x = 1", ("markdown", "m"), "y"))
    data["cells"][3]["source"] = ["y = ", "2"]
    path.write_text(json.dumps(data))
    cells = read_code_cells(path)
    assert [(c.id, c.number, c.source) for c in cells] == [("c2", 1, "x = 1"), ("c4", 2, "y = 2")]


def test_examples_directory() -> None:
    """The example notebooks directory selects the expected notebooks."""
    config = load_repo_config(EXAMPLES)
    found = find_notebooks(
        EXAMPLES,
        exclude_dirs=config.exclude_dirs,
        collection_rules=config.collection_rules,
        applications=set(),
        logger=logger,
    )
    assert [str(p) for p in found] == ["compute.ipynb", "flaky.ipynb", "hello.ipynb"]


async def test_repo_cache_shares_and_reclones_once(tmp_path: Path) -> None:
    """The repo cache shares a clone per URL and ref and re-clones after invalidation."""
    origin = make_git_repo(tmp_path / "origin", {"a.ipynb": notebook("1")})
    cache = RepoCache(logger)
    try:
        first = await cache.acquire(str(origin), "main")
        second = await cache.acquire(f"file://{origin}", "main")
        third = await cache.acquire(str(origin), "main")
        assert third == first
        assert second.path != first.path
        assert cache.clones == 2
        assert (first.path / "a.ipynb").exists()
        commit_file(origin, "b.ipynb", notebook("2"))
        await cache.release(first, invalidate=True)
        await cache.release(third, invalidate=True)
        assert not first.path.exists()
        fresh = await cache.acquire(str(origin), "main")
        again = await cache.acquire(str(origin), "main")
        assert fresh == again
        assert fresh.hash != first.hash
        assert (fresh.path / "b.ipynb").exists()
        assert cache.clones == 3
    finally:
        await cache.aclose()
    assert not fresh.path.exists()


async def test_repo_cache_refs_and_errors(tmp_path: Path) -> None:
    """The repo cache checks out refs, reports clone errors, and uses a local dir as is."""
    origin = make_git_repo(tmp_path / "origin", {"a.ipynb": notebook("1")}, branch="prod")
    cache = RepoCache(logger)
    try:
        repo = await cache.acquire(str(origin), "prod")
        assert len(repo.hash) == 40
        with pytest.raises(RepoCloneError, match="git checkout failed") as info:
            await cache.acquire(str(origin), "no-such-ref")
        assert info.value.alert_context()["repo"] == str(origin)
        with pytest.raises(RepoCloneError, match="git clone failed"):
            await cache.acquire(str(tmp_path / "missing"), "main")
        plain = await cache.acquire(str(EXAMPLES), "ignored")
        assert plain.hash.startswith("local-")
        assert (plain.path / "mobu.yaml").exists()
    finally:
        await cache.aclose()
