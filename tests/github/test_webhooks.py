"""The webhook routes with the GitHub stand-in: signatures, organisations, a neutral check."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import gidgethub
import httpx
import pytest
from asgi_lifespan import LifespanManager
from gidgethub.httpx import GitHubAPI

from mobu.config import Config
from mobu.github.checks import GitHubClients
from mobu.github.refresh import ref_names, repo_key
from mobu.main import create_app
from tests.github.conftest import (
    APP_ID,
    CI_SECRET,
    REFRESH_SECRET,
    KeyPair,
    check_run_event,
    ci_app_config,
    excluded_change,
    pull_request_event,
    push_event,
    repository,
    signed,
)
from tests.github.standin import FakeGitHub

SHA = "a" * 40


@asynccontextmanager
async def client(config: Config) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the app (its lifespan running)."""
    app = create_app(config)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://mobu") as c:
            yield c


@asynccontextmanager
async def run_client(github: FakeGitHub, key_pair: KeyPair) -> AsyncIterator[GitHubAPI]:
    """A client of the stand-in, authenticated as installation 42 of the app."""
    async with httpx.AsyncClient() as http:
        clients = GitHubClients(
            id=APP_ID, key=key_pair.private, name="test", http_client=http, base_url=github.url
        )
        yield await clients.installation(42)


def _config(github: FakeGitHub, key_pair: KeyPair, **extra: Any) -> Config:
    return Config(
        auth={"tokens": ["admin-token-0123"]},
        discovery={"environment_name": "idfdev"},
        github_refresh_app={"acceptedGithubOrgs": ["lsst-sqre"], "webhookSecret": REFRESH_SECRET},
        github_ci_app=ci_app_config(github, key_pair),
        **extra,
    )


def test_repo_key_normalises() -> None:
    """https, ssh and scp forms, case, .git and trailing slashes name the same repository."""
    forms = [
        "https://github.com/lsst-sqre/System-Test.git",
        "https://token:x@GitHub.com/lsst-sqre/system-test/",
        "ssh://git@github.com/lsst-sqre/system-test.git",
        "git@github.com:lsst-sqre/system-test.git",
        "git://github.com/lsst-sqre/system-test",
    ]
    assert {repo_key(f) for f in forms} == {"github.com/lsst-sqre/system-test"}
    assert repo_key("https://github.com/lsst-sqre/other") != repo_key(forms[0])
    assert ref_names("refs/heads/tickets/DM-1") == {"refs/heads/tickets/DM-1", "tickets/DM-1"}


async def test_signatures_and_orgs(github: FakeGitHub, key_pair: KeyPair) -> None:
    """A bad or missing signature is 401 and nothing happens; other orgs are ignored (200)."""
    repo = repository("notebooks", "https://github.com/lsst-sqre/notebooks.git")
    async with client(_config(github, key_pair)) as c:
        body, headers = signed("pull_request", pull_request_event(repo, 1, SHA), CI_SECRET)
        wrong = {**headers, "x-hub-signature-256": "sha256=" + "0" * 64}
        missing = {k: v for k, v in headers.items() if k != "x-hub-signature-256"}
        for bad in (wrong, missing):
            r = await c.post("/mobu/github/ci/webhook", content=body, headers=bad)
            assert r.status_code == 401
            assert r.json()["detail"][0]["type"] == "invalid_signature"
        other_secret, other_headers = signed("push", push_event(repo, "refs/heads/main", SHA), "x")
        r = await c.post(
            "/mobu/github/refresh/webhook", content=other_secret, headers=other_headers
        )
        assert r.status_code == 401
        assert github.calls == []
        stranger = repository("notebooks", "https://github.com/evil/notebooks.git", org="evil")
        body, headers = signed("pull_request", pull_request_event(stranger, 1, SHA), CI_SECRET)
        r = await c.post("/mobu/github/ci/webhook", content=body, headers=headers)
        assert r.status_code == 200
        assert r.json() == {"status": "ignored", "reason": "organisation not accepted"}
        assert github.calls == []
        r = await c.get("/mobu/github/ci/jobs")
        assert r.status_code == 401  # the job list is the API's: authenticated
        body, headers = signed("push", push_event(repo, "refs/heads/main", SHA), REFRESH_SECRET)
        r = await c.post("/mobu/github/refresh/webhook", content=body, headers=headers)
        assert r.status_code == 202
        assert r.json() == {"status": "accepted", "refreshed": []}


async def test_routes_absent_without_config(github: FakeGitHub, key_pair: KeyPair) -> None:
    """Without the config blocks the webhook routes do not exist."""
    async with client(Config()) as c:
        r = await c.post("/mobu/github/ci/webhook", content=b"{}")
        assert r.status_code == 404
        r = await c.post("/mobu/github/refresh/webhook", content=b"{}")
        assert r.status_code == 404


async def test_no_changed_notebooks_is_neutral(github: FakeGitHub, key_pair: KeyPair) -> None:
    """A PR changing no notebook: queued, in progress, then neutral "No changed notebooks"."""
    repo = repository("notebooks", "https://github.com/lsst-sqre/notebooks.git")
    github.pull_files[("lsst-sqre/notebooks", 7)] = [
        github.file(f"docs/page{i}.md") for i in range(35)
    ] + [github.file("old.ipynb", status="removed")]
    admin = {"authorization": "Bearer admin-token-0123"}
    async with client(_config(github, key_pair)) as c:
        body, headers = signed("pull_request", pull_request_event(repo, 7, SHA), CI_SECRET)
        r = await c.post("/mobu/github/ci/webhook", content=body, headers=headers)
        assert r.status_code == 202
        run_id = r.json()["check_run_id"]
        run = github.check_runs[run_id]
        assert run["name"] == "Mobu (idfdev)"
        assert run["head_sha"] == SHA
        await github.wait_for(lambda: github.check_runs[run_id]["status"] == "completed")
        assert github.statuses(run_id) == ["queued", "in_progress", "completed"]
        assert run["conclusion"] == "neutral"
        assert run["output"]["summary"] == "No changed notebooks to run."
        pages = [c.path for c in github.calls if c.path.endswith("/pulls/7/files")]
        assert len(pages) == 2  # the Link header's next page was followed
        r = await c.get("/mobu/github/ci/jobs", headers=admin)
        [job] = r.json()
        assert (job["state"], job["conclusion"], job["pull_number"]) == ("finished", "neutral", 7)
        summary = (await c.get("/mobu/summary", headers=admin)).json()
        assert summary["ci_manager"]["num_queued"] == 0
        assert summary["ci_manager"]["workers"][0]["num_processed"] == 1


async def test_check_run_rerequested(github: FakeGitHub, key_pair: KeyPair, tmp_path: Path) -> None:
    """Re-running mobu's check makes a new check run of the same commit: with its pull request
    the PR's files, without one a compare with the default branch; other checks are ignored."""
    work, sha = excluded_change(tmp_path / "work")
    github.repositories["lsst-sqre/notebooks"] = work / ".git"
    github.pull_files[("lsst-sqre/notebooks", 7)] = [
        github.file("skipped/new.ipynb", status="added"),
        github.file("old.ipynb", status="removed"),
    ]
    repo = repository("notebooks", str(work))
    async with client(_config(github, key_pair)) as c:
        body, headers = signed("check_run", check_run_event(repo, "Other CI", sha), CI_SECRET)
        r = await c.post("/mobu/github/ci/webhook", content=body, headers=headers)
        assert r.status_code == 200
        assert r.json()["status"] == "ignored"
        assert github.calls == []
        for pulls in ((7,), ()):
            event = check_run_event(repo, "Mobu (idfdev)", sha, pulls=pulls)
            body, headers = signed("check_run", event, CI_SECRET)
            r = await c.post("/mobu/github/ci/webhook", content=body, headers=headers)
            assert r.status_code == 202
            run_id = r.json()["check_run_id"]
            run = github.check_runs[run_id]
            await github.wait_for(lambda run=run: run["status"] == "completed")
            assert (run["head_sha"], run["conclusion"]) == (sha, "neutral")
            assert run["output"]["summary"] == "No changed notebooks to run."
            assert "`skipped/new.ipynb`" in run["output"]["text"]
            assert "old.ipynb" not in run["output"]["text"]
    gets = [call.path for call in github.calls if call.method == "GET"]
    assert gets == [
        "/repos/lsst-sqre/notebooks/pulls/7/files",
        f"/repos/lsst-sqre/notebooks/compare/main...{sha}",
    ]
    assert sorted(github.check_runs) == [1, 2]


async def test_compare_route_follows_github(
    github: FakeGitHub, key_pair: KeyPair, tmp_path: Path
) -> None:
    """The stand-in's compare answers in GitHub's shape (files from the merge base) and 404s."""
    work, sha = excluded_change(tmp_path / "work")
    github.repositories["lsst-sqre/notebooks"] = work / ".git"
    async with run_client(github, key_pair) as gh:
        data = await gh.getitem(f"/repos/lsst-sqre/notebooks/compare/main...{sha}")
        assert (data["status"], data["ahead_by"], data["behind_by"]) == ("ahead", 1, 0)
        files = {f["filename"]: f["status"] for f in data["files"]}
        assert files == {
            "docs/page.md": "modified",
            "old.ipynb": "removed",
            "skipped/new.ipynb": "added",
        }
        for missing in (f"main...{'f' * 40}", "main..feature", f"nosuch...{sha}"):
            with pytest.raises(gidgethub.BadRequest) as info:
                await gh.getitem(f"/repos/lsst-sqre/notebooks/compare/{missing}")
            assert info.value.status_code == 404
