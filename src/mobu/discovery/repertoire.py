"""The ``repertoire`` discovery provider: the platform's services from Repertoire.

Selected when ``REPERTOIRE_BASE_URL`` is set. Through :class:`~rubin.repertoire.DiscoveryClient`
(its public API only) it reads the environment name, the application list (what notebooks'
``required_applications`` are checked against), each dataset's TAP and SIA URLs, the hub
(``ui.nublado``, answered as ``hub`` and ``nublado``) and the internal services mobu uses
(``gafaelfawr``, its ``v1`` API, and ``muster``). The answers are a snapshot, re-read every
``discovery.refresh_interval`` by a task this provider owns, so a service that moves is picked
up; a failed refresh keeps the last snapshot (with a warning). The static ``discovery:`` section
fills in whatever Repertoire does not name.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from typing import Any

import httpx
from rubin.repertoire import DiscoveryClient, RepertoireError
from structlog.typing import FilteringBoundLogger

from mobu.discovery.config import DiscoveryConfig
from mobu.discovery.service import Discovery, DiscoveryError

__all__ = ["INTERNAL_SERVICES", "RepertoireDiscovery"]

INTERNAL_SERVICES = ("gafaelfawr", "muster")
"""Internal services looked up (by name; Repertoire's client cannot list them)."""


class RepertoireDiscovery(Discovery):
    """Answers from Repertoire, refreshed on a schedule.

    Parameters
    ----------
    static
        The ``discovery:`` section (fallbacks, and ``refresh_interval``).
    base_url
        Repertoire's base URL (``REPERTOIRE_BASE_URL``).
    http
        Shared httpx client (not closed here).
    logger
        Logger.
    """

    def __init__(
        self,
        static: DiscoveryConfig,
        *,
        base_url: str,
        http: httpx.AsyncClient,
        logger: FilteringBoundLogger,
    ) -> None:
        super().__init__(static)
        self.static = static
        self.logger = logger
        self.interval = static.refresh_interval
        # Cached for half an interval: one fetch per refresh, shared by every lookup in it.
        self.client = DiscoveryClient(http, base_url=base_url, cache_timeout=self.interval / 2)
        self.refreshes = 0
        """Snapshots taken so far."""
        self._task: asyncio.Task[None] | None = None
        self._refreshed = asyncio.Condition()

    async def start(self) -> None:
        """Refresh every ``refresh_interval`` in the background, and take the first snapshot now.

        Raises
        ------
        DiscoveryError
            Repertoire cannot be read now. The refreshes go on in the background, so the
            caller may go on without discovery until Repertoire answers.
        """
        if self._task is None:
            self._task = asyncio.create_task(self._refresh_forever(), name="repertoire-refresh")
        try:
            await self.refresh()
        except RepertoireError as exc:
            raise DiscoveryError(f"Cannot read Repertoire service discovery: {exc}") from exc

    async def refresh(self) -> None:
        """Take a snapshot of Repertoire's answers now.

        Raises
        ------
        rubin.repertoire.RepertoireError
            Repertoire cannot be read (the previous snapshot is kept).
        """
        snapshot = await self._snapshot()
        self.config = DiscoveryConfig.model_validate(snapshot)
        self.refreshes += 1
        async with self._refreshed:
            self._refreshed.notify_all()

    async def wait_refreshed(self, count: int) -> None:
        """Wait until ``count`` snapshots were taken (tests and the demo wait on this)."""
        async with self._refreshed:
            await self._refreshed.wait_for(lambda: self.refreshes >= count)

    async def _snapshot(self) -> dict[str, Any]:
        client = self.client
        static = self.static
        datasets: dict[str, dict[str, str | None]] = {
            name: entry.model_dump(mode="json") for name, entry in static.datasets.items()
        }
        for dataset in await client.datasets():
            entry = datasets.setdefault(dataset, {})
            for service in ("tap", "sia"):
                url = await client.url_for_data(service, dataset)
                if url:
                    entry[service] = url
        services = {name: str(url) for name, url in static.services.items()}
        hub = await client.url_for_ui("nublado")
        if hub:
            services["hub"] = services["nublado"] = hub
        for name in INTERNAL_SERVICES:
            url = await client.url_for_internal(name)
            if url:
                services[name] = url
        v1 = await client.url_for_internal("gafaelfawr", version="v1")
        if v1:
            services["gafaelfawr_v1"] = v1
        return {
            "environment_name": await client.environment_name() or static.environment_name,
            "applications": sorted(set(await client.applications()) | set(static.applications)),
            "datasets": datasets,
            "services": services,
            "refresh_interval": self.interval,
        }

    async def _refresh_forever(self) -> None:
        while True:
            await asyncio.sleep(_seconds(self.interval))
            try:
                await self.refresh()
            except (RepertoireError, ValueError) as exc:
                self.logger.warning("Cannot refresh Repertoire discovery", error=str(exc))
            else:
                self.logger.debug("Refreshed Repertoire discovery", refreshes=self.refreshes)

    async def aclose(self) -> None:
        """Stop refreshing."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def _seconds(interval: timedelta) -> float:
    """The refresh interval in seconds (at least 0.1 s: a zero interval would spin)."""
    return max(interval.total_seconds(), 0.1)
