"""Fixtures for the API tests: the app with its lifespan, through an ASGI transport."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from mobu.config import Config
from mobu.events import Events
from mobu.factory import ProcessContext
from mobu.identity import IdentityProvider
from mobu.main import create_app
from mobu.models.user import AuthenticatedUser, User
from mobu.registry import BusinessRegistry
from mobu.services.builder import null_logger

SECRET_TOKEN = "gt-very-secret-token-0123456789"  # a test token

PLANTED_SECRET = "planted-secret-5d1c0e7a"
"""Put in test files, configurations and tokens; no 4xx response body may ever contain it."""


async def refuse_echoed_secrets(response: httpx.Response) -> None:
    """Response hook of every test client: a 4xx body holding a planted secret fails the test."""
    if not 400 <= response.status_code < 500:
        return
    body = (await response.aread()).decode("utf-8", "replace")
    for secret in (PLANTED_SECRET, SECRET_TOKEN):
        assert secret not in body, f"{response.request.url.path}: a 4xx body echoes a secret"


EVENT_HOOKS = {"response": [refuse_echoed_secrets]}


@dataclass(frozen=True)
class Planted:
    """Files holding :data:`PLANTED_SECRET`.

    Attributes
    ----------
    secret_file
        A text file.
    config_file
        A mobu configuration whose admin token and static user token are the secret.
    query_set_dirs
        A configured query set directory: TAP set ``mine`` and SIA set ``sia.yaml`` (both
        valid, the secret in a comment), SIA set ``bad.yaml`` (the secret as the value of an
        unknown key).
    """

    secret_file: Path
    config_file: Path
    query_set_dirs: Path


@pytest.fixture(scope="session")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Planted:
    """The files holding the planted secret."""
    from mobu.services.business.tapquerysetrunner import resolve_query_set

    root = tmp_path_factory.mktemp("planted")
    secret_file = root / "secret.txt"
    secret_file.write_text(f"password = {PLANTED_SECRET}\n")
    config_file = root / "mobu.yaml"
    config_file.write_text(
        f"auth:\n  tokens: [{PLANTED_SECRET}]\n"
        f"identity:\n  provider: static\n  tokens: {{bot-mobu-a: {PLANTED_SECRET}}}\n"
    )
    sets = root / "querysets"
    (sets / "mine").mkdir(parents=True)
    shutil.copy(resolve_query_set("demo") / "params.yaml", sets / "mine" / "params.yaml")
    (sets / "mine" / "one.sql").write_text(f"{{# {PLANTED_SECRET} #}}SELECT 1 AS n\n")
    (sets / "sia.yaml").write_text(f"# {PLANTED_SECRET}\nmin_ra: 60\n")
    (sets / "bad.yaml").write_text(f"min_ra: 60\nsurprise: {PLANTED_SECRET}\n")
    return Planted(secret_file=secret_file, config_file=config_file, query_set_dirs=sets)


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
            transport=transport,
            base_url="http://testserver",
            headers=headers,
            timeout=60,
            event_hooks=EVENT_HOOKS,
        ) as client:
            yield client


AppFactory = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def app_factory() -> AppFactory:
    """Build and run an app with a given configuration."""
    return running_app


@pytest.fixture
async def client(events: Events, planted: Planted) -> AsyncIterator[httpx.AsyncClient]:
    """Client of an app with the default configuration (prefix /mobu, no auth).

    Its ``query_set_dirs`` is the planted query set directory.
    """
    config = Config(stop_grace=timedelta(seconds=1), query_set_dirs=[planted.query_set_dirs])
    async with running_app(config, events=events) as client:
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
