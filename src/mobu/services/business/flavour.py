"""Hub flavours: which client drives a Nublado business's lab cycle.

``jupyterhub`` (the default without Repertoire) is :class:`LabSessionHelper` with mobu's own
hub, lab and kernel clients (hub API tokens). ``nublado`` (the default with Repertoire
discovery, or ``hub_flavour: nublado`` per flock) is :class:`NubladoFlavourHelper`: the same
helper, with every hub and lab call made by ``rubin-nublado-client`` — hub login, the spawn
form with the Nublado image menu, progress, the lab login, sessions (``console``, kernel ``lsst``
unless ``kernel_name`` is given) and code execution. Wrapped, not forked: the helper's phase
timings, cell timeouts, stops within the grace, failure context (node, image) and events stay.

What the library does not offer, and this flavour therefore does not do: interrupting a kernel
after a cell timeout (the session is deleted instead) and the websocket wire-protocol choice
(the library always speaks ``v1.kernel.websocket.jupyter.org``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any, Literal, cast

import httpx
from rubin.nublado.client import JupyterLabSession, JupyterLabSessionManager, NubladoError
from rubin.repertoire import DiscoveryClient, RepertoireError

from mobu.discovery import Discovery, RepertoireDiscovery
from mobu.exceptions import BusinessError
from mobu.models.business.nublado import NubladoBusinessOptions
from mobu.services.business.base import Business
from mobu.services.business.labsession import (
    STOPPING_CALL_TIMEOUT,
    LabSessionHelper,
)
from mobu.services.business.labsession import NubladoError as LabError
from mobu.storage.jupyter import (
    ExecutionResult,
    ExecutionTimeoutError,
    HubClient,
    JupyterError,
    LabClient,
    LabSession,
)
from mobu.storage.nublado import NubladoHub, translate_error

__all__ = ["Flavour", "NubladoFlavourHelper", "choose_flavour", "lab_helper"]

Flavour = Literal["jupyterhub", "nublado"]


def choose_flavour(options: NubladoBusinessOptions, discovery: Discovery) -> Flavour:
    """The flock's ``hub_flavour``, else ``nublado`` with Repertoire, else ``jupyterhub``."""
    if options.hub_flavour is not None:
        return options.hub_flavour
    return "nublado" if isinstance(discovery, RepertoireDiscovery) else "jupyterhub"


def lab_helper(
    business: Business[Any],
    *,
    options: NubladoBusinessOptions,
    http_client: httpx.AsyncClient,
    discovery: Discovery,
) -> LabSessionHelper:
    """The lab-cycle helper of the chosen flavour."""
    if choose_flavour(options, discovery) == "jupyterhub":
        return LabSessionHelper(business, options=options, http_client=http_client)
    repertoire = discovery.client if isinstance(discovery, RepertoireDiscovery) else None
    return NubladoFlavourHelper(
        business, options=options, http_client=http_client, repertoire=repertoire
    )


class NubladoFlavourHelper(LabSessionHelper):
    """:class:`LabSessionHelper` driving the lab through ``rubin-nublado-client``.

    Parameters
    ----------
    repertoire
        The Repertoire client the library finds the hub with; None makes startup fail with a
        clear message.
    """

    def __init__(
        self,
        business: Business[Any],
        *,
        options: NubladoBusinessOptions,
        http_client: httpx.AsyncClient,
        repertoire: DiscoveryClient | None,
    ) -> None:
        super().__init__(business, options=options, http_client=http_client)
        self.repertoire = repertoire
        self.nublado: NubladoHub | None = None
        self._stale: list[NubladoHub] = []
        self._manager: JupyterLabSessionManager | None = None
        self._lab_session: JupyterLabSession | None = None
        self._hub_url = ""
        explicit = "kernel_name" in options.model_fields_set
        self.kernel_name = options.kernel_name if explicit else "lsst"

    def connect(self, hub_url: str, token: str) -> None:
        """Make a Nublado client for ``token`` (the previous one is closed at the next call)."""
        if self.repertoire is None:
            raise LabError(
                "The nublado hub flavour finds the hub through Repertoire: set"
                " REPERTOIRE_BASE_URL (or hub_flavour: jupyterhub)",
                phase="startup",
            )
        if self.nublado is not None:
            self._stale.append(self.nublado)
        self.nublado = NubladoHub(
            self.username, token, discovery=self.repertoire,
            timeout=self.options.jupyter_timeout, image=self.options.image,
        )  # fmt: skip
        self._hub_url = hub_url.rstrip("/")
        # The helper's spawn/delete/status steps call the hub client's interface, which the
        # adapter implements (duck-typed: it is not a HubClient).
        self.hub = cast("HubClient", self.nublado)

    async def _close_stale(self) -> None:
        stale, self._stale = self._stale, []
        for client in stale:
            await client.aclose()

    @asynccontextmanager
    async def session(self, name: str | None) -> AsyncIterator[tuple[LabClient, LabSession]]:
        """Log in to the lab, open a session and its kernel, set it up; delete it on leaving."""
        await self._close_stale()
        nublado = self.nublado
        if nublado is None:
            raise LabError("Hub client not set up (startup did not run)", phase="execute")
        async with self.step("lab_login"):
            await _lib(nublado.client.auth_to_lab())
        manager = nublado.client.lab_session(
            name, kernel_name=self.kernel_name,
            max_websocket_size=self.options.max_websocket_message_size,
            websocket_open_timeout=self.options.jupyter_timeout,
        )  # fmt: skip
        async with self.step("session_create"):
            opened: JupyterLabSession = await _lib(manager.__aenter__())
        self._lab_session, self._manager = opened, manager
        lab = LabClient(
            f"{self._hub_url}/user/{self.username}/", self.business.user.token,
            username=self.username, http=self.http_client,
        )  # fmt: skip
        # The library keeps the kernel id to itself; the session id is what mobu shows.
        session = LabSession(id=opened._session_id, kernel_id="", path=name or "")
        try:
            await self._setup_session()
            yield lab, session
        finally:
            self.business.logger.info("Deleting lab session")
            await self.close_channel()

    async def run_code(
        self, code: str, *, phase: str = "execute", timeout: timedelta | bool | None = True
    ) -> ExecutionResult:
        """Run ``code`` in the session's kernel under a timeout (as the base helper does).

        Raises
        ------
        ExecutionTimeoutError
            The code ran longer than its timeout (the session is then unusable).
        CodeExecutionError
            The code raised.
        """
        session = self._lab_session
        if session is None:
            raise LabError("No kernel connection", phase=phase)
        self.phase = phase
        limit = self.options.execution_timeout if timeout is True else timeout or None
        start = time.perf_counter()
        try:
            async with self.business.interruptible(limit):
                output = await session.run_python(code)
        except TimeoutError:
            seconds = limit.total_seconds() if limit else 0.0
            raise ExecutionTimeoutError(
                f"Code did not finish within {seconds:g}s", code=code, phase=phase,
                user=self.username,
            ) from None  # fmt: skip
        except (NubladoError, RepertoireError) as exc:
            error = translate_error(exc, code)
            error.context.setdefault("phase", phase)
            error.context.setdefault("user", self.username)
            raise error from exc
        except BusinessError as exc:
            exc.context.setdefault("phase", phase)
            raise
        duration = time.perf_counter() - start
        self.timings.record("execute", duration)
        return ExecutionResult(code=code, stdout=output, duration=duration)

    async def close_channel(self) -> None:
        """Close the kernel websocket and delete the session (bounded when stopping)."""
        manager, self._manager, self._lab_session = self._manager, None, None
        if manager is None:
            return
        try:
            if self.business.stopping:
                async with asyncio.timeout(STOPPING_CALL_TIMEOUT):
                    await _lib(manager.__aexit__(None, None, None))
            else:
                async with self.step("session_delete"):
                    await _lib(manager.__aexit__(None, None, None))
        except (JupyterError, TimeoutError) as exc:
            self.business.logger.warning("Unable to delete lab session", error=str(exc))

    async def aclose(self) -> None:
        """Close the Nublado clients."""
        await self.close_channel()
        await self._close_stale()
        nublado, self.nublado, self.hub = self.nublado, None, None
        if nublado is not None:  # a restarted monkey connects afresh at its next startup
            await nublado.aclose()


async def _lib[T](call: Any) -> T:
    """Await a library call, turning its errors into mobu's."""
    try:
        return cast("T", await call)
    except (NubladoError, RepertoireError) as exc:
        raise translate_error(exc) from exc
