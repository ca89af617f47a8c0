"""Demo component: a local JupyterHub, a NubladoPythonLoop and a NotebookRunnerCounting flock."""

from __future__ import annotations

import asyncio

from mobu.demo.base import DemoContribution, DemoSettings, start_in_thread
from mobu.platform.hub import LocalHub

__all__ = ["JupyterHubDemo"]


class JupyterHubDemo:
    """Starts a JupyterHub (DummyAuthenticator: any name logs in) and two Jupyter flocks."""

    name = "jupyterhub"

    def __init__(self, settings: DemoSettings) -> None:
        self.settings = settings
        self.hub: LocalHub | None = None
        self._scope = settings.processes.scope(self.name)

    async def start(self) -> DemoContribution:
        """Start the hub and return its discovery entry, identity and flocks.

        The hub is registered as soon as it is spawned; a cancelled start stops it (with the
        proxy and servers it spawned) and waits for the starting thread.
        """
        hub = LocalHub(on_spawn=self._scope.spawned)
        self.hub = hub
        await start_in_thread(hub.start, self._scope, discard=lambda _: None)
        quick = {
            "spawn_settle_time": 0,
            "error_idle_time": 10,
            "delete_timeout": 60,
            "spawn_timeout": 180,
        }
        return DemoContribution(
            services={"hub": hub.url},
            identity={"provider": "jupyterhub", "admin_token": hub.admin_token},
            flocks=[
                {
                    "name": "python",
                    "count": self.settings.monkeys,
                    "user_spec": {"username_prefix": "bot-mobu-python"},
                    "business": {
                        "type": "NubladoPythonLoop",
                        "restart": True,
                        "options": {
                            **quick,
                            "code": "print(2 + 2)",
                            "max_executions": 10,
                            "execution_idle_time": 1,
                            "idle_time": 5,
                        },
                    },
                },
                {
                    "name": "notebooks",
                    "count": 1,
                    "user_spec": {"username_prefix": "bot-mobu-notebook"},
                    "business": {
                        "type": "NotebookRunnerCounting",
                        "restart": True,
                        "options": {
                            **quick,
                            "repo_url": self.settings.notebooks,
                            "repo_ref": self.settings.notebooks_ref,
                            "max_executions": 3,
                            "delete_lab": False,
                            "execution_idle_time": 0,
                            "notebook_idle_time": 1,
                            "idle_time": 5,
                        },
                    },
                },
            ],
            notes=[
                f"JupyterHub:  {hub.url}  (log in with any name; labs of monkeys are bot-mobu-*)",
                f"Hub log:     {hub.log_path}",
            ],
        )

    async def stop(self) -> None:
        """Stop the hub, its proxy and every lab and kernel."""
        hub, self.hub = self.hub, None
        if hub is not None:
            await asyncio.to_thread(hub.stop)
            await asyncio.to_thread(hub.cleanup)
