"""Everything mobu writes goes under ``data_dir``: one sub-directory per purpose."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from mobu.alerts.reporting import Reporters
from mobu.config import Config
from mobu.events import Events
from mobu.factory import ProcessContext
from mobu.models.business.config import BusinessConfig
from mobu.models.user import AuthenticatedUser
from mobu.paths import DataDirs, default_data_dir
from mobu.registry import BusinessRegistry
from mobu.services.builder import MonkeyBuilder, null_logger
from mobu.services.business.gitlfs import GitLFS
from mobu.services.resources import BusinessServices
from tests.lfs.conftest import black_hole
from tests.support.stopping import PATIENT_GRACE

BOUND = 60.0


def _git_repo(path: Path) -> Path:
    path.mkdir()
    (path / "hello.ipynb").write_text('{"cells": [], "metadata": {}, "nbformat": 4}\n')
    env = {"PATH": os.environ["PATH"], "HOME": str(path), "GIT_CONFIG_NOSYSTEM": "1"}
    for args in (
        ["init", "-q", "-b", "main"],
        ["add", "hello.ipynb"],
        ["-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "x"],
    ):
        subprocess.run(["git", *args], cwd=path, env=env, check=True)
    return path


def test_default_falls_back_to_temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With HOME and XDG_STATE_HOME unwritable the default is <TMPDIR>/mobu-<uid>."""
    if os.getuid() == 0:
        # root writes through permissions: a regular file where the state dir would go.
        blocker = tmp_path / "state-is-a-file"
        blocker.write_text("")
        monkeypatch.setenv("XDG_STATE_HOME", str(blocker))
    else:
        readonly = tmp_path / "ro"
        readonly.mkdir(mode=0o555)
        monkeypatch.setenv("XDG_STATE_HOME", str(readonly))
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setenv("TMPDIR", str(temp))
    monkeypatch.setattr("tempfile.tempdir", None)
    assert default_data_dir() == temp / f"mobu-{os.getuid()}"
    assert (temp / f"mobu-{os.getuid()}").is_dir()


def test_library_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """astropy's cache and config go under data_dir unless the operator set them."""
    monkeypatch.delenv("ASTROPY_CACHE_DIR", raising=False)
    monkeypatch.setenv("ASTROPY_CONFIG_DIR", "/operator/choice")
    dirs = DataDirs(tmp_path / "data")
    assert dirs.library_environment() == {"ASTROPY_CACHE_DIR": str(tmp_path / "data" / "cache")}
    assert (tmp_path / "data" / "cache").is_dir()
    assert ((tmp_path / "data" / "cache").stat().st_mode & 0o777) == 0o700


async def test_context_routes_logs_and_clones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Monkey logs and notebook clones of a process context live under data_dir, then go."""
    for name in ("ASTROPY_CACHE_DIR", "ASTROPY_CONFIG_DIR"):
        monkeypatch.delenv(name, raising=False)
    data = tmp_path / "data"
    repo = _git_repo(tmp_path / "notebooks")
    context = ProcessContext(Config(data_dir=data), logger=null_logger())
    assert context.log_directory is not None
    assert context.log_directory.path.parent == data / "logs"
    assert context.services.scratch_dir == data / "work"
    assert os.environ["ASTROPY_CACHE_DIR"] == str(data / "cache")
    async with context:
        clone = await context.repo_cache.acquire(str(repo), "main")
        assert clone.path.is_relative_to(data / "repos")
        assert (clone.path / "hello.ipynb").is_file()
        await context.repo_cache.release(clone)
    assert list((data / "repos").iterdir()) == []
    assert list((data / "logs").iterdir()) == []


@pytest.mark.skipif(shutil.which("git-lfs") is None, reason="git-lfs is not installed")
async def test_gitlfs_work_tree_in_scratch_dir(tmp_path: Path) -> None:
    """GitLFS makes its work tree under the bundle's scratch_dir and removes it after a stop."""
    scratch = tmp_path / "work"
    builder = MonkeyBuilder(
        registry=BusinessRegistry({"GitLFS": GitLFS}),
        services=BusinessServices(scratch_dir=scratch),
        events=Events(),
        reporters=Reporters(),
        logger=null_logger(),
        log_directory=None,
        stop_grace=PATIENT_GRACE,
    )
    async with black_hole() as (port, connected):
        url = f"http://127.0.0.1:{port}/mobu/check.git/info/lfs"
        config = BusinessConfig.model_validate(
            {"type": "GitLFS", "options": {"lfs_read_url": url, "lfs_write_url": url}}
        )
        user = AuthenticatedUser(username="bot-mobu-lfs", token="gt-scratch-test")
        monkey = builder.prepare(config, flock="f").build(user, name="bot-mobu-lfs")
        async with asyncio.TaskGroup() as tg:
            monkey.start(tg)
            async with asyncio.timeout(BOUND):
                await connected.wait()
            trees = [p.name for p in scratch.iterdir()]
            assert len(trees) == 1
            assert trees[0].startswith("mobu-gitlfs-")
            async with asyncio.timeout(BOUND):
                await monkey.stop()
    assert list(scratch.iterdir()) == []
