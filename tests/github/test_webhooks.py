"""The webhook routes with the GitHub stand-in: signatures, organisations, a neutral check."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from asgi_lifespan import LifespanManager

from mobu.config import Config
from mobu.github.refresh import ref_names, repo_key
from mobu.main import create_app
from tests.github.conftest import (
    CI_SECRET,
    REFRESH_SECRET,
    KeyPair,
    ci_app_config,
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
