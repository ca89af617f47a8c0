"""Fixtures of the observability tests: a process context with alert channels, local receivers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import pytest

from mobu.config import Config
from mobu.events import Events
from mobu.factory import ProcessContext
from mobu.models.flock import FlockConfig
from mobu.models.user import AuthenticatedUser, User
from mobu.registry import BusinessRegistry
from mobu.services.builder import null_logger
from mobu.services.business.empty import EmptyLoop
from mobu.services.business.httpcheck import HTTPCheck
from tests.observability.businesses import Flaky, Phased
from tests.observability.receivers import Receiver, run_receiver
from tests.support.target import Target, run_target

TOKEN = "gt-AbCdEfGhIjKlMnOpQrStUv.WxYz0123456789abcdefgh"  # a test token


class TokenIdentity:
    """Gives every monkey the same (fake) token, so redaction can be checked."""

    async def authenticate(self, users: list[User], scopes: list[str]) -> list[AuthenticatedUser]:
        return [AuthenticatedUser(username=u.username, scopes=scopes, token=TOKEN) for u in users]

    async def aclose(self) -> None:
        return None


def obs_registry() -> BusinessRegistry:
    """Built-in businesses plus Flaky and Phased."""
    return BusinessRegistry(
        {"EmptyLoop": EmptyLoop, "HTTPCheck": HTTPCheck, "Flaky": Flaky, "Phased": Phased}
    )


def flock(
    name: str,
    business: str,
    *,
    count: int = 1,
    restart: bool = False,
    **options: Any,
) -> FlockConfig:
    """A flock of ``count`` generated users."""
    return FlockConfig.model_validate(
        {
            "name": name,
            "count": count,
            "user_spec": {"username_prefix": f"bot-mobu-{name}"},
            "business": {"type": business, "options": options, "restart": restart},
        },
    )


@asynccontextmanager
async def process(**config: Any) -> AsyncIterator[ProcessContext]:
    """A running process context with in-memory events and a token identity."""
    settings = Config(log_monkeys_to_file=False, stop_grace=timedelta(seconds=1), **config)
    context = ProcessContext(
        settings,
        logger=null_logger(),
        registry=obs_registry(),
        events=Events(),
        identity=TokenIdentity(),
    )
    async with context:
        yield context


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """Local Slack webhook and Sentry envelope receiver."""
    async with run_receiver() as receiver:
        yield receiver


@pytest.fixture
async def target() -> AsyncIterator[Target]:
    """A real HTTP server on a free loopback port."""
    async with run_target() as target:
        yield target
