"""Shared lab cycle of the businesses that run code in a JupyterHub lab.

One iteration: spawn a lab (unless it is reused), open a session and its kernel websocket, run
the subclass's :meth:`NubladoBusiness.execute_code`, delete the session, and delete the lab when
``delete_lab`` is set. Every hub or lab call runs under :meth:`Business.interruptible`, so a stop
or a hung server never blocks the monkey.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from abc import abstractmethod
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any, Generic, TypeVar

import httpx
from structlog.typing import FilteringBoundLogger
from typing_extensions import override

from mobu.discovery import Discovery
from mobu.events import Events, NubladoDeleteLab, NubladoSpawnLab
from mobu.exceptions import BusinessError
from mobu.models.business.base import BusinessData
from mobu.models.business.nublado import NubladoBusinessOptions
from mobu.models.user import AuthenticatedUser
from mobu.services.business.base import Business
from mobu.storage.jupyter import (
    ExecutionResult,
    ExecutionTimeoutError,
    HubClient,
    JupyterDeleteTimeoutError,
    JupyterError,
    JupyterSpawnError,
    JupyterSpawnTimeoutError,
    KernelChannel,
    LabClient,
    LabSession,
    PhaseTimings,
    strip_ansi,
)

__all__ = ["NubladoBusiness", "NubladoError"]

T = TypeVar("T", bound=NubladoBusinessOptions)

_SETUP_CODE = """\
import json as _j, os as _o, socket as _s
print(_j.dumps({"image": _o.environ.get("JUPYTER_IMAGE_SPEC") or _o.environ.get("JUPYTER_IMAGE"),
  "description": _o.environ.get("IMAGE_DESCRIPTION"),
  "node": _o.environ.get("KUBERNETES_NODE_NAME") or _s.gethostname()}))
"""


STOPPING_CALL_TIMEOUT = 10.0
"""Longest wait, in seconds, for a session delete issued while the monkey is stopping."""


class NubladoError(BusinessError):
    """A lab-cycle step failed for a reason other than the Jupyter clients' own errors."""


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
        self.timings = PhaseTimings()
        self.hub: HubClient | None = None
        self.channel: KernelChannel | None = None
        self.image: dict[str, str | None] | None = None
        self.node: str | None = None
        self.phase: str | None = None
        self._lab: LabClient | None = None
        self._lab_may_run = False
        self._session: LabSession | None = None
        self._timeout = options.jupyter_timeout.total_seconds()

    # Hooks for subclasses ------------------------------------------------------------------------

    @abstractmethod
    async def execute_code(self, lab: LabClient, session: LabSession) -> None:
        """Run this business's code in the open session (``self.channel`` is connected)."""

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
        hub_url = self.discovery.service_url("hub")
        self.hub = HubClient(
            hub_url, self.user.token, http=self.http_client, timeout=self._timeout,
            timings=self.timings,
        )
        if self.options.jitter > timedelta(0):
            delay = random.uniform(0, self.options.jitter.total_seconds())  # noqa: S311
            if not await self.pause(timedelta(seconds=delay)):
                return
        async with self.step("hub_status"):
            stopped = await self.hub.is_stopped(self.user.username)
        if not stopped:
            self._lab_may_run = True
            self.logger.info("Deleting pre-existing lab")
            try:
                await self.delete_lab()
            except JupyterDeleteTimeoutError:
                self.logger.warning("Unable to delete pre-existing lab, continuing anyway")

    @override
    async def execute(self) -> None:
        hub = self._hub()
        if self.options.delete_lab or await self._lab_stopped():
            self.image = None
            if not await self.spawn_lab():
                return
        lab = LabClient(
            hub.lab_url(self.user.username), self.user.token, username=self.user.username,
            http=self.http_client, timeout=self._timeout,
            protocol=self.options.websocket_protocol,
            max_message_size=self.options.max_websocket_message_size, timings=self.timings,
        )
        async with self.step("lab_first_response"):
            await lab.status()
        async with self.step("session_create"):
            session = await lab.create_session(
                self.session_name(), kernel_name=self.options.kernel_name
            )
        self._lab, self._session = lab, session
        try:
            async with self.step("websocket_open"):
                self.channel = await lab.open_kernel(session)
            await self._setup_session()
            await self.execute_code(lab, session)
        finally:
            await self._close_session(lab, session)
        if self.options.delete_lab and not self.stopping:
            await self.delete_lab()

    @override
    async def idle(self) -> None:
        extra = 0.0
        if self.options.jitter > timedelta(0):
            extra = random.uniform(0, self.options.jitter.total_seconds())  # noqa: S311
        await self.pause(self.options.idle_time + timedelta(seconds=extra))

    @override
    async def shutdown(self) -> None:
        if self.hub is None:
            return
        await self._close_channel()
        self.logger.info("Deleting lab")
        self._lab_may_run = False
        try:
            await self.hub.stop(self.user.username)
        except JupyterError as exc:
            self.logger.warning("Unable to delete lab at shutdown", error=str(exc))

    @override
    async def close(self) -> None:
        await self._close_channel()
        if self.hub is not None and self._lab_may_run:
            # After a failure without shutdown (no restart), do not leave the lab running.
            self._lab_may_run = False
            try:
                await self.hub.stop(self.user.username)
            except JupyterError as exc:
                self.logger.warning("Unable to delete lab at close", error=str(exc))

    @override
    def dump(self) -> BusinessData:
        data = super().dump()
        data.image = self.image  # type: ignore[attr-defined]
        data.node = self.node  # type: ignore[attr-defined]
        data.phase = self.phase  # type: ignore[attr-defined]
        data.timings = self.timings.snapshot()  # type: ignore[attr-defined]
        return data

    # Steps ---------------------------------------------------------------------------------

    @asynccontextmanager
    async def step(self, phase: str, timeout: timedelta | None = None) -> AsyncIterator[None]:
        """Run one interruptible, timed phase; failures carry the phase in their context.

        Raises
        ------
        JupyterError
            The phase timed out (``timeout``, default ``jupyter_timeout``) or failed.
        StopRequestedError
            The monkey was told to stop.
        """
        self.phase = phase
        limit = self.options.jupyter_timeout if timeout is None else timeout
        start = time.perf_counter()
        try:
            async with self.interruptible(limit):
                yield
        except TimeoutError:
            raise JupyterError(
                f"{phase} timed out after {limit.total_seconds():g}s", phase=phase,
                user=self.user.username, **self._where(),
            ) from None
        except BusinessError as exc:
            exc.context.setdefault("phase", phase)
            exc.context.setdefault("user", self.user.username)
            for key, value in self._where().items():
                exc.context.setdefault(key, value)
            raise
        finally:
            self.timings.record(f"step.{phase}", time.perf_counter() - start)

    async def spawn_lab(self) -> bool:
        """Spawn the lab and follow its progress; False if a stop interrupted it."""
        hub = self._hub()
        start = time.perf_counter()
        messages: list[str] = []
        success = False
        try:
            self._lab_may_run = True
            async with self.step("spawn_request"):
                ready = await hub.spawn(self.user.username, self.options.spawn_options())
            if not ready:
                if not await self.pause(self.options.spawn_settle_time):
                    return False
                budget = self.options.spawn_timeout - self.options.spawn_settle_time
                self.phase = "spawn_progress"
                with self.timings.measure("spawn_progress"):
                    async for event in self.iter_with_timeout(
                        hub.progress(self.user.username), budget
                    ):
                        messages.append(f"{event.progress}% {strip_ansi(event.message)}")
                        self.logger.info("Spawn progress", progress=event.progress,
                                         message=strip_ansi(event.message))
                        if event.failed:
                            raise JupyterSpawnError(
                                "Lab spawn failed", phase="spawn_progress",
                                progress="\n".join(messages),
                            )
                        if event.ready:
                            ready = True
                            break
            if not ready:
                if self.stopping:
                    return False
                elapsed = time.perf_counter() - start
                if elapsed >= self.options.spawn_timeout.total_seconds():
                    raise JupyterSpawnTimeoutError(
                        f"Lab did not spawn after {elapsed:.0f}s", phase="spawn_progress",
                        progress="\n".join(messages),
                    )
                raise JupyterSpawnError(
                    "Spawn progress ended without the lab being ready", phase="spawn_progress",
                    progress="\n".join(messages),
                )
            success = True
            self.logger.info("Lab spawned", seconds=round(time.perf_counter() - start, 3))
            return True
        finally:
            duration = time.perf_counter() - start
            self.timings.record("spawn", duration)
            if success or not self.stopping:
                await self.events.nublado_spawn_lab.publish(NubladoSpawnLab(
                    success=success, duration=timedelta(seconds=duration),
                    **self.common_event_attrs(),
                ))

    async def delete_lab(self) -> None:
        """Stop the lab and wait (up to ``delete_timeout``) until the hub reports it gone."""
        hub = self._hub()
        start = time.perf_counter()
        success = False
        try:
            async with self.step("lab_delete_request"):
                await hub.stop(self.user.username)
            deadline = start + self.options.delete_timeout.total_seconds()
            delay = 0.1
            while True:
                async with self.step("lab_delete_check"):
                    stopped = await hub.is_stopped(self.user.username)
                if stopped:
                    break
                elapsed = time.perf_counter() - start
                if time.perf_counter() >= deadline:
                    raise JupyterDeleteTimeoutError(
                        f"Lab not deleted after {elapsed:.0f}s", phase="lab_delete"
                    )
                self.logger.info("Waiting for lab deletion", elapsed=round(elapsed, 1))
                if not await self.pause(timedelta(seconds=delay)):
                    return
                delay = min(delay * 2, 2.0)
            success = True
            self.image = None
            self._lab_may_run = False
            self.logger.info("Lab successfully deleted")
        finally:
            duration = time.perf_counter() - start
            self.timings.record("lab_delete", duration)
            if success or not self.stopping:
                await self.events.nublado_delete_lab.publish(NubladoDeleteLab(
                    success=success, duration=timedelta(seconds=duration),
                    **self.common_event_attrs(),
                ))

    async def run_code(
        self, code: str, *, phase: str = "execute", timeout: timedelta | bool | None = True
    ) -> ExecutionResult:
        """Run ``code`` on the open kernel under a timeout.

        ``timeout`` is ``execution_timeout`` by default (True), or the given limit (None: no
        limit). A timed-out execution is interrupted in the kernel.

        Raises
        ------
        ExecutionTimeoutError
            The code ran longer than ``execution_timeout``.
        CodeExecutionError
            The code raised.
        """
        channel = self.channel
        if channel is None:
            raise NubladoError("No kernel connection", phase=phase)
        self.phase = phase
        limit = self.options.execution_timeout if timeout is True else timeout or None
        try:
            async with self.interruptible(limit):
                return await channel.execute(code)
        except TimeoutError:
            seconds = limit.total_seconds() if limit else 0.0
            await self._interrupt_kernel()
            raise ExecutionTimeoutError(
                f"Code did not finish within {seconds:g}s", code=code, phase=phase,
                user=self.user.username,
            ) from None
        except BusinessError as exc:
            exc.context.setdefault("phase", phase)
            exc.context.setdefault("user", self.user.username)
            raise

    # Internals ---------------------------------------------------------------------------------

    def _where(self) -> dict[str, str]:
        """Image and node of the lab, when known, for alert context (Sentry tags, Slack)."""
        where = {"node": self.node}
        if self.image is not None:
            where["image_reference"] = self.image.get("reference")
            where["image_description"] = self.image.get("description")
        return {k: v for k, v in where.items() if v}

    def _hub(self) -> HubClient:
        if self.hub is None:
            raise NubladoError("Hub client not set up (startup did not run)", phase="execute")
        return self.hub

    async def _lab_stopped(self) -> bool:
        async with self.step("hub_status"):
            return await self._hub().is_stopped(self.user.username)

    async def _setup_session(self) -> None:
        result = await self.run_code(_SETUP_CODE, phase="session_setup")
        try:
            info: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            self.logger.warning("Unparsable lab setup output", output=result.stdout[:200])
            info = {}
        self.image = {"reference": info.get("image"), "description": info.get("description")}
        if self.options.get_node:
            self.node = info.get("node")
        if self.options.working_directory:
            await self.run_code(
                f"import os; os.chdir({self.options.working_directory!r})",
                phase="working_directory",
            )

    async def _interrupt_kernel(self) -> None:
        lab, session = self._lab, self._session
        if lab is None or session is None:
            return
        try:
            async with self.step("kernel_interrupt"):
                await lab.interrupt_kernel(session)
        except JupyterError as exc:
            self.logger.warning("Unable to interrupt the kernel", error=str(exc))

    async def _close_session(self, lab: LabClient, session: LabSession) -> None:
        self._lab = self._session = None
        await self._close_channel()
        self.logger.info("Deleting lab session")
        try:
            if self.stopping:
                # Deleting the lab at shutdown ends the kernel anyway: do not hold the stop.
                async with asyncio.timeout(STOPPING_CALL_TIMEOUT):
                    await lab.delete_session(session)
            else:
                async with self.step("session_delete"):
                    await lab.delete_session(session)
        except (JupyterError, TimeoutError) as exc:
            self.logger.warning("Unable to delete lab session", error=str(exc))

    async def _close_channel(self) -> None:
        channel, self.channel = self.channel, None
        if channel is not None:
            await channel.close()
