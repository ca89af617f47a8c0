"""GitLFS against real giftless and git-lfs on loopback ports."""

from __future__ import annotations

import asyncio
import hashlib
import socket
from typing import Any

import psutil
import pytest
from structlog.testing import CapturingLogger
from structlog.typing import FilteringBoundLogger

from mobu.alerts.reporting import Reporters
from mobu.events import Events
from mobu.models.business.config import BusinessConfig
from mobu.models.monkey import MonkeyState
from mobu.models.user import AuthenticatedUser
from mobu.platform.lfs import LfsServers, lfs_unavailable_reason
from mobu.registry import BusinessRegistry
from mobu.services.builder import MonkeyBuilder
from mobu.services.business.gitlfs import GitLFS, GitLfsCheck, GitLFSError, GitLFSOptions
from mobu.services.resources import BusinessServices
from mobu.storage.git import GitCommandError
from tests.support.stopping import PATIENT_GRACE

from .conftest import TOKEN, black_hole, group_members, survivors

REASON = lfs_unavailable_reason()
pytestmark = [pytest.mark.lfs, pytest.mark.skipif(REASON is not None, reason=REASON or "")]

USER = AuthenticatedUser(username="bot-mobu-lfs", token=TOKEN)
BOUND = 60.0  # generous: these must finish, on however loaded a machine


def make_business(
    events: Events, logger: FilteringBoundLogger, user: AuthenticatedUser = USER, **options: Any
) -> GitLFS:
    return GitLFS(
        options=GitLFSOptions.model_validate(options),
        user=user,
        events=events,
        logger=logger,
        flock=None,
    )


def logged_text(capture: CapturingLogger) -> str:
    return repr([(c.method_name, c.args, c.kwargs) for c in capture.calls])


async def test_round_trip(
    lfs_servers: LfsServers, logger: FilteringBoundLogger, capture: CapturingLogger
) -> None:
    """A push with the token stores the object in giftless and an anonymous clone reads it."""
    events = Events()
    business = make_business(
        events,
        logger,
        lfs_read_url=lfs_servers.lfs_read_url(),
        lfs_write_url=lfs_servers.lfs_write_url(),
    )
    async with asyncio.timeout(BOUND):
        await business.run_once()
    assert events.recorder is not None
    (event,) = events.recorder.published("git_lfs_check")
    assert isinstance(event, GitLfsCheck)
    assert event.success is True
    assert event.duration is not None
    assert event.username == "bot-mobu-lfs"
    stored = list((lfs_servers.storage / "mobu" / "check").iterdir())
    assert len(stored) == 1
    content = hashlib.sha256(stored[0].read_bytes()).hexdigest()
    assert stored[0].name == content, "giftless stores the object under its sha256"
    timings = business.dump().model_dump()["timings"]
    assert {"push LFS-tracked assets", "verify origin contents", "verify asset contents"} <= set(
        timings
    )
    assert TOKEN not in logged_text(capture)
    assert business.git.spawned
    assert all(not psutil.pid_exists(pid) for pid in business.git.spawned)


async def test_wrong_token(
    lfs_servers: LfsServers, logger: FilteringBoundLogger, capture: CapturingLogger
) -> None:
    """A token the LFS server rejects fails the push with git's message, without the token."""
    events = Events()
    bad = "wrong-token-" + TOKEN[::-1]
    business = make_business(
        events,
        logger,
        user=AuthenticatedUser(username="bot-mobu-lfs", token=bad),
        lfs_read_url=lfs_servers.lfs_read_url(),
        lfs_write_url=lfs_servers.lfs_write_url(),
    )
    with pytest.raises(GitLFSError, match="rejected the monkey's credentials") as excinfo:
        async with asyncio.timeout(BOUND):
            await business.run_once()
    error = excinfo.value
    assert isinstance(error.__cause__, GitCommandError)
    assert error.context["command"].startswith("git push")
    assert error.context["returncode"] not in (0, None)
    assert "credentials" in error.context["stderr"].lower()
    assert bad not in str(error)
    assert bad not in repr(error.alert_context())
    assert bad not in logged_text(capture)
    assert not list(lfs_servers.storage.rglob("*/*/*")), "nothing reached the LFS storage"
    assert events.recorder is not None
    (event,) = events.recorder.published("git_lfs_check")
    assert isinstance(event, GitLfsCheck)
    assert event.success is False
    assert event.duration is None


def closed_port() -> int:
    """A loopback port that nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_lfs_server_down(logger: FilteringBoundLogger) -> None:
    """With no LFS server listening, the push fails with a connection error."""
    port = closed_port()
    url = f"http://127.0.0.1:{port}/mobu/check.git/info/lfs"
    events = Events()
    business = make_business(events, logger, lfs_read_url=url, lfs_write_url=url)
    with pytest.raises(GitCommandError) as excinfo:
        async with asyncio.timeout(BOUND):
            await business.run_once()
    assert excinfo.value.command.startswith("git push")
    assert str(port) in excinfo.value.stderr
    assert TOKEN not in str(excinfo.value)
    assert events.recorder is not None
    assert [e.success for e in events.recorder.published("git_lfs_check")] == [False]  # type: ignore[attr-defined]


async def test_stop_during_push(logger: FilteringBoundLogger, capture: CapturingLogger) -> None:
    """Stopping while git-lfs waits on a hung LFS server kills git and its children at once."""
    registry = BusinessRegistry({"GitLFS": GitLFS})
    builder = MonkeyBuilder(
        registry=registry,
        services=BusinessServices(),
        events=Events(),
        reporters=Reporters(),
        logger=logger,
        log_directory=None,
        stop_grace=PATIENT_GRACE,  # only a business that stops itself beats BOUND
    )
    async with black_hole() as (port, connected):
        url = f"http://127.0.0.1:{port}/mobu/check.git/info/lfs"
        config = BusinessConfig.model_validate(
            {"type": "GitLFS", "options": {"lfs_read_url": url, "lfs_write_url": url}}
        )
        monkey = builder.prepare(config, flock="f").build(USER, name="bot-mobu-lfs")
        business = monkey.business
        assert isinstance(business, GitLFS)
        async with asyncio.TaskGroup() as tg:
            monkey.start(tg)
            async with asyncio.timeout(BOUND):
                await connected.wait()
            pgids = set(business.git.spawned)
            assert group_members(pgids), "git push is running"
            async with asyncio.timeout(BOUND):
                await monkey.stop()
        assert monkey.state == MonkeyState.FINISHED
        assert business.stopping
        assert await survivors(pgids) == []
        assert business.failure_count == 0
        assert "did not stop within grace" not in logged_text(capture), "stopped by itself"
