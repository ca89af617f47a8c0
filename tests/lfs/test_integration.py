"""GitLFS through the whole process: config, static identity, entry-point registry, flocks."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from mobu.config import Config
from mobu.events import Events
from mobu.factory import ProcessContext
from mobu.models.flock import FlockConfig
from mobu.models.solitary import SolitaryConfig
from mobu.platform.lfs import LfsServers, lfs_unavailable_reason
from mobu.services.builder import null_logger
from mobu.services.business.gitlfs import GitLfsCheck
from mobu.services.solitary import run_solitary

from .conftest import TOKEN

REASON = lfs_unavailable_reason()
pytestmark = [pytest.mark.lfs, pytest.mark.skipif(REASON is not None, reason=REASON or "")]

BOUND = 120.0


def config() -> Config:
    return Config(identity={"provider": "static", "default_token": TOKEN})


def business(servers: LfsServers) -> dict[str, Any]:
    return {
        "type": "GitLFS",
        "options": {
            "lfs_read_url": servers.lfs_read_url(),
            "lfs_write_url": servers.lfs_write_url(),
            "idle_time": "1h",
        },
    }


async def test_solitary_log_has_no_token(lfs_servers: LfsServers) -> None:
    """A solitary GitLFS run succeeds with the configured token, which its log never shows."""
    async with ProcessContext(config(), logger=null_logger(), events=Events()) as context:
        solitary = SolitaryConfig.model_validate(
            {"user": {"username": "bot-mobu-lfs1"}, "business": business(lfs_servers)}
        )
        async with asyncio.timeout(BOUND):
            result = await run_solitary(
                solitary, builder=context.builder, identity=context.identity
            )
    assert result.error is None
    assert result.success
    assert "Git-LFS check finished" in result.log
    assert TOKEN not in result.log


async def test_flock(lfs_servers: LfsServers) -> None:
    """Two monkeys check at once, each in its own temporary repositories."""
    events = Events()
    async with ProcessContext(config(), logger=null_logger(), events=events) as context:
        flock = FlockConfig.model_validate(
            {
                "name": "lfs",
                "count": 2,
                "user_spec": {"username_prefix": "bot-mobu-lfs"},
                "business": business(lfs_servers),
            }
        )
        await context.manager.start_flock(flock)
        assert events.recorder is not None
        async with asyncio.timeout(BOUND):
            published = await events.recorder.wait_for("git_lfs_check", 2)
    checks = [e for e in published if isinstance(e, GitLfsCheck)]
    assert [e.success for e in checks] == [True, True]
    assert {e.username for e in checks} == {"bot-mobu-lfs1", "bot-mobu-lfs2"}
    assert {e.flock for e in checks} == {"lfs"}
    assert len(list((lfs_servers.storage / "mobu" / "check").iterdir())) == 2
