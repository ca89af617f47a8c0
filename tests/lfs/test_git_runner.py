"""GitRunner: isolation from the caller's git config, errors, timeouts and killing."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import psutil
import pytest
from structlog.typing import FilteringBoundLogger

from mobu.storage.git import GitCommandError, GitRunner, GitTimeoutError

from .conftest import black_hole, group_members, survivors

BOUND = 60.0
SECRET = "s3cr3t-value-of-the-token"


def runner(logger: FilteringBoundLogger, timeout: float = 60) -> GitRunner:
    return GitRunner(timeout=timedelta(seconds=timeout), secrets=[SECRET], logger=logger)


async def test_environment_is_isolated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, logger: FilteringBoundLogger
) -> None:
    """Neither the caller's HOME config, system config nor GIT_* variables reach git."""
    outer = tmp_path / "outer"
    outer.mkdir()
    (outer / ".gitconfig").write_text("[user]\n\tname = leaked-from-home\n")
    monkeypatch.setenv("HOME", str(outer))
    monkeypatch.setenv("GIT_CONFIG_PARAMETERS", "'user.email'='leaked@env'")
    monkeypatch.setenv("GIT_AUTHOR_NAME", "leaked-author")
    home = tmp_path / "home"
    home.mkdir()
    (home / ".gitconfig").write_text("[user]\n\tname = Isolated\n\temail = isolated@example.com\n")
    git = runner(logger)
    result = await git.run("config", "--list", "--show-origin", cwd=tmp_path, home=home)
    assert "leaked" not in result.stdout
    assert "user.name=Isolated" in result.stdout
    var = await git.run("var", "GIT_AUTHOR_IDENT", cwd=tmp_path, home=home)
    assert var.stdout.startswith("Isolated <")


async def test_failure_carries_context_redacted(
    tmp_path: Path, logger: FilteringBoundLogger
) -> None:
    """A non-zero exit raises with rc, stdout, stderr and cwd, and the secret redacted."""
    home = tmp_path / "home"
    home.mkdir()
    git = runner(logger)
    await git.run("init", "-q", str(tmp_path / "repo"), cwd=tmp_path, home=home)
    with pytest.raises(GitCommandError) as excinfo:
        await git.run("show", SECRET, cwd=tmp_path / "repo", home=home)
    error = excinfo.value
    assert error.returncode == 128
    assert error.cwd == str(tmp_path / "repo")
    assert "<redacted>" in error.stderr
    assert SECRET not in str(error)
    assert SECRET not in repr(error.alert_context())
    assert error.command == "git show <redacted>"
    assert f"(cwd {tmp_path / 'repo'})" in str(error)


async def test_timeout_kills_process_group(tmp_path: Path, logger: FilteringBoundLogger) -> None:
    """A command past its timeout is killed with its children, and the error says so."""
    home = tmp_path / "home"
    home.mkdir()
    git = runner(logger, timeout=0.5)
    async with black_hole() as (port, _connected):
        url = f"http://127.0.0.1:{port}/repo.git"
        with pytest.raises(GitTimeoutError, match=r"timed out after 0\.5s and was killed"):
            async with asyncio.timeout(BOUND):
                await git.run("ls-remote", url, cwd=tmp_path, home=home)
    assert await survivors(set(git.spawned)) == []
    assert not any(psutil.pid_exists(pid) for pid in git.spawned)


async def test_cancel_kills_process_group(tmp_path: Path, logger: FilteringBoundLogger) -> None:
    """Cancelling the caller (a stop) kills git and its helpers before the cancel completes."""
    home = tmp_path / "home"
    home.mkdir()
    git = runner(logger)
    async with black_hole() as (port, connected):
        url = f"http://127.0.0.1:{port}/repo.git"
        task = asyncio.ensure_future(git.run("ls-remote", url, cwd=tmp_path, home=home))
        async with asyncio.timeout(BOUND):
            await connected.wait()
        assert group_members(set(git.spawned))
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert await survivors(set(git.spawned)) == []
