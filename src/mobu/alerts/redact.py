"""Removing credentials from anything that leaves the process in an alert."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

__all__ = ["REDACTED", "redact_text", "redact_value", "strip_ansi"]

REDACTED = "<redacted>"

_PATTERNS = [
    # Gafaelfawr tokens: gt-<key>.<secret>
    re.compile(r"\bgt-[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"),
    # Authorization headers and bearer tokens
    re.compile(r"(?i)(\bbearer\s+)[A-Za-z0-9._~+/=-]{8,}"),
    re.compile(r"(?i)(\bauthorization[\"']?\s*[:=]\s*[\"']?)(?!bearer\s)[^\s\"',}]+"),
    # token=..., password=..., secret=... in query strings and key/value text
    re.compile(r"(?i)(\b(?:token|access_token|password|passwd|secret|api_key)[\"']?\s*[=:]\s*[\"']?)[^\s\"'&,}]+"),
    # credentials in URLs: scheme://user:password@host
    re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://[^/\s:@]+:)[^/\s@]+(?=@)"),
]

_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")


def strip_ansi(text: str) -> str:
    """Remove terminal colour and cursor escapes (notebook tracebacks are full of them)."""
    return _ANSI.sub("", text)


def redact_text(text: str, secrets: Iterable[str | None] = ()) -> str:
    """Replace known secrets and anything shaped like a credential by ``<redacted>``."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, REDACTED)
    for pattern in _PATTERNS:
        if pattern.groups:
            text = pattern.sub(lambda m: m.group(1) + REDACTED, text)
        else:
            text = pattern.sub(REDACTED, text)
    return text


def redact_value(value: Any, secrets: Iterable[str | None] = ()) -> Any:
    """Redact every string inside nested dicts, lists and tuples."""
    known = list(secrets)
    if isinstance(value, str):
        return redact_text(value, known)
    if isinstance(value, dict):
        return {k: redact_value(v, known) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_value(v, known) for v in value]
    return value
