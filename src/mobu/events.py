"""Typed event publishers.

Every business publishes what it measured through a publisher it gets from :class:`Events`, for
an event model declared in its own module (a :class:`BusinessEvent` or :class:`TimedEvent`).
Publishing is synchronous and cheap: each event is handed to every configured :class:`EventSink`,
and a sink that does I/O must queue it (see :mod:`mobu.sinks` for the bounded queues) so that a
slow backend never slows a monkey. ``Events()`` with no arguments records into memory, which tests
and library users can read back through :attr:`Events.recorder`.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Iterable
from datetime import timedelta
from typing import Any, Generic, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "BusinessEvent",
    "EventBase",
    "EventPublisher",
    "EventRecorder",
    "EventSink",
    "Events",
    "TimedEvent",
]


class EventBase(BaseModel):
    """Attributes on every event: who published it."""

    model_config = ConfigDict(extra="forbid")

    flock: str | None = Field(..., description="Flock of the monkey, null for a solitary run")
    username: str = Field(..., description="Username of the monkey")
    business: str = Field(..., description="Type of business")


class BusinessEvent(EventBase):
    """Base of the events a business publishes about one operation: did it succeed."""

    success: bool = Field(..., description="Whether the operation succeeded")


class TimedEvent(BusinessEvent):
    """A :class:`BusinessEvent` that also says how long the operation took."""

    duration: timedelta | None = Field(None, description="How long it took; null if unknown")


E = TypeVar("E", bound=EventBase)


class EventSink(Protocol):
    """Receives every published event. ``publish`` must not block or raise."""

    def publish(self, name: str, payload: EventBase) -> None:
        """Accept one event named ``name``."""


class EventRecorder:
    """In-memory sink that keeps the most recent events and lets tests wait for them."""

    def __init__(self, maxlen: int = 100_000) -> None:
        self._events: deque[tuple[str, EventBase]] = deque(maxlen=maxlen)
        self._counts: dict[str, int] = {}
        self._changed: asyncio.Event | None = None

    def publish(self, name: str, payload: EventBase) -> None:
        """Record an event."""
        self._events.append((name, payload))
        self._counts[name] = self._counts.get(name, 0) + 1
        if self._changed is not None:
            self._changed.set()

    def published(self, name: str | None = None) -> list[EventBase]:
        """Return recorded events, optionally only those with the given name."""
        return [p for n, p in self._events if name is None or n == name]

    def names(self) -> list[str]:
        """Return the names of the recorded events, in order."""
        return [n for n, _ in self._events]

    def count(self, name: str) -> int:
        """Return how many events with this name were ever published."""
        return self._counts.get(name, 0)

    async def wait_for(self, name: str, count: int = 1) -> list[EventBase]:
        """Wait until at least ``count`` events named ``name`` were published."""
        while self.count(name) < count:
            if self._changed is None:
                self._changed = asyncio.Event()
            self._changed.clear()
            await self._changed.wait()
        return self.published(name)


class EventPublisher(Generic[E]):
    """Publishes events of one type under one name."""

    __slots__ = ("_events", "model", "name")

    def __init__(self, name: str, model: type[E], events: Events) -> None:
        self.name = name
        self.model = model
        self._events = events

    async def publish(self, payload: E) -> None:
        """Publish one event to every sink."""
        self._events.dispatch(self.name, payload)


class Events:
    """The publisher registry of the process, and the fan-out to its sinks.

    Each business declares its event models in its own module and gets their publishers with
    :meth:`publisher` (``events.publisher("tap_query", TapQuery)``), so nothing here knows any
    business. One name has one model: asking again returns the same publisher.
    """

    def __init__(self, sinks: Iterable[EventSink] | None = None) -> None:
        self.recorder: EventRecorder | None = None
        if sinks is None:
            self.recorder = EventRecorder()
            self._sinks: list[EventSink] = [self.recorder]
        else:
            self._sinks = list(sinks)
        self._publishers: dict[str, EventPublisher[Any]] = {}

    def add_sink(self, sink: EventSink) -> None:
        """Send every later event to ``sink`` too."""
        self._sinks.append(sink)

    def remove_sink(self, sink: EventSink) -> None:
        """Stop sending events to ``sink``."""
        self._sinks.remove(sink)

    def publisher(self, name: str, model: type[E]) -> EventPublisher[E]:
        """Return the publisher for events named ``name`` with payload ``model``."""
        existing = self._publishers.get(name)
        if existing is not None:
            if existing.model is not model:
                raise ValueError(f"event {name} is already published as {existing.model.__name__}")
            return existing
        publisher = EventPublisher(name, model, self)
        self._publishers[name] = publisher
        return publisher

    def dispatch(self, name: str, payload: EventBase) -> None:
        """Hand one event to every sink."""
        for sink in self._sinks:
            sink.publish(name, payload)
