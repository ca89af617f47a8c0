"""The dashboard's start / stop / refresh buttons, and the check that they came from it.

The buttons use the API's authentication (the bearer token the page keeps in the browser's
session, or the ingress's header) and are refused unless the request carries the page's own
header ``X-Mobu-UI`` (a cross-site form or ``fetch`` cannot set it without a CORS preflight,
which mobu never grants) and, when the browser says where it came from (``Origin``,
``Sec-Fetch-Site``), it is this site.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit
from weakref import WeakKeyDictionary

from mobu.models.flock import FlockConfig
from mobu.replicas.group import ReplicaGroup
from mobu.services.manager import FlockManager
from mobu.ui.errors import CrossSiteRequestError, NoFlockConfigError

__all__ = ["UI_HEADER", "FlockActions", "check_same_origin"]

UI_HEADER = "x-mobu-ui"
"""The header the dashboard's page sends with every request."""

_KNOWN: WeakKeyDictionary[FlockManager, dict[str, FlockConfig]] = WeakKeyDictionary()
"""Per manager (so per process context), the configuration of the flocks stopped from the
dashboard, so that its start button can start them again."""


def check_same_origin(headers: Mapping[str, str], host: str) -> None:
    """Raise :class:`CrossSiteRequestError` unless the request came from the dashboard's page.

    ``headers``: the request's headers (lower-case names); ``host``: the ``Host`` it was sent to.
    """
    if headers.get(UI_HEADER) != "1":
        raise CrossSiteRequestError("Only the dashboard's page may do this", ("header", UI_HEADER))
    site = headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        raise CrossSiteRequestError(f"Request from another site ({site})", ("header", "origin"))
    origin = headers.get("origin")
    if origin is not None and origin != "null" and urlsplit(origin).netloc != host:
        raise CrossSiteRequestError("Request from another origin", ("header", "origin"))


class FlockActions:
    """Start, stop and refresh a flock for the dashboard.

    Parameters
    ----------
    manager
        The process's flock manager.
    autostart
        The ``autostart:`` flocks of the configuration: start knows their configuration.
    group
        The replica group, if any: the buttons then change the shared desired state (the
        calls of the API's ``PUT``, ``DELETE`` and refresh), so they reach every replica.
    """

    def __init__(
        self,
        manager: FlockManager,
        autostart: Sequence[FlockConfig],
        group: ReplicaGroup | None = None,
    ) -> None:
        self._manager = manager
        self._autostart = {c.name: c for c in autostart}
        self._stopped = _KNOWN.setdefault(manager, {})
        self._group = group

    def can_start(self, name: str) -> bool:
        """Whether start knows the configuration of flock ``name``."""
        return name in self._stopped or name in self._autostart

    async def _running(self, name: str) -> FlockConfig | None:
        """The configuration flock ``name`` runs with (a group: its desired spec), if it runs."""
        if self._group is not None:
            desired = (await self._group.desired()).get(name)
            if desired is not None:
                return desired.spec
        if name in self._manager.list_flocks():
            return self._manager.get_flock(name).config
        return None

    async def stop(self, name: str) -> str:
        """Stop a running flock (its configuration is kept for start)."""
        config = await self._running(name)
        if self._group is not None:
            await self._group.delete(name)
        else:
            await self._manager.stop_flock(name)
        if config is not None:
            self._stopped[name] = config
        return f"Flock {name} stopped"

    async def start(self, name: str) -> str:
        """Start the flock ``name`` again (replacing it if it runs) from its known config."""
        config = self._stopped.get(name) or self._autostart.get(name)
        if config is None:
            msg = f"The configuration of flock {name} is not known here; start it with the API"
            raise NoFlockConfigError(msg, ("path", "flock"))
        config = await self._running(name) or config
        if self._group is not None:
            await self._group.put(config)
        else:
            await self._manager.start_flock(config)
        self._stopped.pop(name, None)
        return f"Flock {name} started"

    async def refresh(self, name: str) -> str:
        """Ask every monkey of the flock to refresh (a group: on every replica)."""
        if self._group is not None:
            await self._group.refresh(name)
        else:
            self._manager.refresh_flock(name)
        return f"Flock {name}: refresh requested"
