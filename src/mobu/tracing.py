"""Sentry performance tracing: one transaction per business iteration, one span per phase.

:func:`iteration` wraps each ``execute()`` of a business (``Business.run`` and ``run_once``) in
a transaction ``"<Business> - execute"`` in its own isolation scope (tags ``flock``,
``business``, user ``{username}``); an exception that escapes it, unless a stop caused it,
tags the transaction ``errored=true`` (what ``sentryTracesSampleConfig: errors`` keeps).

Spans come from two generic places, so no business is edited: every phase timed with
``PhaseTimings.measure`` (token, spawn request, spawn progress, lab login, session create and
delete, WebSocket open) is a span around the phase (:func:`phase`), and every published event
with a duration (lab spawn and delete, each notebook cell, notebook, Python execution, TAP or SIA
query, Git-LFS check, Muster run, HTTP check) becomes a span ending when it is published
(:class:`TracingSink`). Nothing is done unless a Sentry reporter with tracing turned it on
(:func:`enable`): the default costs one attribute read per phase.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import sentry_sdk

from mobu.events import EventBase

__all__ = ["TracingSink", "disable", "enable", "enabled", "iteration", "phase"]


class _State:
    enabled = False


def enable() -> None:
    """Start tracing (the Sentry reporter calls it when its sample rate is not 0)."""
    _State.enabled = True


def disable() -> None:
    """Stop tracing."""
    _State.enabled = False


def enabled() -> bool:
    """Whether iterations and phases are traced."""
    return _State.enabled


@contextmanager
def iteration(
    business: str, *, flock: str | None, username: str, stopping: Callable[[], bool]
) -> Iterator[None]:
    """A transaction around one iteration (``execute()``) of a business."""
    if not _State.enabled:
        yield
        return
    with sentry_sdk.isolation_scope() as scope:
        scope.set_tag("flock", flock or "(solitary)")
        scope.set_tag("business", business)
        scope.set_user({"username": username})
        with sentry_sdk.start_transaction(op="mobu.execute", name=f"{business} - execute") as tx:
            tx.set_tag("flock", flock or "(solitary)")
            tx.set_tag("business", business)
            try:
                yield
            except BaseException:
                if not stopping():
                    tx.set_tag("errored", "true")
                    tx.set_status("internal_error")
                raise
            tx.set_status("ok")


@contextmanager
def phase(name: str) -> Iterator[None]:
    """A span around a phase of the current iteration (none outside one)."""
    if not _State.enabled:
        yield
        return
    parent = sentry_sdk.get_current_span()
    if parent is None:
        yield
        return
    with parent.start_child(op=name, name=name) as span:
        span.set_tag("phase", name)
        yield
        span.set_status("ok")


class TracingSink:
    """An event sink: each event with a duration becomes a finished span of the iteration
    that published it (the monkey's task publishes synchronously, in its own scope)."""

    def publish(self, name: str, payload: EventBase) -> None:
        """Add a span ``name`` that ended now and lasted the event's duration."""
        if not _State.enabled:
            return
        duration = payload.__dict__.get("duration")
        if not isinstance(duration, timedelta):
            return
        parent = sentry_sdk.get_current_span()
        if parent is None:
            return
        end = datetime.now(tz=UTC)
        label = " ".join(
            str(payload.__dict__[key]) for key in ("notebook", "cell_id") if key in payload.__dict__
        )
        span = parent.start_child(op=name, name=f"{name} {label}" if label else name,
                                  start_timestamp=end - duration)  # fmt: skip
        success = payload.__dict__.get("success")
        if success is not None:
            span.set_status("ok" if success else "internal_error")
        span.finish(end_timestamp=end)
