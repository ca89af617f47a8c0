"""A Repertoire discovery document served over HTTP on 127.0.0.1, for the local RSP platform.

``GET <base>/discovery`` answers with a :class:`rubin.repertoire.Discovery` (the library's own
model, so the schema is exactly Repertoire's), naming the hub (``ui.nublado``), the token
service (``internal.gafaelfawr`` and its ``v1`` API), the local DaCHS TAP/SIA per dataset and the
application list. :meth:`RepertoireStandIn.update` changes it while it runs (a service that
moves).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from rubin.repertoire import Discovery

__all__ = ["RepertoireStandIn", "RunningRepertoire", "discovery_document", "run_repertoire"]


def discovery_document(
    *,
    hub_url: str,
    gafaelfawr_url: str | None = None,
    datasets: dict[str, dict[str, str]] | None = None,
    applications: list[str] | None = None,
    environment_name: str = "local-rsp",
    muster_url: str | None = None,
) -> Discovery:
    """A discovery document: ``gafaelfawr_url`` is the API base (``.../auth/api``)."""
    internal: dict[str, Any] = {}
    if gafaelfawr_url is not None:
        base = gafaelfawr_url.rstrip("/")
        internal["gafaelfawr"] = {"url": base, "versions": {"v1": {"url": f"{base}/v1"}}}
    if muster_url is not None:
        internal["muster"] = {"url": muster_url}
    data = {
        "applications": applications if applications is not None else ["nublado", "tap", "sia"],
        "environment_name": environment_name,
        "datasets": {
            name: {"services": {kind: {"url": url} for kind, url in services.items()}}
            for name, services in (datasets or {}).items()
        },
        "services": {"internal": internal, "ui": {"nublado": {"url": hub_url}}},
    }
    return Discovery.model_validate(data)


class RepertoireStandIn:
    """Serves one discovery document, replaceable at run time."""

    def __init__(self, document: Discovery) -> None:
        self.document = document
        self.reads = 0
        """How many times the document was read."""

    def update(self, document: Discovery) -> None:
        """Serve ``document`` from now on."""
        self.document = document

    def app(self) -> web.Application:
        """The aiohttp application."""
        app = web.Application()
        app.router.add_get("/repertoire/discovery", self.discovery)
        return app

    async def discovery(self, request: web.Request) -> web.Response:
        """``GET /repertoire/discovery``."""
        self.reads += 1
        return web.json_response(self.document.model_dump(mode="json", exclude_defaults=True))


@dataclass(frozen=True, slots=True)
class RunningRepertoire:
    """A running stand-in: ``url`` is what ``REPERTOIRE_BASE_URL`` is set to."""

    url: str
    service: RepertoireStandIn


@asynccontextmanager
async def run_repertoire(document: Discovery, *, port: int = 0) -> AsyncIterator[RunningRepertoire]:
    """Serve ``document`` on 127.0.0.1 (``port`` 0: a free one) until the block ends."""
    service = RepertoireStandIn(document)
    runner = web.AppRunner(service.app(), handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    try:
        bound = runner.addresses[0][1]
        yield RunningRepertoire(url=f"http://127.0.0.1:{bound}/repertoire", service=service)
    finally:
        await runner.cleanup()
