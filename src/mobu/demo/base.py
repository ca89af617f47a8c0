"""What a demo component is: something started before mobu that adds services and flocks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = ["DemoComponent", "DemoContribution", "DemoSettings"]


@dataclass(slots=True)
class DemoSettings:
    """Choices of the ``mobu demo`` command that components may read."""

    notebooks: str
    """Directory, ``file://`` or git URL of the notebooks the notebook runner flock runs."""
    notebooks_ref: str = "main"
    """Branch or tag of ``notebooks`` when it is a git repository."""
    monkeys: int = 2
    """Monkeys of the main flock of each component."""


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
    """

    services: dict[str, str] = field(default_factory=dict)
    applications: list[str] = field(default_factory=list)
    datasets: dict[str, dict[str, str]] = field(default_factory=dict)
    identity: dict[str, Any] | None = None
    flocks: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class DemoComponent(Protocol):
    """A local service the demo starts, with the flocks that exercise it."""

    name: str

    async def start(self) -> DemoContribution:
        """Start the service; raise with a clear message if it cannot run here."""
        ...

    async def stop(self) -> None:
        """Stop everything :meth:`start` started (idempotent; no process may remain)."""
        ...
