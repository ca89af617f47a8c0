"""The composition root: builds every process-wide object from the configuration."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from types import TracebackType
from typing import Self

import httpx
from structlog.typing import FilteringBoundLogger

from mobu.alerts.reporting import Reporters
from mobu.config import Config
from mobu.discovery import Discovery, DiscoveryError, RepertoireDiscovery, build_discovery
from mobu.events import Events
from mobu.github.apps import GitHubApps, build_github_apps
from mobu.history import History
from mobu.identity import (
    AnonymousIdentity,
    GafaelfawrIdentityConfig,
    IdentityProvider,
    build_identity,
)
from mobu.observability import Observability
from mobu.paths import DataDirs
from mobu.registry import BusinessRegistry
from mobu.replicas.group import ReplicaGroup
from mobu.replicas.merged import GroupView
from mobu.replicas.store import SharedState
from mobu.services.builder import MonkeyBuilder
from mobu.services.business.querysets import QuerySetLocator
from mobu.services.manager import FlockManager
from mobu.services.repo import RepoCache
from mobu.services.resources import BusinessServices, SharedClients
from mobu.services.stats import StatsCollector
from mobu.storage.monkeylog import MonkeyLogDirectory

__all__ = ["ProcessContext"]


@dataclass(slots=True)
class _Lifecycle:
    """Where the process context is in its life, and the tasks it owns for it."""

    open: bool = False
    shutdown_requested: bool = False
    autostart: asyncio.Task[None] | None = None
    autostart_seen: bool = False
    """The autostart's outcome was handed to :meth:`ProcessContext.start`'s caller."""
    stopping: asyncio.Task[None] | None = None


def _identity(
    config: Config,
    *,
    http: httpx.AsyncClient,
    logger: FilteringBoundLogger,
    discovery: Discovery,
    reporters: Reporters,
) -> IdentityProvider:
    """Build the configured identity provider (anonymous when none is configured).

    With no ``identity:`` section, ``MOBU_GAFAELFAWR_TOKEN`` selects the gafaelfawr provider.
    """
    identity = config.identity
    if identity is None and config.gafaelfawr_token is not None:
        identity = GafaelfawrIdentityConfig(
            provider="gafaelfawr", timeout=config.gafaelfawr_timeout
        )
    if identity is None:
        return AnonymousIdentity()
    if isinstance(identity, GafaelfawrIdentityConfig) and identity.timeout is None:
        identity = identity.model_copy(update={"timeout": config.gafaelfawr_timeout})
    hub = config.discovery.services.get("hub")
    token = config.gafaelfawr_token
    return build_identity(
        identity, hub_url=None if hub is None else str(hub), http=http, logger=logger,
        gafaelfawr_token=None if token is None else token.get_secret_value(),
        repertoire=discovery.client if isinstance(discovery, RepertoireDiscovery) else None,
        report=reporters.failure,
    )  # fmt: skip


class ProcessContext:
    """Everything that lives as long as the process, and the process's lifecycle.

    Use as an async context manager: entering opens the flock manager's task group, leaving
    stops every flock and closes clients. Inside, :meth:`start` starts the ``autostart:``
    flocks and :meth:`begin_shutdown` makes every flock start stopping at once; both run as
    tasks this context owns and awaits (or cancels) when it is left. Nothing below this reads
    :class:`Config`.
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
        clients = SharedClients()
        self.discovery: Discovery = build_discovery(
            config.discovery,
            repertoire_base_url=config.repertoire_base_url,
            http=clients.http_client,
            logger=logger,
        )
        self.reporters = Reporters()
        self.stats = StatsCollector(window=config.events.statistics_window)
        self.data_dirs = DataDirs(config.data_dir)
        self.data_dirs.export_library_environment()
        self.repo_cache = RepoCache(logger, parent=self.data_dirs.root / "repos")
        self.services = BusinessServices(
            clients=clients,
            discovery=self.discovery,
            repo_cache=self.repo_cache,
            query_sets=QuerySetLocator.from_dirs(config.query_set_dirs),
            scratch_dir=self.data_dirs.root / "work",
        )
        self.identity: IdentityProvider = identity or _identity(
            config, http=clients.http_client, logger=logger, discovery=self.discovery,
            reporters=self.reporters,
        )  # fmt: skip
        self.log_directory = self._log_directory(config)
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
            stats=self.stats,
        )
        self.github = self._github(config, logger)
        self.observability = self._observability(config, logger)
        self.history = self._history(config, logger)
        self.replicas = self._replicas(config, logger)
        self._life = _Lifecycle()

    def _log_directory(self, config: Config) -> MonkeyLogDirectory | None:
        """Where monkeys log (under the data directory), unless they log to the main log."""
        if not config.log_monkeys_to_file:
            return None
        logs = self.data_dirs.path("logs")
        return MonkeyLogDirectory(logs, max_bytes=config.monkey_log_max_bytes)

    def _github(self, config: Config, logger: FilteringBoundLogger) -> GitHubApps:
        """The GitHub refresh and CI apps, when configured."""
        return build_github_apps(
            refresh=config.github_refresh_app,
            ci=config.github_ci_app,
            environment_name=config.discovery.environment_name,
            manager=self.manager,
            builder=self.builder,
            identity=self.identity,
            services=self.services,
            logger=logger,
        )

    def _observability(self, config: Config, logger: FilteringBoundLogger) -> Observability:
        """Statistics, metrics, event sinks and alert channels, watching this context's flocks."""
        return Observability(
            events=self.events,
            reporters=self.reporters,
            stats=self.stats,
            summaries=self.manager.summarize_flocks,
            logger=logger,
            alerts=config.alerts,
            metrics=config.metrics,
            sinks=config.events,
            environment_name=config.discovery.environment_name,
            http_client=lambda: self.services.http_client,
            traces_sample_config=config.sentry_traces_sample_config,
        )

    def _history(self, config: Config, logger: FilteringBoundLogger) -> History | None:
        """The history store's writer, fed by the events and failures of every monkey."""
        if not config.history.enabled:
            return None
        prefix = config.path_prefix.rstrip("/") if config.log_monkeys_to_file else None
        history = History(
            config.history, data_dir=config.data_dir, logger=logger, log_prefix=prefix
        )
        self.events.add_sink(history.recorder)
        self.reporters.add(history.recorder)
        if self.observability.metrics is not None:
            self.observability.metrics.registry.register(history)
        return history

    def _replicas(self, config: Config, logger: FilteringBoundLogger) -> GroupView | None:
        """The replica group, when replicas share a PostgreSQL store (else None: on its own)."""
        history = config.history
        if config.replica_count < 2 or not config.replicas.shared or not history.enabled:
            return None
        url = history.store_url(config.data_dir)
        if not url.startswith("postgresql"):
            return None
        slack = self.observability.slack
        group = ReplicaGroup(
            state=SharedState(url),
            manager=self.manager,
            builder=self.builder,
            config=config.replicas,
            replica_count=config.replica_count,
            replica_index=config.replica_index,
            logger=logger,
            post=None if slack is None else slack.webhook.post,
        )
        return GroupView(group, lambda: self.services.http_client)

    async def _autostart(self) -> None:
        """Start the autostart flocks (a replica group: write them once, run this share)."""
        if self.replicas is None:
            await self.manager.autostart(self.config.autostart)
        else:
            await self.replicas.group.start(self.config.autostart)

    async def __aenter__(self) -> Self:
        try:
            await self.discovery.start()
        except DiscoveryError as exc:  # come up anyway: flocks that need it fail at their start
            self.logger.error("Service discovery unavailable; retrying", error=str(exc))
        await self.observability.start()
        if self.history is not None:
            await self.history.start()
        await self.manager.__aenter__()
        await self.github.__aenter__()
        self._life.open = True
        return self

    async def start(self) -> None:
        """Start the ``autostart:`` flocks in order; returns once they all started.

        A flock that fails to start is logged and listed in ``manager.autostart_failures``;
        the others go on. The start runs in a task of this context, so :meth:`begin_shutdown`
        can interrupt it (then this returns early, with a warning) and leaving the context
        awaits it. After :meth:`begin_shutdown`, nothing is started.
        """
        if not self._life.open:
            raise RuntimeError("ProcessContext.start() called outside its async context")
        if self._life.shutdown_requested or self._life.autostart is not None:
            return
        task = asyncio.create_task(self._autostart(), name="mobu-autostart")
        self._life.autostart = task
        await asyncio.wait({task})
        self._life.autostart_seen = True
        if task.cancelled():
            self.logger.warning("Autostart interrupted by shutdown")
        else:
            task.result()

    def begin_shutdown(self) -> None:
        """Start stopping every flock now, without waiting (from the event loop's thread).

        A server calls this as soon as it is told to exit, even while the application is
        still starting: an autostart in progress is abandoned (a flock still starting ends its
        start). Leaving the context waits for these stops. Does nothing when already called.
        """
        if self._life.shutdown_requested:
            return
        self._life.shutdown_requested = True
        if self._life.autostart is not None and not self._life.autostart.done():
            self._life.autostart.cancel()
        if self._life.open:
            self._life.stopping = asyncio.get_running_loop().create_task(
                self.manager.stop_all(), name="mobu-begin-shutdown"
            )

    async def _finish_lifecycle(self) -> None:
        """Cancel an unfinished autostart, then wait for it and for the stops begun."""
        autostart, stopping = self._life.autostart, self._life.stopping
        if autostart is not None and not autostart.done():
            autostart.cancel()
        owned = ((autostart, "Autostart failed"), (stopping, "Stopping flocks failed"))
        for task, message in owned:
            if task is None:
                continue
            await asyncio.wait({task})
            error = None if task.cancelled() else task.exception()
            if error is not None and not (task is autostart and self._life.autostart_seen):
                self.logger.error(message, error=f"{type(error).__name__}: {error}")

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._life.open = False
        try:
            try:
                await self.github.__aexit__(exc_type, exc, tb)
                await self._finish_lifecycle()
            finally:
                if self.replicas is not None:
                    await self.replicas.group.aclose()
                await self.manager.__aexit__(exc_type, exc, tb)
        finally:
            if self.history is not None:
                await self.history.aclose()
            await self.observability.aclose()
            await self.identity.aclose()
            await self.discovery.aclose()
            await self.repo_cache.aclose()
            await self.services.aclose()
            if self.log_directory is not None:
                self.log_directory.remove()
