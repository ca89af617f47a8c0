"""How an event looks outside the process: a flat JSON object."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from mobu.events import EventBase

__all__ = ["event_record"]


def event_record(
    name: str, payload: EventBase, app_name: str, time_ns: int | None = None
) -> dict[str, Any]:
    """Return the exported form of an event.

    The payload's fields keep the reference's names; durations become float seconds (as the
    reference's Avro serialisation does). Added: ``id`` (UUID4), ``event`` (publisher name),
    ``app_name``, ``timestamp`` (ISO 8601, UTC) and ``timestamp_ns``.
    """
    ns = time.time_ns() if time_ns is None else time_ns
    record: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "event": name,
        "app_name": app_name,
        "timestamp": datetime.fromtimestamp(ns / 1e9, tz=UTC).isoformat(),
        "timestamp_ns": ns,
    }
    for key, value in payload.model_dump(mode="python").items():
        if isinstance(value, timedelta):
            record[key] = value.total_seconds()
        elif isinstance(value, datetime):
            record[key] = value.isoformat()
        else:
            record[key] = value
    return record
