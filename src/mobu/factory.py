"""The composition root: builds every process-wide object from the configuration."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from structlog.typing import FilteringBoundLogger

from mobu.config import Config
from mobu.events import Events
from mobu.metrics.observability import Observability
from mobu.registry import BusinessRegistry
from mobu.services.alerts import Reporters
from mobu.services.builder import MonkeyBuilder
from mobu.services.business.querysets import QuerySetLocator
from mobu.services.discovery import Discovery
from mobu.services.identity import AnonymousIdentity, IdentityProvider
from mobu.services.identity_providers import build_identity
from mobu.services.manager import FlockManager
from mobu.services.repo import RepoCache
from mobu.services.resources import BusinessServices
from mobu.storage.monkeylog import MonkeyLogDirectory

__all__ = ["ProcessContext"]


class ProcessContext:
    """Everything that lives as long as the process.

    Use as an async context manager: entering opens the flock manager's task group, leaving
    stops every flock and closes clients. Nothing below this reads :class:`Config`.
    """

    def __init__(
        self,
        config: Config,
        *,
        logger: FilteringBoundLogger,
        registry: BusinessRegistry | None = None,
        events: Events | None = None,
        identity: IdentityProvider | None = None,
    ) -> None:
        self.config = config
        self.logger = logger
        self.registry = registry if registry is not None else BusinessRegistry()
        self.events = events if events is not None else Events(sinks=[])
        self.discovery = Discovery(config.discovery)
        self.reporters = Reporters()
        self.observability = Observability(
            events=self.events,
            reporters=self.reporters,
            logger=logger,
            alerts=config.alerts,
            metrics=config.metrics,
            sinks=config.events,
            environment_name=config.discovery.environment_name,
        )
        self.repo_cache = RepoCache(logger)
        self.services = BusinessServices(
            discovery=self.discovery,
            repo_cache=self.repo_cache,
            query_sets=QuerySetLocator.from_dirs(config.query_set_dirs),
        )
        if identity is None and config.identity is not None:
            hub = config.discovery.services.get("hub")
            identity = build_identity(
                config.identity,
                hub_url=None if hub is None else str(hub),
                http=self.services.http_client,
                logger=logger,
            )
        self.identity: IdentityProvider = identity or AnonymousIdentity()
        self.log_directory = (
            MonkeyLogDirectory(max_bytes=config.monkey_log_max_bytes)
            if config.log_monkeys_to_file
            else None
        )
        self.builder = MonkeyBuilder(
            registry=self.registry,
            services=self.services,
            events=self.events,
            reporters=self.reporters,
            logger=logger,
            log_directory=self.log_directory,
            stop_grace=config.stop_grace,
            echo_logs=False,
        )
        self.manager = FlockManager(
            builder=self.builder,
            identity=self.identity,
            logger=logger,
            replica_count=config.replica_count,
            replica_index=config.replica_index,
            stats=self.observability.stats,
        )
        self.observability.bind(self.manager)

    async def __aenter__(self) -> Self:
        await self.observability.start()
        await self.manager.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await self.manager.__aexit__(exc_type, exc, tb)
        finally:
            await self.observability.aclose()
            await self.identity.aclose()
            await self.repo_cache.aclose()
            await self.services.aclose()
            if self.log_directory is not None:
                self.log_directory.remove()
