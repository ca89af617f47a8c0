"""Muster against the reference Muster-protocol server, correct and broken."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
import structlog
from structlog.testing import CapturingLogger

from mobu.alerts.reporting import Reporters
from mobu.discovery import Discovery, DiscoveryConfig
from mobu.events import Events
from mobu.models.business.config import BusinessConfig
from mobu.models.monkey import MonkeyState
from mobu.models.user import AuthenticatedUser
from mobu.registry import BusinessRegistry
from mobu.services.builder import MonkeyBuilder, null_logger
from mobu.services.business.muster import (
    Muster,
    MusterError,
    MusterExecution,
    MusterOptions,
    MusterWebError,
)
from mobu.services.resources import BusinessServices
from mobu.testing.muster import RULES, run_muster_server
from tests.support.stopping import PATIENT_GRACE

from .conftest import IDENTITY, TOKEN, USER

BOUND = 30.0  # generous: these must finish, on however loaded a machine


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def make_muster(
    client: httpx.AsyncClient, url: str | None, events: Events, user: AuthenticatedUser = USER
) -> Muster:
    services = {"muster": url} if url else {}
    return Muster(
        options=MusterOptions(),
        user=user,
        events=events,
        logger=null_logger(),
        flock=None,
        discovery=Discovery(DiscoveryConfig.model_validate({"services": services})),
        http_client=client,
    )


async def test_success(client: httpx.AsyncClient) -> None:
    """Against a correct server all four checks pass and one successful event is published."""
    events = Events()
    async with run_muster_server({TOKEN: IDENTITY}) as server:
        muster = make_muster(client, server.url, events)
        async with asyncio.timeout(BOUND):
            await muster.run_once()
    assert events.recorder is not None
    (event,) = events.recorder.published("muster")
    assert isinstance(event, MusterExecution)
    assert event.success is True
    assert event.duration is not None
    assert muster.dump().model_dump()["last_failed_check"] is None


EXPECTED = {
    "anonymous": ("anonymous", "/anonymous with the token"),
    "auth-redirect": ("auth", "must redirect (302), got status 401"),
    "auth-challenge": ("auth", "WWW-Authenticate 'Basic realm"),
    "auth-bad-scheme": ("auth", "Token bogus' must be 400, got status 401"),
    "auth-username": ("auth", "bot-mobu-muster-impostor"),
    "quota-headers": ("quota", "'x-ratelimit-limit': '100'"),
    "quota-limit": ("quota", "second GET /auth/quota must be 429, got status 200"),
    "quota-retry-after": ("quota", "must send Retry-After"),
    "delegation": ("delegation", "/delegated/header must return the monkey's identity"),
}


def test_every_rule_is_tested() -> None:
    """Each breakable rule of the reference server has its expected failure here."""
    assert set(EXPECTED) == set(RULES)


@pytest.mark.parametrize("rule", sorted(EXPECTED))
async def test_broken_rule(client: httpx.AsyncClient, rule: str) -> None:
    """Each broken rule fails the right check with a message saying what came back."""
    check, detail = EXPECTED[rule]
    events = Events()
    async with run_muster_server({TOKEN: IDENTITY}, [rule]) as server:
        muster = make_muster(client, server.url, events)
        with pytest.raises(MusterError) as excinfo:
            async with asyncio.timeout(BOUND):
                await muster.run_once()
    message = str(excinfo.value)
    assert message.startswith(f"Muster check {check} failed: ")
    assert detail in message
    assert TOKEN not in message
    assert excinfo.value.context["check"] == check
    assert muster.dump().model_dump()["last_failed_check"] == check
    assert events.recorder is not None
    assert [e.success for e in events.recorder.published("muster")] == [False]  # type: ignore[attr-defined]


async def test_quota_used_up(client: httpx.AsyncClient) -> None:
    """A second iteration within the quota window fails the quota check (idle_time too short)."""
    async with run_muster_server({TOKEN: IDENTITY}) as server:
        muster = make_muster(client, server.url, Events())
        await muster.run_once()
        with pytest.raises(
            MusterError, match=r"first GET /auth/quota .* must be 200, got status 429"
        ):
            await muster.run_once()


async def test_wrong_token(client: httpx.AsyncClient) -> None:
    """A token the ingress does not know fails the first authenticated check."""
    user = USER.model_copy(update={"token": "not-a-known-token"})
    async with run_muster_server({TOKEN: IDENTITY}) as server:
        muster = make_muster(client, server.url, Events(), user)
        with pytest.raises(MusterError) as excinfo:
            await muster.run_once()
    assert "must be 200, got status 401" in str(excinfo.value)
    assert "not-a-known-token" not in str(excinfo.value)


async def test_not_configured(client: httpx.AsyncClient) -> None:
    """Without a muster URL in discovery, or without a token, startup says what is missing."""
    with pytest.raises(MusterError, match=r"service 'muster' is not in discovery\.services"):
        await make_muster(client, None, Events()).run_once()
    user = USER.model_copy(update={"token": None})
    with pytest.raises(MusterError, match="needs a token for bot-mobu-muster"):
        await make_muster(client, "http://127.0.0.1:1/", Events(), user).run_once()


async def test_server_down(client: httpx.AsyncClient) -> None:
    """A refused connection is a MusterWebError naming the check and URL."""
    async with run_muster_server({TOKEN: IDENTITY}) as server:
        url = server.url
    with pytest.raises(MusterWebError, match=r"Muster check anonymous: GET http://127\.0\.0\.1"):
        await make_muster(client, url, Events()).run_once()


@asynccontextmanager
async def hung_server() -> AsyncIterator[tuple[str, asyncio.Event]]:
    """Accepts connections and never answers; the event fires on the first request."""
    connected = asyncio.Event()
    writers: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        connected.set()

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/", connected
    finally:
        server.close()
        for writer in writers:
            writer.close()
        await server.wait_closed()


async def test_stop_while_hung() -> None:
    """A monkey whose Muster request hangs stops at once, without waiting for the timeout."""
    registry = BusinessRegistry({"Muster": Muster})
    capture = CapturingLogger()
    logger = structlog.wrap_logger(
        capture, wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG), processors=[]
    )
    async with hung_server() as (url, connected):
        discovery = Discovery(DiscoveryConfig.model_validate({"services": {"muster": url}}))
        services = BusinessServices(discovery=discovery)
        builder = MonkeyBuilder(
            registry=registry,
            services=services,
            events=Events(),
            reporters=Reporters(),
            logger=logger,
            log_directory=None,
            stop_grace=PATIENT_GRACE,  # only a business that stops itself beats BOUND
        )
        config = BusinessConfig.model_validate(
            {"type": "Muster", "options": {"request_timeout": "1h"}}
        )
        monkey = builder.prepare(config, flock="f").build(USER, name="bot-mobu-muster")
        async with asyncio.TaskGroup() as tg:
            monkey.start(tg)
            async with asyncio.timeout(BOUND):
                await connected.wait()
            async with asyncio.timeout(BOUND):
                await monkey.stop()
        assert monkey.state == MonkeyState.FINISHED
        assert monkey.business.failure_count == 0
        assert "did not stop within grace" not in repr(capture.calls), "stopped by itself"
    await services.aclose()


def test_options_reject_unknown() -> None:
    """Unknown options are a validation error naming the field."""
    with pytest.raises(ValueError, match="bogus"):
        MusterOptions.model_validate({"bogus": 1})


async def test_command_line(client: httpx.AsyncClient) -> None:
    """``python -m mobu.testing.muster --port 0 --break ...`` serves and stops on SIGTERM."""
    env = {**os.environ, "MOBU_MUSTER_TOKEN": TOKEN}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "mobu.testing.muster",
        "--port",
        "0",
        "--break",
        "quota-limit",
        "--username",
        "bot-mobu-muster",
        "--uid",
        "1042",
        "--group",
        "g_mobu:2001",
        stdout=subprocess.PIPE,
        env=env,
        start_new_session=True,
    )
    try:
        assert process.stdout is not None
        async with asyncio.timeout(BOUND):
            info = json.loads(await process.stdout.readline())
        assert info["broken"] == ["quota-limit"]
        response = await client.get(
            info["url"] + "delegated/header", headers={"Authorization": f"Bearer {TOKEN}"}
        )
        assert response.json() == {
            "username": "bot-mobu-muster",
            "name": None,
            "uid": 1042,
            "gid": 1042,
            "groups": [{"name": "g_mobu", "id": 2001}],
        }
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        async with asyncio.timeout(BOUND):
            assert await process.wait() == 0
