"""Durations that accept seconds or human strings such as ``5m30s``."""

from __future__ import annotations

import math
import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

__all__ = ["HumanTimedelta", "parse_timedelta"]

_UNITS = {
    "w": 604800.0,
    "week": 604800.0,
    "weeks": 604800.0,
    "d": 86400.0,
    "day": 86400.0,
    "days": 86400.0,
    "h": 3600.0,
    "hr": 3600.0,
    "hour": 3600.0,
    "hours": 3600.0,
    "m": 60.0,
    "min": 60.0,
    "mins": 60.0,
    "minute": 60.0,
    "minutes": 60.0,
    "s": 1.0,
    "sec": 1.0,
    "secs": 1.0,
    "second": 1.0,
    "seconds": 1.0,
    "ms": 0.001,
    "millisecond": 0.001,
    "milliseconds": 0.001,
}
_PART = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]+)\s*")
_NUMBER = re.compile(r"^\s*\d+(?:\.\d+)?\s*$")
_ISO = re.compile(
    r"^P(?:(?P<w>\d+(?:\.\d+)?)W)?(?:(?P<d>\d+(?:\.\d+)?)D)?"
    r"(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)
_ISO_SECONDS = {"w": 604800.0, "d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0}


def parse_timedelta(value: Any) -> timedelta:
    """Parse seconds (number or numeric string) or a human duration string.

    Accepted forms: ``30``, ``"30"``, ``"1.5"``, ``"5m30s"``, ``"1h"``, ``"4h 3minutes"``,
    ``"2w"``, ``"250ms"``, ISO 8601 (``"PT1M30S"``). Negative durations are rejected.
    """
    if isinstance(value, timedelta):
        result = value
    elif isinstance(value, bool):
        raise ValueError(  # noqa: TRY004 - pydantic reports ValueError, not TypeError
            "a duration must be a number of seconds or a string such as '5m30s'"
        )
    elif isinstance(value, int | float):
        result = _seconds(value)
    elif isinstance(value, str):
        number = _NUMBER.match(value)
        result = _seconds(float(value)) if number else _parse_iso(value)
    else:
        raise ValueError(  # noqa: TRY004 - pydantic reports ValueError, not TypeError
            "a duration must be a number of seconds or a string such as '5m30s'"
        )
    if result < timedelta(0):
        raise ValueError("a duration must not be negative")
    return result


_MAX_SECONDS = 10 * 365 * 86400
"""Longest accepted duration (ten years): beyond that it is a mistake, and timedelta overflows."""


def _seconds(value: float) -> timedelta:
    if not math.isfinite(value) or abs(value) > _MAX_SECONDS:
        raise ValueError("a duration must be at most ten years")
    return timedelta(seconds=value)


def _parse_iso(value: str) -> timedelta:
    """ISO 8601 durations (pydantic renders timedelta defaults in JSON schemas as "PT1M")."""
    text = value.strip().upper()
    iso = _ISO.match(text)
    if iso is None or text in ("P", "PT") or text.endswith("T"):
        return _parse_human(value)
    return _seconds(sum(_ISO_SECONDS[k] * float(v) for k, v in iso.groupdict().items() if v))


def _parse_human(value: str) -> timedelta:
    pos = 0
    total = 0.0
    text = value.strip()
    if not text:
        raise ValueError("empty duration")
    while pos < len(text):
        match = _PART.match(text, pos)
        if not match:
            raise ValueError("invalid duration: expected forms like '90', '5m30s', '1h'")
        unit = match.group(2).lower()
        if unit not in _UNITS:
            raise ValueError(f"invalid duration: unknown unit (known: {', '.join(_UNITS)})")
        total += float(match.group(1)) * _UNITS[unit]
        pos = match.end()
    return _seconds(total)


HumanTimedelta = Annotated[
    timedelta,
    BeforeValidator(parse_timedelta),
    PlainSerializer(lambda td: td.total_seconds(), return_type=float, when_used="json"),
    WithJsonSchema(
        {
            "anyOf": [{"type": "number", "minimum": 0}, {"type": "string"}],
            "description": "Seconds, or a duration string such as '5m30s' or '1h'",
        }
    ),
]
"""A duration given as seconds or a human string; serialised to JSON as seconds."""
