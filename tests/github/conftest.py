"""Fixtures of the GitHub app tests: an app key pair, the GitHub stand-in, signed deliveries."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import subprocess
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.github.standin import FakeGitHub, run_fake_github
from tests.jupyter.conftest import (
    hub,  # noqa: F401 - the session's JupyterHub
    make_git_repo,
)
from tests.jupyter.notebooks import notebook

APP_ID = 123456
CI_SECRET = "ci-webhook-secret-7f3a"
REFRESH_SECRET = "refresh-webhook-secret-1b2c"
ORG = "lsst-sqre"


@dataclass(frozen=True)
class KeyPair:
    """The GitHub App's RSA key pair (PEM)."""

    private: str
    public: str


@pytest.fixture(scope="session")
def key_pair() -> KeyPair:
    """A fresh 2048-bit RSA key pair."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return KeyPair(private=private, public=public)


@pytest.fixture
async def github(key_pair: KeyPair) -> AsyncIterator[FakeGitHub]:
    """The GitHub stand-in on a free port."""
    async with run_fake_github(APP_ID, key_pair.public) as fake:
        yield fake


def ci_app_config(github: FakeGitHub, key_pair: KeyPair, **options: Any) -> dict[str, Any]:
    """A ``githubCiApp`` block (camelCase keys, as in the reference's configuration)."""
    return {
        "acceptedGithubOrgs": [ORG],
        "id": APP_ID,
        "privateKey": key_pair.private,
        "webhookSecret": CI_SECRET,
        "users": [{"username": "bot-mobu-ci-1"}],
        "scopes": ["exec:notebook"],
        "apiUrl": github.url,
        "options": options,
    }


def signed(event: str, payload: dict[str, Any], secret: str) -> tuple[bytes, dict[str, str]]:
    """Body and headers of a delivery signed as GitHub signs it (HMAC-SHA256 of the body)."""
    body = json.dumps(payload).encode()
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    headers = {
        "content-type": "application/json",
        "x-github-event": event,
        "x-github-delivery": secrets.token_hex(16),
        "x-hub-signature-256": f"sha256={digest}",
        "user-agent": "GitHub-Hookshot/test",
    }
    return body, headers


def repository(name: str, clone_url: str, org: str = ORG) -> dict[str, Any]:
    """A webhook ``repository`` object (the fields GitHub always sends that mobu reads)."""
    html = f"https://github.com/{org}/{name}"
    api = f"https://api.github.com/repos/{org}/{name}"
    return {
        "id": 1296269,
        "name": name,
        "full_name": f"{org}/{name}",
        "private": False,
        "owner": {"login": org, "id": 1, "type": "Organization"},
        "html_url": html,
        "url": api,
        "default_branch": "main",
        "branches_url": f"{api}/branches{{/branch}}",
        "contents_url": f"{api}/contents/{{+path}}",
        "trees_url": f"{api}/git/trees{{/sha}}",
        "blobs_url": f"{api}/git/blobs{{/sha}}",
        "clone_url": clone_url,
        "git_url": f"git://github.com/{org}/{name}.git",
        "ssh_url": f"git@github.com:{org}/{name}.git",
    }


def pull_request_event(
    repo: dict[str, Any], number: int, head_sha: str, action: str = "opened"
) -> dict[str, Any]:
    """A ``pull_request`` delivery payload."""
    user = {
        "login": "octocat",
        "id": 2,
        "html_url": "https://github.com/octocat",
        "url": "https://api.github.com/users/octocat",
        "avatar_url": "https://avatars.githubusercontent.com/u/2",
    }
    return {
        "action": action,
        "number": number,
        "pull_request": {
            "url": f"{repo['url']}/pulls/{number}",
            "html_url": f"{repo['html_url']}/pull/{number}",
            "number": number,
            "title": "Change notebooks",
            "state": "open",
            "draft": False,
            "merged": False,
            "user": user,
            "head": {"sha": head_sha, "ref": "tickets/DM-1", "label": "lsst-sqre:tickets/DM-1"},
            "base": {"sha": "0" * 40, "ref": "main", "label": "lsst-sqre:main"},
        },
        "repository": repo,
        "organization": {"login": repo["owner"]["login"], "id": 1},
        "installation": {"id": 42, "node_id": "MDIz"},
        "sender": user,
    }


def push_event(repo: dict[str, Any], ref: str, after: str) -> dict[str, Any]:
    """A ``push`` delivery payload."""
    return {
        "ref": ref,
        "before": "0" * 40,
        "after": after,
        "repository": repo,
        "organization": {"login": repo["owner"]["login"], "id": 1},
        "installation": {"id": 42},
        "pusher": {"name": "octocat", "email": "octocat@example.org"},
        "commits": [],
    }


@dataclass
class GitServer:
    """mobu's smart-HTTP git server (``mobu.platform.githttp``) on a free port, in a thread."""

    root: Any
    port: int

    def url(self, name: str) -> str:
        """Clone URL of the bare repository ``name``."""
        return f"http://127.0.0.1:{self.port}/{name}.git"


@pytest.fixture
def git_server(tmp_path: Any) -> Iterator[GitServer]:
    """Serves the bare repositories under a temporary directory."""
    from mobu.platform.githttp import git_http_app

    root = tmp_path / "served"
    root.mkdir()
    server = make_server("127.0.0.1", 0, git_http_app(root, "push-token"), _ThreadingServer, _Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield GitServer(root=root, port=server.server_address[1])
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Do not log each request."""


def _pr_info(repo: dict[str, Any], number: int, head_sha: str) -> dict[str, Any]:
    """A pull request as a check suite or run lists it."""
    return {
        "url": f"{repo['url']}/pulls/{number}",
        "id": 1000 + number,
        "number": number,
        "head": {"ref": "tickets/DM-1", "sha": head_sha, "repo": {"id": repo["id"]}},
        "base": {"ref": repo["default_branch"], "sha": "0" * 40, "repo": {"id": repo["id"]}},
    }


def check_suite_event(
    repo: dict[str, Any],
    head_sha: str,
    *,
    head_branch: str = "tickets/DM-1",
    before: str | None = None,
    pulls: tuple[int, ...] = (),
    action: str = "requested",
) -> dict[str, Any]:
    """A ``check_suite`` delivery payload (``before`` is null for a branch's first push)."""
    return {
        "action": action,
        "check_suite": {
            "id": 5000,
            "node_id": "MDEwOkNoZWNrU3VpdGU1",
            "head_branch": head_branch,
            "head_sha": head_sha,
            "status": "queued",
            "conclusion": None,
            "url": f"{repo['url']}/check-suites/5000",
            "before": before,
            "after": head_sha,
            "pull_requests": [_pr_info(repo, n, head_sha) for n in pulls],
            "app": {"id": APP_ID, "slug": "mobu-ci"},
        },
        "repository": repo,
        "organization": {"login": repo["owner"]["login"], "id": 1},
        "installation": {"id": 42, "node_id": "MDIz"},
        "sender": {"login": "octocat", "id": 2},
    }


def check_run_event(
    repo: dict[str, Any], name: str, head_sha: str, *, pulls: tuple[int, ...] = ()
) -> dict[str, Any]:
    """A ``check_run`` ``rerequested`` delivery payload (someone pressed "Re-run")."""
    suite = check_suite_event(repo, head_sha, pulls=pulls)["check_suite"]
    return {
        "action": "rerequested",
        "check_run": {
            "id": 9000,
            "node_id": "MDg6Q2hlY2tSdW45MDAw",
            "name": name,
            "head_sha": head_sha,
            "external_id": "1",
            "status": "completed",
            "conclusion": "failure",
            "url": f"{repo['url']}/check-runs/9000",
            "html_url": f"{repo['html_url']}/runs/9000",
            "details_url": f"{repo['html_url']}/runs/9000",
            "started_at": "2024-01-01T00:00:00Z",
            "completed_at": "2024-01-01T00:01:00Z",
            "output": {"title": name, "summary": "failed", "text": None, "annotations_count": 0},
            "check_suite": {**suite, "status": "completed", "conclusion": "failure"},
            "app": {"id": APP_ID, "slug": "mobu-ci"},
            "pull_requests": [_pr_info(repo, n, head_sha) for n in pulls],
        },
        "repository": repo,
        "organization": {"login": repo["owner"]["login"], "id": 1},
        "installation": {"id": 42, "node_id": "MDIz"},
        "sender": {"login": "octocat", "id": 2},
    }


def git(work: Path, *args: str) -> str:
    """Run git in ``work`` (as a fixed committer); its output, stripped."""
    command = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", "-C", str(work)]
    done = subprocess.run([*command, *args], check=True, capture_output=True, text=True)
    return done.stdout.strip()


EXCLUDING = "collection_rules:\n  - type: exclude_union_of\n    patterns: ['skipped/**']\n"
"""A ``mobu.yaml`` that drops the notebooks under ``skipped/``."""


def excluded_change(path: Path) -> tuple[Path, str]:
    """A repository whose checked-out branch ``feature`` adds a notebook its ``mobu.yaml``
    excludes, removes ``old.ipynb`` and changes a page; returns it and the feature's head."""
    work = make_git_repo(
        path,
        {"mobu.yaml": EXCLUDING, "old.ipynb": notebook("1"), "docs/page.md": "one"},
    )
    git(work, "checkout", "-q", "-b", "feature")
    (work / "skipped").mkdir()
    (work / "skipped" / "new.ipynb").write_text(notebook("raise SystemExit('must not run')"))
    (work / "docs" / "page.md").write_text("two")
    git(work, "rm", "-q", "old.ipynb")
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "feature")
    return work, git(work, "rev-parse", "HEAD")
