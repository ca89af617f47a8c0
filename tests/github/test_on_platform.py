"""Both apps against the real local JupyterHub and a git repository served over smart HTTP."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from mobu.github.ci import STOPPED
from mobu.github.notebookcheck import NO_NOTEBOOKS
from mobu.platform.hub import LocalHub
from tests.github.conftest import (
    CI_SECRET,
    REFRESH_SECRET,
    GitServer,
    KeyPair,
    check_suite_event,
    ci_app_config,
    git,
    pull_request_event,
    push_event,
    repository,
    signed,
)
from tests.github.standin import FakeGitHub
from tests.jupyter.conftest import commit_file, make_git_repo, needs_hub
from tests.jupyter.notebooks import notebook
from tests.jupyter.support import FAST, WatchedNotebookRunner, running, start, wait_until

pytestmark = [pytest.mark.jupyter, needs_hub]


def _publish(work: Path, server: GitServer, name: str, branch: str = "main") -> str:
    """Push ``work``'s ``branch`` to the served bare repository ``name``; return its head."""
    bare = server.root / f"{name}.git"
    if not bare.exists():
        subprocess.run(["git", "init", "-q", "--bare", str(bare)], check=True)
    subprocess.run(
        ["git", "-C", str(work), "push", "-q", "--force", str(bare), f"HEAD:refs/heads/{branch}"],
        check=True,
    )
    head = subprocess.run(
        ["git", "-C", str(work), "rev-parse", "HEAD"], check=True, capture_output=True, text=True
    )
    return head.stdout.strip()


async def test_ci_failure_names_cell(
    hub: LocalHub, github: FakeGitHub, key_pair: KeyPair, git_server: GitServer, tmp_path: Path
) -> None:
    """A PR changing a good and a failing notebook: the check fails, naming cell and error."""
    work = make_git_repo(
        tmp_path / "work",
        {
            "good.ipynb": notebook("print(6 * 7)"),
            "bad.ipynb": notebook("x = 1", "raise ValueError('boom in ci')"),
            "untouched.ipynb": notebook("raise SystemExit('must not run')"),
        },
    )
    sha = _publish(work, git_server, "nb")
    repo = repository("nb", git_server.url("nb"))
    github.pull_files[("lsst-sqre/nb", 3)] = [github.file("good.ipynb"), github.file("bad.ipynb")]
    ci = ci_app_config(github, key_pair, **FAST)
    async with running(hub, github_ci_app=ci) as (context, _events, _failures):
        body, headers = signed("pull_request", pull_request_event(repo, 3, sha), CI_SECRET)
        answer = await context.github.ci_webhook(headers, body)
        run_id = answer.check_run_id
        assert run_id is not None
        await github.wait_for(lambda: github.check_runs[run_id]["status"] == "completed")
    run = github.check_runs[run_id]
    assert github.statuses(run_id) == ["queued", "in_progress", "completed"]
    assert run["conclusion"] == "failure"
    summary = run["output"]["summary"]
    assert "`bad.ipynb`" in summary
    assert "c2 (#2)" in summary
    assert "raise ValueError('boom in ci')" in summary
    assert "ValueError: boom in ci" in summary
    assert "untouched.ipynb" not in summary
    progress = [
        s["output"]["summary"] for s in github.history[run_id] if s["status"] == "in_progress"
    ]
    assert any("Running these notebooks" in s and "good.ipynb" in s for s in progress)


async def test_ci_shutdown_cancels(
    hub: LocalHub, github: FakeGitHub, key_pair: KeyPair, git_server: GitServer, tmp_path: Path
) -> None:
    """Mobu stopping mid-run concludes the check cancelled, with the reference's message."""
    work = make_git_repo(
        tmp_path / "work", {"hang.ipynb": notebook("import time\ntime.sleep(10**6)")}
    )
    sha = _publish(work, git_server, "hang")
    repo = repository("hang", git_server.url("hang"))
    github.pull_files[("lsst-sqre/hang", 4)] = [github.file("hang.ipynb", status="added")]
    ci = ci_app_config(github, key_pair, **FAST)
    async with running(hub, github_ci_app=ci) as (context, _events, _failures):
        body, headers = signed("pull_request", pull_request_event(repo, 4, sha), CI_SECRET)
        run_id = (await context.github.ci_webhook(headers, body)).check_run_id
        assert run_id is not None

        def running_notebooks() -> bool:
            output = github.check_runs[run_id]["output"]
            return "Running these notebooks" in output.get("summary", "")

        await github.wait_for(running_notebooks)
    run = github.check_runs[run_id]
    assert run["status"] == "completed"
    assert run["conclusion"] == "cancelled"
    assert run["output"]["summary"] == STOPPED


async def test_newer_push_cancels_running_job(
    hub: LocalHub, github: FakeGitHub, key_pair: KeyPair, git_server: GitServer, tmp_path: Path
) -> None:
    """A second push to the PR cancels the running job (its check concludes cancelled, naming
    the new commit); the new job then runs to completion."""
    gate = tmp_path / "gate"
    wait = f"import os, time\nwhile not os.path.exists({str(gate)!r}):\n    time.sleep(0.2)"
    work = make_git_repo(tmp_path / "work", {"nb.ipynb": notebook(wait)})
    first = _publish(work, git_server, "push2")
    repo = repository("push2", git_server.url("push2"))
    github.pull_files[("lsst-sqre/push2", 5)] = [github.file("nb.ipynb")]
    ci = ci_app_config(github, key_pair, **FAST)
    try:
        async with running(hub, github_ci_app=ci) as (context, _events, _failures):
            event = pull_request_event(repo, 5, first)
            body, headers = signed("pull_request", event, CI_SECRET)
            old = (await context.github.ci_webhook(headers, body)).check_run_id
            assert old is not None

            def running_notebooks() -> bool:
                summary = github.check_runs[old]["output"].get("summary", "")
                return "Running these notebooks" in summary

            await github.wait_for(running_notebooks)
            commit_file(work, "nb.ipynb", notebook("print('fixed')"))
            second = _publish(work, git_server, "push2")
            event = pull_request_event(repo, 5, second, action="synchronize")
            body, headers = signed("pull_request", event, CI_SECRET)
            new = (await context.github.ci_webhook(headers, body)).check_run_id
            assert new is not None
            assert github.check_runs[old]["conclusion"] == "cancelled"
            await github.wait_for(lambda: github.check_runs[new]["status"] == "completed")
            assert context.github.ci is not None
            jobs = [(j.head_sha, j.conclusion) for j in context.github.ci.jobs()]
    finally:
        gate.write_text("go")
    assert github.statuses(old) == ["queued", "in_progress", "completed"]
    summary = github.check_runs[old]["output"]["summary"]
    assert summary == f"Superseded by a newer push ({second[:12]})."
    run = github.check_runs[new]
    assert (run["head_sha"], run["conclusion"]) == (second, "success")
    assert "| `nb.ipynb` | ✅ success |" in run["output"]["summary"]
    assert jobs == [(first, "cancelled"), (second, "success")]


async def test_check_suite_without_pr_compares(
    hub: LocalHub, github: FakeGitHub, key_pair: KeyPair, git_server: GitServer, tmp_path: Path
) -> None:
    """A check suite without a pull request checks its head: the commits since ``before``
    (no notebook changed: neutral), or without ``before`` since the default branch."""
    work = make_git_repo(
        tmp_path / "work",
        {"good.ipynb": notebook("print(1)"), "bad.ipynb": notebook("raise ValueError('no')")},
    )
    _publish(work, git_server, "suite")
    git(work, "checkout", "-q", "-b", "feature")
    commit_file(work, "good.ipynb", notebook("print(6 * 7)"))
    before = git(work, "rev-parse", "HEAD")
    commit_file(work, "docs.md", "notes")
    sha = _publish(work, git_server, "suite", "feature")
    github.repositories["lsst-sqre/suite"] = git_server.root / "suite.git"
    repo = repository("suite", git_server.url("suite"))
    ci = ci_app_config(github, key_pair, **FAST)
    runs = []
    async with running(hub, github_ci_app=ci) as (context, _events, _failures):
        for since in (before, None):
            event = check_suite_event(repo, sha, head_branch="feature", before=since)
            body, headers = signed("check_suite", event, CI_SECRET)
            run_id = (await context.github.ci_webhook(headers, body)).check_run_id
            assert run_id is not None
            run = github.check_runs[run_id]
            await github.wait_for(lambda run=run: run["status"] == "completed")
            runs.append(run)
    assert [r["head_sha"] for r in runs] == [sha, sha]
    assert (runs[0]["conclusion"], runs[0]["output"]["summary"]) == ("neutral", NO_NOTEBOOKS)
    assert runs[1]["conclusion"] == "success"
    assert "| `good.ipynb` | ✅ success |" in runs[1]["output"]["summary"]
    assert "bad.ipynb" not in runs[1]["output"]["summary"]
    compares = [c.path for c in github.calls if "/compare/" in c.path]
    assert compares == [
        f"/repos/lsst-sqre/suite/compare/{before}...{sha}",
        f"/repos/lsst-sqre/suite/compare/main...{sha}",
    ]


async def test_push_refreshes_matching_flock_once(
    hub: LocalHub, git_server: GitServer, tmp_path: Path
) -> None:
    """A burst of pushes to the flock's branch (with a slash) re-clones it exactly once."""
    gate = tmp_path / "gate"
    wait = f"import os, time\nwhile not os.path.exists({str(gate)!r}):\n    time.sleep(0.2)"
    work = make_git_repo(tmp_path / "work", {"wait.ipynb": notebook("1", wait)})
    branch = "tickets/DM-1"
    _publish(work, git_server, "flock", branch)
    refresh = {"acceptedGithubOrgs": ["lsst-sqre"], "webhookSecret": REFRESH_SECRET}
    options = {
        **FAST,
        "repo_url": git_server.url("flock"),
        "repo_ref": branch,
        "cell_timeout": None,
    }
    async with running(hub, github_refresh_app=refresh) as (context, events, failures):
        flock = await start(
            context,
            name="nb",
            count=1,
            users=[{"username": "bot-mobu-refresh"}],
            business={"type": "WatchedNotebookRunner", "options": options},
        )
        business = flock.monkeys[0].business
        assert isinstance(business, WatchedNotebookRunner)
        await business.wait_for_cell(2)
        assert context.repo_cache.clones == 1
        commit_file(work, "new.ipynb", notebook("print('new')"))
        after = _publish(work, git_server, "flock", branch)
        repo = repository("flock", git_server.url("flock").removesuffix(".git") + "/")
        for _ in range(3):
            body, headers = signed(
                "push", push_event(repo, f"refs/heads/{branch}", after), REFRESH_SECRET
            )
            answer = await context.github.refresh_webhook(headers, body)
            assert answer.refreshed == ["nb"]
        body, headers = signed("push", push_event(repo, "refs/heads/main", after), REFRESH_SECRET)
        assert (await context.github.refresh_webhook(headers, body)).refreshed == []
        gate.write_text("go")
        await wait_until(
            events,
            "notebook_execution",
            lambda found: any(getattr(e, "notebook", "") == "new.ipynb" for e in found),
        )
        assert context.repo_cache.clones == 2
        await context.manager.stop_flock("nb")
        assert failures.reports == []
