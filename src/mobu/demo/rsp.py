"""Demo component of ``mobu demo --platform rsp``: a local platform shaped like a Rubin one.

Starts the hub shaped like Nublado's (:class:`~mobu.platform.rsp.RspHub`: HTTPS with a test CA,
the image-menu spawn form, bearer login), DaCHS when it is installed, the Gafaelfawr-compatible
token service and a Repertoire document naming them all; mobu is configured only as the chart
does it, with ``gafaelfawr_token`` and ``repertoire_base_url``, so the gafaelfawr identity,
the repertoire discovery and the nublado hub flavour are all selected automatically. The flocks
are the reference deployment's example (reference-deployment.md §5) with local URLs, plus a
NubladoPythonLoop.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from typing import Any

from mobu.demo.base import DemoContribution, DemoSettings, start_in_thread
from mobu.platform.dachs import DachsError, DachsServer, dachs_unavailable_reason
from mobu.platform.gafaelfawr import run_gafaelfawr
from mobu.platform.repertoire import discovery_document, run_repertoire
from mobu.platform.rsp import RspHub

__all__ = ["RspDemo", "rsp_flocks"]

_QUICK = {"spawn_settle_time": 0, "error_idle_time": 10, "delete_timeout": 60}


def rsp_flocks(settings: DemoSettings, *, tap: bool) -> list[dict[str, Any]]:
    """The reference's example flocks (firefighter, tap) with local URLs, and a Python loop."""
    flocks: list[dict[str, Any]] = [
        {
            "name": "firefighter",
            "count": 1,
            "users": [{"username": "bot-mobu04", "uidnumber": 45695, "gidnumber": 1126}],
            "scopes": ["exec:notebook", "exec:portal", "read:image", "read:tap"],
            "business": {
                "type": "NotebookRunnerCounting",
                "restart": True,
                "options": {
                    **_QUICK,
                    "repo_url": settings.notebooks,
                    "repo_ref": settings.notebooks_ref,
                    "max_executions": 3,
                    "delete_lab": False,
                    "idle_time": 5,
                },
            },
        },
        {
            "name": "python",
            "count": settings.monkeys,
            "user_spec": {"username_prefix": "bot-mobu-python", "uid_start": 46000},
            "scopes": ["exec:notebook"],
            "business": {
                "type": "NubladoPythonLoop",
                "restart": True,
                "options": {**_QUICK, "max_executions": 10, "idle_time": 5},
            },
        },
    ]
    if tap:
        flocks.append(
            {
                "name": "tap",
                "count": 1,
                "users": [{"username": "bot-mobu05", "uidnumber": 45696, "gidnumber": 1126}],
                "scopes": ["read:tap"],
                "business": {
                    "type": "TAPQuerySetRunner",
                    "restart": True,
                    "options": {"dataset": "dp02", "query_set": "demo", "idle_time": 5},
                },
            }
        )
    return flocks


class RspDemo:
    """Hub, DaCHS, token service and Repertoire; mobu configured through them only."""

    name = "rsp"

    def __init__(self, settings: DemoSettings) -> None:
        self.settings = settings
        self.hub: RspHub | None = None
        self.dachs: DachsServer | None = None
        self._stack = contextlib.AsyncExitStack()
        self._scope = settings.processes.scope(self.name)

    async def start(self) -> DemoContribution:
        """Start everything; DaCHS is optional (without it there is no TAP flock)."""
        notes: list[str] = []
        datasets: dict[str, dict[str, str]] = {}
        reason = dachs_unavailable_reason()
        if reason is None:
            try:
                self.dachs = await start_in_thread(
                    lambda: DachsServer.start(on_spawn=self._scope.spawned),
                    self._scope,
                    discard=DachsServer.stop,
                )
            except DachsError as exc:
                reason = str(exc)
        if self.dachs is not None:
            datasets["dp02"] = {"tap": self.dachs.tap_url, "sia": self.dachs.sia_url}
            notes.append(f"DaCHS TAP:   {self.dachs.tap_url}  (dataset dp02 in Repertoire)")
        else:
            notes.append(f"DaCHS not started ({reason}): no tap flock")
        hub = RspHub(on_spawn=self._scope.spawned)
        self.hub = hub
        await start_in_thread(hub.start, self._scope, discard=lambda _: None)
        os.environ["SSL_CERT_FILE"] = str(hub.ca.ca_path)  # mobu's clients trust the test CA
        gafaelfawr = await self._stack.enter_async_context(
            run_gafaelfawr(hub.url, hub.admin_token, hub_verify=hub.ca.ssl_context())
        )
        document = discovery_document(
            hub_url=hub.url, gafaelfawr_url=gafaelfawr.base_url, datasets=datasets
        )
        repertoire = await self._stack.enter_async_context(run_repertoire(document))
        return DemoContribution(
            config={
                "gafaelfawr_token": gafaelfawr.service.admin_token,
                "repertoire_base_url": repertoire.url,
            },
            flocks=rsp_flocks(self.settings, tap=self.dachs is not None),
            notes=[
                f"Nublado-shaped hub: {hub.url}  (HTTPS, CA {hub.ca.ca_path})",
                f"Gafaelfawr:  {gafaelfawr.url}",
                f"Repertoire:  {repertoire.url}/discovery",
                *notes,
            ],
        )

    async def stop(self) -> None:
        """Stop the stand-ins, the hub (with its labs) and DaCHS."""
        await self._stack.aclose()
        hub, self.hub = self.hub, None
        if hub is not None:
            await asyncio.to_thread(hub.stop)
            await asyncio.to_thread(hub.cleanup)
        dachs, self.dachs = self.dachs, None
        if dachs is not None:
            await asyncio.to_thread(dachs.stop)
