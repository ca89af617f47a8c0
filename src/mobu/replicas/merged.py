"""The merged view of a replica group: flocks, summaries and monkeys over every replica."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import httpx

from mobu.exceptions import FlockNotFoundError, MonkeyNotFoundError
from mobu.models.flock import FlockConfig
from mobu.models.replicas import (
    GroupAutostartFailure,
    GroupFlockData,
    GroupFlockSummary,
    ReplicaFlockRow,
)
from mobu.replicas.errors import ReplicaUnreachableError, SharedStateUnavailableError
from mobu.replicas.group import STORE_ERRORS, ReplicaGroup
from mobu.replicas.view import ReplicaReport, merge_data, merge_summary, rows

__all__ = ["LOCAL_HEADER", "GroupView"]

LOCAL_HEADER = "X-Mobu-Replica-Local"
"""Request header of a call proxied to the replica that runs a monkey: answer locally."""


class GroupView:
    """Answers the flock routes for the whole group, from the heartbeats and desired state.

    Parameters
    ----------
    group
        This replica's group membership.
    http_client
        Client for the calls forwarded to another replica.
    """

    def __init__(self, group: ReplicaGroup, http_client: Callable[[], httpx.AsyncClient]) -> None:
        self.group = group
        self._http = http_client

    async def _state(self) -> tuple[dict[str, FlockConfig], list[ReplicaReport]]:
        try:
            desired = await self.group.desired()
            reports = await self.group.reports()
        except STORE_ERRORS as exc:
            raise SharedStateUnavailableError(type(exc).__name__) from None
        return {n: d.spec for n, d in desired.items()}, reports

    async def list_flocks(self) -> list[str]:
        """Names of the desired flocks and of this replica's own ones."""
        desired = await self.group.desired()
        return sorted(set(desired) | set(self.group.manager.list_flocks()))

    async def summaries(self) -> list[GroupFlockSummary]:
        """Summaries of every flock, sorted by name."""
        specs, reports = await self._state()
        names = sorted(set(specs) | set(self.group.manager.list_flocks()))
        merged = (merge_summary(n, specs.get(n), reports) for n in names)
        return [s for s in merged if s is not None]

    async def summary(self, name: str) -> GroupFlockSummary:
        """Summary of one flock over every replica (FlockNotFoundError: none has it)."""
        specs, reports = await self._state()
        merged = merge_summary(name, specs.get(name), reports)
        if merged is None:
            raise FlockNotFoundError(name)
        return merged

    async def autostart_failures(self) -> list[GroupAutostartFailure]:
        """The flocks that failed to start on each reporting replica, by replica."""
        _, reports = await self._state()
        return [
            GroupAutostartFailure(replica=r.replica, name=f["name"], error=f["error"])
            for r in reports
            if r.fresh
            for f in r.autostart_failures
        ]

    async def rows(self, name: str) -> list[ReplicaFlockRow]:
        """One summary row per replica."""
        specs, reports = await self._state()
        if name not in specs and not any(name in r.flocks for r in reports):
            raise FlockNotFoundError(name)
        return rows(name, specs.get(name), reports)

    async def flock(self, name: str) -> GroupFlockData:
        """A flock with every reporting replica's monkeys."""
        _, reports = await self._state()
        local = None
        if name in self.group.manager.list_flocks():
            local = self.group.manager.get_flock(name).dump()
        if local is None and not any(r.fresh and name in r.flocks for r in reports):
            raise FlockNotFoundError(name)
        return merge_data(name, local, reports)

    async def monkeys(self, name: str) -> list[str]:
        """Names of a flock's monkeys on every reporting replica."""
        data = await self.flock(name)
        return sorted(m.name for m in data.monkeys)

    async def home(self, flock: str, monkey: str) -> ReplicaReport | None:
        """The replica that runs ``monkey`` (None: this one).

        Raises
        ------
        FlockNotFoundError, MonkeyNotFoundError
            No replica reports it.
        ReplicaUnreachableError
            Its replica is missing or advertised no URL.
        """
        manager = self.group.manager
        if flock in manager.list_flocks() and monkey in manager.get_flock(flock).list_monkeys():
            return None
        _, reports = await self._state()
        if not any(flock in r.flocks for r in reports):
            raise FlockNotFoundError(flock)
        for report in reports:
            if report.replica != self.group.replica_index and monkey in report.monkeys(flock):
                if not report.fresh or report.url is None:
                    reason = "missing" if not report.fresh else "no URL advertised"
                    raise ReplicaUnreachableError(report.replica, reason)
                return report
        raise MonkeyNotFoundError(monkey)

    @asynccontextmanager
    async def forward(
        self, report: ReplicaReport, path: str, headers: dict[str, str]
    ) -> AsyncIterator[httpx.Response]:
        """GET ``path`` (below the API prefix) from the replica of ``report``, streamed."""
        url = f"{report.url}{path}"
        sent = {k: v for k, v in headers.items() if k.lower() not in ("host", "content-length")}
        sent[LOCAL_HEADER] = "1"
        client = self._http()
        request = client.build_request("GET", url, headers=sent, timeout=30)
        try:
            response = await client.send(request, stream=True)
        except httpx.HTTPError as exc:
            raise ReplicaUnreachableError(report.replica, type(exc).__name__) from None
        try:
            yield response
        finally:
            await response.aclose()
