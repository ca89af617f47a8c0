"""Fixtures for the API tests: the app with its lifespan, through an ASGI transport."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import timedelta
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from mobu.config import Config
from mobu.events import Events
from mobu.factory import ProcessContext
from mobu.main import create_app
from mobu.models.user import AuthenticatedUser, User
from mobu.registry import BusinessRegistry
from mobu.services.builder import null_logger
from mobu.services.identity import IdentityProvider

SECRET_TOKEN = "gt-very-secret-token-0123456789"  # a test token


class TokenIdentity:
    """An identity provider that hands every user the same token (stands in for Gafaelfawr)."""

    async def authenticate(self, users: list[User], scopes: list[str]) -> list[AuthenticatedUser]:
        return [
            AuthenticatedUser(
                username=u.username,
                uidnumber=u.uidnumber,
                gidnumber=u.gidnumber,
                groups=u.groups,
                scopes=scopes,
                token=SECRET_TOKEN,
            )
            for u in users
        ]

    async def aclose(self) -> None:
        return None


@asynccontextmanager
async def running_app(
    config: Config | None = None,
    *,
    registry: BusinessRegistry | None = None,
    events: Events | None = None,
    identity: IdentityProvider | None = None,
    headers: dict[str, str] | None = None,
) -> AsyncIterator[httpx.AsyncClient]:
    """Run the app (with its lifespan) and yield a client talking to it in-process."""
    config = config or Config(stop_grace=timedelta(seconds=1))
    context = ProcessContext(
        config, logger=null_logger(), registry=registry, events=events, identity=identity
    )
    app = create_app(config, context=context)
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=60) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver", headers=headers, timeout=60
        ) as client:
            yield client


AppFactory = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def app_factory() -> AppFactory:
    """Build and run an app with a given configuration."""
    return running_app


@pytest.fixture
async def client(events: Events) -> AsyncIterator[httpx.AsyncClient]:
    """Client of an app with the default configuration (prefix /mobu, no auth)."""
    async with running_app(events=events) as client:
        yield client


def flock_body(name: str = "test", count: int = 2, **business: Any) -> dict[str, Any]:
    """A flock of EmptyLoop monkeys from a user spec (or another business)."""
    return {
        "name": name,
        "count": count,
        "user_spec": {"username_prefix": "bot-mobu-testuser", "uid_start": 1000},
        "scopes": ["exec:notebook"],
        "business": business or {"type": "EmptyLoop", "options": {"idle_time": "10ms"}},
    }


@pytest.fixture
async def target_url(target: Any) -> str:
    """URL of the local HTTP target server (root conftest's ``target``)."""
    url: str = target.url
    return url
