"""What a demo component is: something started before mobu that adds services and flocks."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from mobu.demo.processes import ProcessRegistry, ProcessScope

__all__ = ["DemoComponent", "DemoContribution", "DemoSettings", "start_in_thread"]

T = TypeVar("T")


@dataclass(slots=True)
class DemoSettings:
    """Choices of the ``mobu demo`` command that components may read."""

    notebooks: str
    """Directory, ``file://`` or git URL of the notebooks the notebook runner flock runs."""
    notebooks_ref: str = "main"
    """Branch or tag of ``notebooks`` when it is a git repository."""
    monkeys: int = 2
    """Monkeys of the main flock of each component."""
    processes: ProcessRegistry = field(default_factory=ProcessRegistry)
    """Where components register each process they spawn, the moment they spawn it."""


@dataclass(slots=True)
class DemoContribution:
    """What a started component adds to mobu's configuration.

    Attributes
    ----------
    services
        Entries of ``discovery.services`` (name → URL).
    applications
        Entries of ``discovery.applications``.
    datasets
        Entries of ``discovery.datasets`` (dataset → {tap: URL, sia: URL}).
    identity
        The ``identity`` section, if this component provides the monkeys' tokens.
    flocks
        Autostart flock configurations (``FlockConfig`` as dicts).
    notes
        Lines printed once everything runs (where the service is, how to log in).
    config
        Top-level configuration values (e.g. ``gafaelfawr_token``, ``repertoire_base_url``).
    """

    services: dict[str, str] = field(default_factory=dict)
    applications: list[str] = field(default_factory=list)
    datasets: dict[str, dict[str, str]] = field(default_factory=dict)
    identity: dict[str, Any] | None = None
    flocks: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)


class DemoComponent(Protocol):
    """A local service the demo starts, with the flocks that exercise it."""

    name: str

    async def start(self) -> DemoContribution:
        """Start the service; raise with a clear message if it cannot run here.

        Cancelling it (a stop requested during the start) must leave no process behind:
        blocking starts go through :func:`start_in_thread`.
        """
        ...

    async def stop(self) -> None:
        """Stop everything :meth:`start` started (idempotent; no process may remain).

        Also called after a failed or cancelled start.
        """
        ...


async def start_in_thread(
    start: Callable[[], T], scope: ProcessScope, *, discard: Callable[[T], None]
) -> T:
    """Run a component's blocking ``start`` in a thread that a cancellation really stops.

    ``start`` registers each process it spawns in ``scope``. If the awaiting task is cancelled,
    the scope's processes are stopped (so the thread's waits fail and it returns), the thread is
    waited for, and a result it still produced is handed to ``discard``; then the cancellation
    goes on.
    """
    future = asyncio.get_running_loop().run_in_executor(None, start)
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        await asyncio.to_thread(scope.stop)
        await asyncio.wait({future})
        if not future.cancelled() and future.exception() is None:
            await asyncio.to_thread(discard, future.result())
        raise
