"""Shared lab cycle of the businesses that run code in a JupyterHub lab.

One iteration: spawn a lab (unless it is reused), open a session and its kernel websocket, run
the subclass's :meth:`NubladoBusiness.execute_code`, delete the session, and delete the lab when
``delete_lab`` is set. The hub and lab calls are the :class:`LabSessionHelper`'s
(:mod:`mobu.services.business.labsession`), each under :meth:`Business.interruptible`, so a stop
or a hung server never blocks the monkey.
"""

from __future__ import annotations

import random
from abc import abstractmethod
from contextlib import AbstractAsyncContextManager
from datetime import timedelta
from typing import Generic, TypeVar, override

import httpx
from structlog.typing import FilteringBoundLogger

from mobu.discovery import Discovery
from mobu.events import Events
from mobu.models.business.nublado import NubladoBusinessData, NubladoBusinessOptions
from mobu.models.user import AuthenticatedUser
from mobu.services.business.base import Business
from mobu.services.business.flavour import NubladoFlavourHelper, lab_helper
from mobu.services.business.labsession import NubladoError
from mobu.storage.jupyter import ExecutionResult, LabClient, LabSession, PhaseTimings

__all__ = ["NubladoBusiness"]

T = TypeVar("T", bound=NubladoBusinessOptions)


class NubladoBusiness(Business[T], Generic[T]):
    """Base of businesses that spawn a lab and run code in it.

    Parameters
    ----------
    http_client
        Shared httpx client (from the process services).
    discovery
        Service discovery; ``discovery.services.hub`` is the hub URL.
    """

    def __init__(
        self,
        *,
        options: T,
        user: AuthenticatedUser,
        events: Events,
        logger: FilteringBoundLogger,
        flock: str | None,
        http_client: httpx.AsyncClient,
        discovery: Discovery,
    ) -> None:
        super().__init__(options=options, user=user, events=events, logger=logger, flock=flock)
        self.http_client = http_client
        self.discovery = discovery
        self.lab = lab_helper(self, options=options, http_client=http_client, discovery=discovery)
        self._connected: tuple[str, str] | None = None

    @property
    def timings(self) -> PhaseTimings:
        """Durations of the phases of the lab cycle."""
        return self.lab.timings

    # Hooks for subclasses ------------------------------------------------------------------------

    @abstractmethod
    async def execute_code(self, lab: LabClient, session: LabSession) -> None:
        """Run this business's code in the open session (its kernel is connected)."""

    def session_name(self) -> str | None:
        """Name (notebook path) of the next session, or None for an anonymous one."""
        return None

    # Lifecycle ------------------------------------------------------------------------------------

    @override
    async def startup(self) -> None:
        if self.user.token is None:
            raise NubladoError(
                f"{self.name} needs a token for {self.user.username}: configure identity",
                phase="startup",
            )
        self._connect()
        if self.options.jitter > timedelta(0):
            delay = random.uniform(0, self.options.jitter.total_seconds())  # noqa: S311
            if not await self.pause(timedelta(seconds=delay)):
                return
        await self.lab.delete_existing_lab()

    def _connect(self) -> None:
        """(Re)connect the hub client when the hub URL (discovery) or the token (renewal) moved."""
        target = (self.discovery.service_url("hub"), self.user.token or "")
        if self.lab.hub is None or target != self._connected:
            self.lab.connect(*target)
            self._connected = target

    @override
    async def execute(self) -> None:
        self._connect()
        if self.options.delete_lab or await self.lab.lab_stopped():
            self.lab.image = None
            if not await self.lab.spawn_lab():
                return
        async with self.lab.session(self.session_name()) as (lab, session):
            await self.execute_code(lab, session)
        if self.options.delete_lab and not self.stopping:
            await self.lab.delete_lab()

    @override
    async def idle(self) -> None:
        extra = 0.0
        if self.options.jitter > timedelta(0):
            extra = random.uniform(0, self.options.jitter.total_seconds())  # noqa: S311
        await self.pause(self.options.idle_time + timedelta(seconds=extra))

    @override
    async def shutdown(self) -> None:
        if self.lab.hub is None:
            return
        await self.lab.close_channel()
        self.logger.info("Deleting lab")
        await self.lab.stop_lab(failure="Unable to delete lab at shutdown")

    @override
    async def close(self) -> None:
        await self.lab.close_channel()
        if self.lab.lab_may_run:
            # After a failure without shutdown (no restart), do not leave the lab running.
            await self.lab.stop_lab(failure="Unable to delete lab at close")
        if isinstance(self.lab, NubladoFlavourHelper):
            await self.lab.aclose()

    @override
    def dump(self) -> NubladoBusinessData:
        return NubladoBusinessData(
            **super().dump().model_dump(),
            image=self.lab.image,
            node=self.lab.node,
            phase=self.lab.phase,
            timings=self.lab.timings.snapshot(),
        )

    # For subclasses ----------------------------------------------------------------------------

    def step(
        self, phase: str, timeout: timedelta | None = None
    ) -> AbstractAsyncContextManager[None]:
        """Run one interruptible, timed phase (see :meth:`LabSessionHelper.step`)."""
        return self.lab.step(phase, timeout)

    async def run_code(
        self, code: str, *, phase: str = "execute", timeout: timedelta | bool | None = True
    ) -> ExecutionResult:
        """Run ``code`` on the open kernel (see :meth:`LabSessionHelper.run_code`).

        Raises
        ------
        ExecutionTimeoutError
            The code ran longer than its timeout (``execution_timeout`` by default).
        CodeExecutionError
            The code raised.
        """
        return await self.lab.run_code(code, phase=phase, timeout=timeout)
