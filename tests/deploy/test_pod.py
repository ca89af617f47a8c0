"""mobu run as the reference's chart runs it: read-only filesystem, the chart's environment.

See :mod:`tests.deploy.pod` for how HOME and the working directory are made unwritable. The
first test uses only keys this project accepted before the reference's keys were added; the
other two need the reference-shaped configuration (``GET /`` as readiness probe, the chart's
camelCase keys).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.deploy.pod import STOP_TIMEOUT, Pod, isolation_unavailable, merge, run_pod

REASON = isolation_unavailable()
pytestmark = pytest.mark.skipif(REASON is not None, reason=REASON or "")

DATA = Path(__file__).parent / "data"
USER_HEADER = {"X-Auth-Request-User": "pod-test-admin"}
VALIDATION_ERRORS = ("InvalidOptionsError", "UnknownBusinessError", "ValidationError")


def notebook_repo(root: Path) -> Path:
    """A local git repository with one notebook (read-only to the pod, like any path)."""
    repo = root / "notebooks"
    repo.mkdir()
    notebook = {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    (repo / "hello.ipynb").write_text(json.dumps(notebook))
    env = {"PATH": os.environ["PATH"], "HOME": str(root), "GIT_CONFIG_NOSYSTEM": "1"}
    for args in (
        ["init", "-q", "-b", "prod"],
        ["add", "hello.ipynb"],
        ["-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "x"],
    ):
        subprocess.run(["git", *args], cwd=repo, env=env, check=True)
    return repo


def todays_config(repo: Path) -> dict[str, Any]:
    """A pod's configuration in keys the project has always accepted."""
    users = [{"username": "bot-mobu04", "uidnumber": 45695, "gidnumber": 1126}]
    return {
        "pathPrefix": "/mobu",
        "logging": {"profile": "production"},
        "auth": {"trust_header": "X-Auth-Request-User"},
        # The chart's MOBU_GAFAELFAWR_TOKEN would select the gafaelfawr provider, which cannot
        # reach Gafaelfawr here: a static identity lets these flocks run (and clone).
        "identity": {"provider": "static", "default_token": "pod-static-token"},
        "autostart": [
            {
                "name": "empty",
                "count": 2,
                "user_spec": {"username_prefix": "bot-mobu-empty"},
                "business": {"type": "EmptyLoop"},
            },
            {
                "name": "firefighter",
                "count": 1,
                "users": users,
                "scopes": ["exec:notebook"],
                "business": {
                    "type": "NotebookRunnerCounting",
                    "options": {"repo_url": str(repo), "repo_ref": "prod"},
                    "restart": True,
                },
            },
        ],
    }


def reference_config(repo: Path) -> dict[str, Any]:
    """The chart's defaults overlaid with the example deployment (its notebook repo local)."""
    chart = yaml.safe_load((DATA / "chart-values.yaml").read_text())
    example = yaml.safe_load((DATA / "example-deployment.yaml").read_text())
    config = merge(chart, example)
    firefighter = config["autostart"][0]
    assert firefighter["business"]["options"]["repo_url"].startswith("https://github.com/")
    firefighter["business"]["options"]["repo_url"] = str(repo)  # no network in tests
    return config


async def autostarted(pod: Pod, client: httpx.AsyncClient, names: list[str]) -> None:
    """Every autostart flock runs or failed to start for a reason other than validation."""
    r = await client.get(f"{pod.base_url}/mobu/summary", headers=USER_HEADER)
    assert r.status_code == 200, r.text
    summary = r.json()
    running = {f["name"] for f in summary["flocks"]}
    failed = {f["name"]: f["error"] for f in summary["autostart_failures"]}
    assert running | set(failed) == set(names), summary
    for name, error in failed.items():
        assert not error.startswith(VALIDATION_ERRORS), (name, error)


async def stop(pod: Pod) -> None:
    """SIGTERM: every flock stops and the process exits 0 (bounded by STOP_TIMEOUT)."""
    status = await pod.server.terminate(signal.SIGTERM)
    assert status == 0, pod.server.log
    assert "All flocks stopped" in pod.server.log


def wrote_only_under_tmp(pod: Pod, *, cloned: bool = True) -> None:
    """mobu's files were in TMPDIR (its data dir), none of them left; nothing else changed.

    ``cloned``: a notebook flock ran, so its clone directory was made (and emptied).
    """
    assert "Read-only file system" not in pod.server.log
    assert "Permission denied" not in pod.server.log
    data = pod.data_dir()
    assert data.is_dir(), sorted(p.name for p in pod.tmp.iterdir())
    history = {p.name for p in data.glob("history.sqlite3*")}  # kept on purpose (docs/history.md)
    purposes = {p.name for p in data.iterdir()} - history
    assert "history.sqlite3" in history
    assert ("repos" in purposes) is cloned, purposes
    assert purposes <= {"logs", "repos", "work", "cache", "config"}, purposes
    for purpose in purposes - {"cache", "config"}:
        assert list((data / purpose).iterdir()) == [], f"{purpose} left behind"
    assert sorted(p.name for p in pod.home.iterdir()) == []
    assert sorted(p.name for p in pod.workdir.iterdir()) == []


async def test_pod_read_only_todays_keys(tmp_path: Path) -> None:
    """Up with HOME and cwd read-only; flocks run; monkey logs under TMPDIR; SIGTERM → 0."""
    repo = notebook_repo(tmp_path)
    async with run_pod(tmp_path / "pod", todays_config(repo)) as pod:
        async with httpx.AsyncClient(timeout=30) as client:
            assert (await client.get(f"{pod.base_url}/health")).status_code == 200
            r = await client.get(f"{pod.base_url}/mobu/summary")
            assert r.status_code == 401, "behind the ingress: the user header is required"
            await autostarted(pod, client, ["empty", "firefighter"])
            r = await client.get(
                f"{pod.base_url}/mobu/flocks/empty/monkeys/bot-mobu-empty1/log",
                headers=USER_HEADER,
            )
            assert r.status_code == 200, r.text
        logs = list((pod.data_dir() / "logs").iterdir())
        assert len(logs) == 1, "one directory of this process"
        assert {p.name.split("--")[0] for p in logs[0].iterdir()} <= {"empty", "firefighter"}
        await stop(pod)
    assert "Traceback" not in pod.server.log, "monkeys log to their files, mobu logs no error"
    wrote_only_under_tmp(pod)


async def test_pod_clones_under_tmp(tmp_path: Path) -> None:
    """The notebook repository is cloned into TMPDIR's data dir, and removed at exit."""
    repo = notebook_repo(tmp_path)
    config = {**todays_config(repo), "logMonkeysToFile": False}
    async with run_pod(tmp_path / "pod", config) as pod:
        await pod.server.wait_for_output("Repository cloned and ready", timeout=STOP_TIMEOUT)
        clones = list((pod.data_dir() / "repos").iterdir())
        assert len(clones) == 1, "one directory of this process"
        assert [p.name for p in clones[0].iterdir()] == ["1"]
        assert (clones[0] / "1" / "hello.ipynb").is_file()
        await stop(pod)
    wrote_only_under_tmp(pod)


async def test_readiness_probe(tmp_path: Path) -> None:
    """GET / answers 200 with the metadata, without the ingress's header (the pod's probe)."""
    repo = notebook_repo(tmp_path)
    async with run_pod(tmp_path / "pod", todays_config(repo)) as pod:
        async with httpx.AsyncClient(timeout=30) as client:
            r = await client.get(f"{pod.base_url}/")
            assert r.status_code == 200, r.text
            body = r.json()
            assert body["name"] == "mobu"
            for key in ("version", "description", "repository_url", "documentation_url"):
                assert key in body, key
        await stop(pod)
    wrote_only_under_tmp(pod)


async def test_reference_example_deployment(tmp_path: Path) -> None:
    """The chart's defaults plus the example deployment (reference-deployment.md §5)."""
    repo = notebook_repo(tmp_path)
    async with run_pod(tmp_path / "pod", reference_config(repo)) as pod:
        async with httpx.AsyncClient(timeout=30) as client:
            assert (await client.get(f"{pod.base_url}/")).status_code == 200
            await autostarted(pod, client, ["firefighter", "tap"])
        await stop(pod)
    assert "Cannot mint a Gafaelfawr token" in pod.server.log, "the chart's identity, unreachable"
    wrote_only_under_tmp(pod, cloned=False)
