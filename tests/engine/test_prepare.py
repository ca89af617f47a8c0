"""A business is prepared once per flock, before any user is authenticated."""

from __future__ import annotations

from typing import Any

import pytest
from structlog.typing import FilteringBoundLogger

from mobu.alerts.reporting import Reporters
from mobu.discovery import Discovery
from mobu.events import Events
from mobu.exceptions import (
    BusinessDefinitionError,
    InvalidOptionsError,
    MissingServiceError,
    UnknownBusinessError,
)
from mobu.identity import AnonymousIdentity
from mobu.models.business.base import BusinessOptions
from mobu.models.flock import FlockConfig
from mobu.models.solitary import SolitaryConfig
from mobu.models.user import AuthenticatedUser, User
from mobu.registry import BusinessRegistry
from mobu.services.builder import MonkeyBuilder, null_logger
from mobu.services.business.empty import EmptyLoop
from mobu.services.manager import FlockManager
from mobu.services.resources import COLLABORATORS, BusinessServices
from mobu.services.solitary import run_solitary


class NeedsDiscovery(EmptyLoop):
    """An EmptyLoop that asks for service discovery."""

    def __init__(
        self,
        *,
        options: BusinessOptions,
        user: AuthenticatedUser,
        events: Events,
        logger: FilteringBoundLogger,
        flock: str | None,
        discovery: Discovery,
    ) -> None:
        super().__init__(options=options, user=user, events=events, logger=logger, flock=flock)
        self.discovery = discovery


class MaybeDiscovery(EmptyLoop):
    """An EmptyLoop that can do without service discovery."""

    def __init__(
        self,
        *,
        options: BusinessOptions,
        user: AuthenticatedUser,
        events: Events,
        logger: FilteringBoundLogger,
        flock: str | None,
        discovery: Discovery | None = None,
    ) -> None:
        super().__init__(options=options, user=user, events=events, logger=logger, flock=flock)
        self.discovery = discovery


class Typo(EmptyLoop):
    """Asks for a collaborator that does not exist (``http_clinet``)."""

    def __init__(self, *, http_clinet: object, **base: Any) -> None:
        super().__init__(**base)


class RecordingIdentity(AnonymousIdentity):
    """Records every authentication it is asked for."""

    def __init__(self) -> None:
        self.asked: list[list[str]] = []

    async def authenticate(self, users: list[User], scopes: list[str]) -> list[AuthenticatedUser]:
        self.asked.append([u.username for u in users])
        return await super().authenticate(users, scopes)


def builder_for(services: BusinessServices) -> MonkeyBuilder:
    """A builder for the test businesses with ``services``."""
    registry = BusinessRegistry(
        {"EmptyLoop": EmptyLoop, "NeedsDiscovery": NeedsDiscovery, "MaybeDiscovery": MaybeDiscovery}
    )
    return MonkeyBuilder(
        registry=registry,
        services=services,
        events=Events(),
        reporters=Reporters(),
        logger=null_logger(),
        log_directory=None,
    )


def flock(business: dict[str, Any], count: int = 3) -> FlockConfig:
    """A flock of ``count`` generated users running ``business``."""
    return FlockConfig.model_validate(
        {
            "name": "f",
            "count": count,
            "user_spec": {"username_prefix": "bot-mobu-p"},
            "business": business,
        }
    )


@pytest.mark.parametrize(
    ("business", "error"),
    [
        ({"type": "NeedsDiscovery"}, MissingServiceError),
        ({"type": "Nope"}, UnknownBusinessError),
        ({"type": "EmptyLoop", "options": {"idle_time": "soon"}}, InvalidOptionsError),
    ],
)
async def test_business_that_cannot_run_fails_before_identity(
    services: BusinessServices, business: dict[str, Any], error: type[Exception]
) -> None:
    """A missing collaborator, unknown type or bad option fails before identity is asked."""
    identity = RecordingIdentity()
    builder = builder_for(services)
    async with FlockManager(builder=builder, identity=identity, logger=null_logger()) as manager:
        with pytest.raises(error):
            await manager.start_flock(flock(business))
        assert manager.list_flocks() == []
    solitary = SolitaryConfig.model_validate(
        {"user": {"username": "bot-mobu-s"}, "business": business}
    )
    with pytest.raises(error):
        await run_solitary(solitary, builder=builder, identity=identity)
    assert identity.asked == []


async def test_missing_collaborator_names_itself(services: BusinessServices) -> None:
    """The error says which business needs which collaborator, at business.type, as a 422."""
    with pytest.raises(MissingServiceError, match=r"NeedsDiscovery needs 'discovery'") as info:
        builder_for(services).prepare(flock({"type": "NeedsDiscovery"}).business, flock="f")
    assert info.value.status_code == 422
    assert info.value.to_dict()["detail"][0]["loc"] == ["body", "business", "type"]


async def test_flock_builds_every_monkey_from_one_prepared_business() -> None:
    """Every monkey of a flock gets the same validated options and the same collaborators."""
    discovery = Discovery()
    builder = builder_for(BusinessServices(discovery=discovery))
    identity = RecordingIdentity()
    async with FlockManager(builder=builder, identity=identity, logger=null_logger()) as manager:
        started = await manager.start_flock(
            flock({"type": "NeedsDiscovery", "options": {"idle_time": "1h"}})
        )
        businesses = [m.business for m in started.monkeys]
        assert len({id(b.options) for b in businesses}) == 1
        assert all(isinstance(b, NeedsDiscovery) and b.discovery is discovery for b in businesses)
        assert identity.asked == [["bot-mobu-p1", "bot-mobu-p2", "bot-mobu-p3"]]
        assert started.dump().config.business.options == {"idle_time": 3600.0}


async def test_optional_collaborator_keeps_the_business_default(services: BusinessServices) -> None:
    """A collaborator this process lacks is left to the business's default when it has one."""
    factory = builder_for(services).prepare(flock({"type": "MaybeDiscovery"}).business, flock="f")
    assert factory.collaborators == {}
    monkey = factory.build(AuthenticatedUser(username="bot-mobu-m"))
    assert isinstance(monkey.business, MaybeDiscovery)
    assert monkey.business.discovery is None


def test_unknown_collaborator_is_refused_when_loaded() -> None:
    """A business asking for a collaborator that does not exist is an error naming both."""
    with pytest.raises(BusinessDefinitionError, match=r"Typo asks for 'http_clinet'") as info:
        BusinessRegistry({"Typo": Typo})
    for name in COLLABORATORS:
        assert name in str(info.value)
    registry = BusinessRegistry({"EmptyLoop": EmptyLoop})
    with pytest.raises(BusinessDefinitionError):
        registry.register("Typo", Typo)
    assert registry.names() == ["EmptyLoop"]
