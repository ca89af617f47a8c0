"""The one serialiser of request errors: ``loc``, ``msg`` and ``type``, never the input."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "MSG_LIMIT",
    "NAME_LIMIT",
    "error_detail",
    "format_errors",
    "sanitize",
    "validation_details",
]

NAME_LIMIT = 100
"""Longest echo of a name the client sent (a path segment, a key) in an error."""

MSG_LIMIT = 1000
"""Longest message of one error."""

_SECRET_MIN = 8
"""Strings of the input at least this long are cut out of messages (shorter ones are no secret)."""

_VALIDATOR_TYPES = frozenset({"value_error", "assertion_error"})
"""Error types whose message is a validator's own text (the others are pydantic templates, and
mobu's custom types raised with messages of known shape)."""

_FIXED_MESSAGES = {
    # pydantic messages that quote the input through their context
    "union_tag_invalid": "Input tag does not match any of the expected tags",
    "no_such_attribute": "Object has no such attribute",
    "datetime_object_invalid": "Invalid datetime object",
    "timezone_offset": "Wrong timezone offset",
}


def sanitize(text: str, limit: int = NAME_LIMIT) -> str:
    """Drop control, format (bidi) and other non-printing characters; cut to ``limit``.

    Every character of a Unicode category ``C*`` goes (NUL, line breaks, bidi overrides, zero
    width joiners, unassigned and private-use code points); a longer text ends with ``…``.
    """
    clean = "".join(ch for ch in text if not unicodedata.category(ch).startswith("C"))
    if len(clean) > limit:
        clean = clean[: max(limit - 1, 0)] + "…"
    return clean


def error_detail(loc: Iterable[Any], msg: str, error_type: str) -> dict[str, Any]:
    """Return one problem, sanitised: its place, its message and its code."""
    return {
        "loc": [
            p if isinstance(p, int) and not isinstance(p, bool) else sanitize(str(p)) for p in loc
        ],
        "msg": sanitize(msg, MSG_LIMIT),
        "type": sanitize(error_type),
    }


def validation_details(errors: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Render pydantic errors: ``loc``, ``msg``, ``type`` only, no ``input``, no ``ctx``.

    Messages that pydantic fills from the input are replaced by fixed ones, and any longer string
    value of the input that a validator's own message quotes is cut out of it.
    """
    details = []
    for err in errors:
        error_type = str(err.get("type", ""))
        msg = _FIXED_MESSAGES.get(error_type) or str(err.get("msg", ""))
        if error_type in _VALIDATOR_TYPES:
            for secret in sorted(_strings(err.get("input")), key=len, reverse=True):
                msg = msg.replace(secret, "<input>")
        details.append(error_detail(err.get("loc", ()), msg, error_type))
    return details


def format_errors(errors: Iterable[Mapping[str, Any]]) -> str:
    """Render pydantic errors as text, one ``key.path: reason`` line each (for the CLI)."""
    lines = []
    for detail in validation_details(errors):
        loc = ".".join(str(p) for p in detail["loc"]) or "(top level)"
        msg = "unknown key" if detail["type"] == "extra_forbidden" else detail["msg"]
        lines.append(f"{loc}: {msg}")
    return "\n".join(lines)


def _strings(value: Any, depth: int = 0) -> set[str]:
    """The strings of at least ``_SECRET_MIN`` characters among the values in ``value``."""
    found: set[str] = set()
    if depth > 20:
        return found
    if isinstance(value, str):
        if len(value) >= _SECRET_MIN:
            found.add(value)
    elif isinstance(value, Mapping):
        for item in value.values():
            found |= _strings(item, depth + 1)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            found |= _strings(item, depth + 1)
    return found
