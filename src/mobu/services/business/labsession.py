"""One monkey's JupyterHub lab: spawn, delete, sessions and timed steps, all interruptible."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import httpx

from mobu.events import TimedEvent
from mobu.exceptions import BusinessError
from mobu.models.business.nublado import NubladoBusinessOptions
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

__all__ = [
    "STOPPING_CALL_TIMEOUT",
    "LabSessionHelper",
    "NubladoDeleteLab",
    "NubladoError",
    "NubladoSpawnLab",
]

_SETUP_CODE = """\
import json as _j, os as _o, socket as _s
print(_j.dumps({"image": _o.environ.get("JUPYTER_IMAGE_SPEC") or _o.environ.get("JUPYTER_IMAGE"),
  "description": _o.environ.get("IMAGE_DESCRIPTION"),
  "node": _o.environ.get("KUBERNETES_NODE_NAME") or _s.gethostname()}))
"""

STOPPING_CALL_TIMEOUT = 10.0
"""Longest wait, in seconds, for a session delete issued while the monkey is stopping."""


class NubladoSpawnLab(TimedEvent):
    """``nublado_spawn_lab``: one lab spawn."""


class NubladoDeleteLab(TimedEvent):
    """``nublado_delete_lab``: one lab deletion."""


class NubladoError(BusinessError):
    """A lab-cycle step failed for a reason other than the Jupyter clients' own errors."""


class LabSessionHelper:
    """The lab of one business: its hub client, its open session and kernel, its timings.

    Every hub or lab call runs under the business's ``interruptible``, so a stop or a hung
    server never blocks the monkey. Publishes ``nublado_spawn_lab`` and ``nublado_delete_lab``.

    Parameters
    ----------
    business
        The business whose waits (``interruptible``, ``pause``, ``iter_with_timeout``), stop
        flag, user, logger and events the helper uses.
    options
        The business's options (timeouts, spawn options, websocket settings).
    http_client
        Shared httpx client.
    """

    def __init__(
        self,
        business: Business[Any],
        *,
        options: NubladoBusinessOptions,
        http_client: httpx.AsyncClient,
    ) -> None:
        self.business = business
        self.options = options
        self.http_client = http_client
        self.timings = PhaseTimings()
        self.hub: HubClient | None = None
        self.channel: KernelChannel | None = None
        self.image: dict[str, str | None] | None = None
        self.node: str | None = None
        self.phase: str | None = None
        self.lab_may_run = False
        self._lab: LabClient | None = None
        self._session: LabSession | None = None
        self.username = business.user.username
        self._timeout = options.jupyter_timeout.total_seconds()
        self._spawns = business.events.publisher("nublado_spawn_lab", NubladoSpawnLab)
        self._deletes = business.events.publisher("nublado_delete_lab", NubladoDeleteLab)

    def connect(self, hub_url: str, token: str) -> None:
        """Create the hub client for ``hub_url``, authenticated with ``token``."""
        self.hub = HubClient(
            hub_url, token, http=self.http_client, timeout=self._timeout, timings=self.timings
        )

    def hub_client(self) -> HubClient:
        """The hub client; a :class:`NubladoError` if :meth:`connect` was not called."""
        if self.hub is None:
            raise NubladoError("Hub client not set up (startup did not run)", phase="execute")
        return self.hub

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
            async with self.business.interruptible(limit):
                yield
        except TimeoutError:
            raise JupyterError(
                f"{phase} timed out after {limit.total_seconds():g}s",
                phase=phase,
                user=self.username,
                **self.where(),
            ) from None
        except BusinessError as exc:
            exc.context.setdefault("phase", phase)
            exc.context.setdefault("user", self.username)
            for key, value in self.where().items():
                exc.context.setdefault(key, value)
            raise
        finally:
            self.timings.record(f"step.{phase}", time.perf_counter() - start)

    def where(self) -> dict[str, str]:
        """Image and node of the lab, when known, for alert context (Sentry tags, Slack)."""
        where = {"node": self.node}
        if self.image is not None:
            where["image_reference"] = self.image.get("reference")
            where["image_description"] = self.image.get("description")
        return {k: v for k, v in where.items() if v}

    # The lab ---------------------------------------------------------------------------------

    async def lab_stopped(self) -> bool:
        """Whether the hub reports the user's lab as stopped."""
        async with self.step("hub_status"):
            return await self.hub_client().is_stopped(self.username)

    async def delete_existing_lab(self) -> None:
        """Delete a lab left running from before, if any (a delete timeout is only logged)."""
        if await self.lab_stopped():
            return
        self.lab_may_run = True
        self.business.logger.info("Deleting pre-existing lab")
        try:
            await self.delete_lab()
        except JupyterDeleteTimeoutError:
            self.business.logger.warning("Unable to delete pre-existing lab, continuing anyway")

    async def spawn_lab(self) -> bool:
        """Spawn the lab and follow its progress; False if a stop interrupted it."""
        hub = self.hub_client()
        start = time.perf_counter()
        success = False
        try:
            self.lab_may_run = True
            async with self.step("spawn_request"):
                ready = await hub.spawn(self.username, self.options.spawn_options())
            if not ready:
                if not await self.business.pause(self.options.spawn_settle_time):
                    return False
                if not await self._follow_progress(hub, start):
                    return False
            success = True
            self.business.logger.info("Lab spawned", seconds=round(time.perf_counter() - start, 3))
            return True
        finally:
            duration = time.perf_counter() - start
            self.timings.record("spawn", duration)
            if success or not self.business.stopping:
                await self._spawns.publish(NubladoSpawnLab(
                    success=success, duration=timedelta(seconds=duration),
                    **self.business.common_event_attrs(),
                ))  # fmt: skip

    async def _follow_progress(self, hub: HubClient, start: float) -> bool:
        """Read spawn progress until the lab is ready (True); False if a stop ended it.

        A failed spawn, or progress that ends without the lab ready, is a
        :class:`JupyterSpawnError` (:class:`JupyterSpawnTimeoutError` after ``spawn_timeout``).
        """
        messages: list[str] = []
        budget = self.options.spawn_timeout - self.options.spawn_settle_time
        self.phase = "spawn_progress"
        with self.timings.measure("spawn_progress"):
            async for event in self.business.iter_with_timeout(hub.progress(self.username), budget):
                messages.append(f"{event.progress}% {strip_ansi(event.message)}")
                self.business.logger.info(
                    "Spawn progress", progress=event.progress, message=strip_ansi(event.message)
                )
                if event.failed:
                    raise JupyterSpawnError(
                        "Lab spawn failed", phase="spawn_progress", progress="\n".join(messages)
                    )
                if event.ready:
                    return True
        if self.business.stopping:
            return False
        elapsed = time.perf_counter() - start
        if elapsed >= self.options.spawn_timeout.total_seconds():
            raise JupyterSpawnTimeoutError(
                f"Lab did not spawn after {elapsed:.0f}s", phase="spawn_progress",
                progress="\n".join(messages),
            )  # fmt: skip
        raise JupyterSpawnError(
            "Spawn progress ended without the lab being ready", phase="spawn_progress",
            progress="\n".join(messages),
        )  # fmt: skip

    async def delete_lab(self) -> None:
        """Stop the lab and wait (up to ``delete_timeout``) until the hub reports it gone."""
        hub = self.hub_client()
        start = time.perf_counter()
        success = False
        try:
            async with self.step("lab_delete_request"):
                await hub.stop(self.username)
            deadline = start + self.options.delete_timeout.total_seconds()
            delay = 0.1
            while True:
                async with self.step("lab_delete_check"):
                    stopped = await hub.is_stopped(self.username)
                if stopped:
                    break
                elapsed = time.perf_counter() - start
                if time.perf_counter() >= deadline:
                    raise JupyterDeleteTimeoutError(
                        f"Lab not deleted after {elapsed:.0f}s", phase="lab_delete"
                    )
                self.business.logger.info("Waiting for lab deletion", elapsed=round(elapsed, 1))
                if not await self.business.pause(timedelta(seconds=delay)):
                    return
                delay = min(delay * 2, 2.0)
            success = True
            self.image = None
            self.lab_may_run = False
            self.business.logger.info("Lab successfully deleted")
        finally:
            duration = time.perf_counter() - start
            self.timings.record("lab_delete", duration)
            if success or not self.business.stopping:
                await self._deletes.publish(NubladoDeleteLab(
                    success=success, duration=timedelta(seconds=duration),
                    **self.business.common_event_attrs(),
                ))  # fmt: skip

    async def stop_lab(self, *, failure: str) -> None:
        """Ask the hub to stop the lab, without waiting; a failure is logged as ``failure``."""
        if self.hub is None:
            return
        self.lab_may_run = False
        try:
            await self.hub.stop(self.username)
        except JupyterError as exc:
            self.business.logger.warning(failure, error=str(exc))

    # Sessions ---------------------------------------------------------------------------------

    @asynccontextmanager
    async def session(self, name: str | None) -> AsyncIterator[tuple[LabClient, LabSession]]:
        """Open a session (notebook path ``name``, or anonymous) and its kernel connection.

        The body runs with :attr:`channel` connected and the session set up (image, node and
        working directory); leaving deletes the session, bounded when the monkey is stopping.
        """
        hub = self.hub_client()
        lab = LabClient(
            hub.lab_url(self.username), self.business.user.token, username=self.username,
            http=self.http_client, timeout=self._timeout,
            protocol=self.options.websocket_protocol,
            max_message_size=self.options.max_websocket_message_size, timings=self.timings,
        )  # fmt: skip
        async with self.step("lab_first_response"):
            await lab.status()
        async with self.step("session_create"):
            session = await lab.create_session(name, kernel_name=self.options.kernel_name)
        self._lab, self._session = lab, session
        try:
            async with self.step("websocket_open"):
                self.channel = await lab.open_kernel(session)
            await self._setup_session()
            yield lab, session
        finally:
            await self._close_session(lab, session)

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
            async with self.business.interruptible(limit):
                return await channel.execute(code)
        except TimeoutError:
            seconds = limit.total_seconds() if limit else 0.0
            await self._interrupt_kernel()
            raise ExecutionTimeoutError(
                f"Code did not finish within {seconds:g}s",
                code=code,
                phase=phase,
                user=self.username,
            ) from None
        except BusinessError as exc:
            exc.context.setdefault("phase", phase)
            exc.context.setdefault("user", self.username)
            raise

    async def close_channel(self) -> None:
        """Close the kernel connection, if one is open."""
        channel, self.channel = self.channel, None
        if channel is not None:
            await channel.close()

    async def _setup_session(self) -> None:
        result = await self.run_code(_SETUP_CODE, phase="session_setup")
        try:
            parsed: Any = json.loads(result.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            self.business.logger.warning("Unparsable lab setup output", output=result.stdout[:200])
            parsed = None
        info: dict[str, Any] = parsed if isinstance(parsed, dict) else {}  # not e.g. a number
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
            self.business.logger.warning("Unable to interrupt the kernel", error=str(exc))

    async def _close_session(self, lab: LabClient, session: LabSession) -> None:
        self._lab = self._session = None
        await self.close_channel()
        self.business.logger.info("Deleting lab session")
        try:
            if self.business.stopping:
                # Deleting the lab at shutdown ends the kernel anyway: do not hold the stop.
                async with asyncio.timeout(STOPPING_CALL_TIMEOUT):
                    await lab.delete_session(session)
            else:
                async with self.step("session_delete"):
                    await lab.delete_session(session)
        except (JupyterError, TimeoutError) as exc:
            self.business.logger.warning("Unable to delete lab session", error=str(exc))
