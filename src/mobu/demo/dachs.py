"""Demo component: a private GAVO DaCHS server (TAP, SIA v2) with a TAP flock and an SIA flock."""

from __future__ import annotations

import asyncio

from mobu.demo.base import DemoContribution, DemoSettings, start_in_thread
from mobu.demo.dachs_flocks import demo_flocks
from mobu.platform.dachs import DachsError, DachsServer, dachs_unavailable_reason

__all__ = ["DachsDemo"]


class DachsDemo:
    """Starts DaCHS with the synthetic catalogue and images; TAPQuerySetRunner and SIA flocks."""

    name = "dachs"

    def __init__(self, settings: DemoSettings) -> None:
        self.settings = settings
        self.server: DachsServer | None = None
        self._scope = settings.processes.scope(self.name)

    async def start(self) -> DemoContribution:
        """Start the server and return its dataset entry and flocks.

        PostgreSQL, DaCHS and the setup commands are registered as they are spawned, so a
        cancelled start stops them and waits for the starting thread.
        """
        reason = dachs_unavailable_reason()
        if reason is not None:
            raise DachsError(reason)
        server = await start_in_thread(
            lambda: DachsServer.start(on_spawn=self._scope.spawned),
            self._scope,
            discard=DachsServer.stop,
        )
        self.server = server
        return DemoContribution(
            applications=["tap", "sia"],
            datasets={"demo": {"tap": server.tap_url, "sia": server.sia_url}},
            flocks=demo_flocks(tap_monkeys=self.settings.monkeys, sia_monkeys=1, idle_time=5),
            notes=[
                f"DaCHS TAP:   {server.tap_url}  (tables synth.main, ivoa.obscore)",
                f"DaCHS SIA:   {server.sia_url}",
            ],
        )

    async def stop(self) -> None:
        """Stop DaCHS and its PostgreSQL (by PID) and remove their directory."""
        server, self.server = self.server, None
        if server is not None:
            await asyncio.to_thread(server.stop)
