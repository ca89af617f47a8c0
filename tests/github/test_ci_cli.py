"""``mobu ci REPO_DIR --base --head``: the CI app's check from a local git repository."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mobu.cli import mobu
from mobu.platform.hub import LocalHub
from tests.cli.conftest import invoke
from tests.github.conftest import excluded_change, git
from tests.jupyter.conftest import commit_file, make_git_repo, needs_hub
from tests.jupyter.notebooks import notebook
from tests.jupyter.support import FAST


def _write(path: Path, data: object) -> str:
    path.write_text(yaml.safe_dump(data))
    return str(path)


async def test_nothing_to_run_is_success(tmp_path: Path) -> None:
    """Only an excluded notebook added and one removed: the neutral summary, exit 0."""
    work, _ = excluded_change(tmp_path / "work")
    r = await invoke(mobu, ["ci", str(work), "--base", "main", "--head", "feature"])
    assert r.exit_code == 0, r.output
    assert r.stdout.startswith("No changed notebooks to run.\n")
    assert "- `skipped/new.ipynb`" in r.stdout
    assert "old.ipynb" not in r.stdout
    assert "Conclusion: neutral" in r.stderr
    r = await invoke(mobu, ["ci", str(work), "--base", "feature", "--head", "feature"])
    assert (r.exit_code, r.stdout) == (0, "No changed notebooks to run.\n")


async def test_bad_input(tmp_path: Path) -> None:
    """Unusable repository, refs, user, timeout, options or config: one line, exit 2."""
    work, _ = excluded_change(tmp_path / "work")
    plain = tmp_path / "plain"
    plain.mkdir()
    options = _write(tmp_path / "options.yaml", {"colour": "red"})
    config = _write(tmp_path / "config.yaml", {"no_such_key": 1})
    cases = {
        "is not a git work tree": [str(plain), "--base", "main"],
        "--base is not a commit": [str(work), "--base", "nosuch"],
        "--head must name a commit": [str(work), "--base", "main", "--head", "--upload-pack=x"],
        "--user: not a valid mobu username": [str(work), "--base", "main", "--user", "root"],
        "--timeout: not a duration": [str(work), "--base", "main", "--timeout", "soon"],
        "invalid NotebookRunnerList options": [str(work), "--base", "main", "--options", options],
        "no_such_key": [str(work), "--base", "main", "--config", config],
    }
    for message, args in cases.items():
        r = await invoke(mobu, ["ci", *args])
        assert r.exit_code == 2, (message, r.output)
        assert message in r.stderr
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr
        assert r.stdout == ""


@pytest.mark.jupyter
@needs_hub
async def test_on_the_hub(hub: LocalHub, tmp_path: Path) -> None:
    """A good notebook changed: exit 0; a failing one too: exit 1, its cell named (the
    good one ran before it or was not run: the run stops at its first failure)."""
    work = make_git_repo(
        tmp_path / "work",
        {
            "good.ipynb": notebook("print(1)"),
            "bad.ipynb": notebook("x = 1"),
            "untouched.ipynb": notebook("raise SystemExit('must not run')"),
        },
    )
    git(work, "checkout", "-q", "-b", "feature")
    commit_file(work, "good.ipynb", notebook("print(6 * 7)"))
    commit_file(work, "bad.ipynb", notebook("x = 1", "raise ValueError('boom in mobu ci')"))
    config = {
        "discovery": {"services": {"hub": hub.url}},
        "identity": {"provider": "jupyterhub", "admin_token": hub.admin_token},
    }
    args = [
        "ci",
        str(work),
        "--base",
        "main",
        "--config",
        _write(tmp_path / "mobu.yaml", config),
        "--options",
        _write(tmp_path / "options.yaml", FAST),
        "--user",
        "bot-mobu-ci-cli",
    ]
    r = await invoke(mobu, [*args, "--head", "feature~1"])
    assert r.exit_code == 0, r.output
    assert r.stdout.splitlines()[:3] == [
        "| Notebook | Result | Duration |",
        "| --- | --- | --- |",
        r.stdout.splitlines()[2],
    ]
    assert r.stdout.splitlines()[2].startswith("| `good.ipynb` | ✅ success | ")
    assert "Running these notebooks via Mobu:\n- `good.ipynb`" in r.stderr
    assert "Conclusion: success" in r.stderr
    r = await invoke(mobu, [*args, "--head", "feature"])
    assert r.exit_code == 1, r.output
    assert "| `bad.ipynb` | ❌ failure |" in r.stdout
    # The run stops at the first failure, and the notebooks run in no fixed order.
    assert "| `good.ipynb` | ✅ success |" in r.stdout or "| `good.ipynb` | not run |" in r.stdout
    assert "Failed in cell c2 (#2)." in r.stdout
    assert "raise ValueError('boom in mobu ci')" in r.stdout
    assert "ValueError: boom in mobu ci" in r.stdout
    assert "untouched.ipynb" not in r.output
    assert "Conclusion: failure" in r.stderr
