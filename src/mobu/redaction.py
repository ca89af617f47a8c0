"""Removing credentials from anything mobu writes or answers: logs, dumps, alerts, events."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

__all__ = [
    "MASK",
    "REDACTED",
    "mask_url",
    "redact_text",
    "redact_value",
    "strip_ansi",
    "url_secrets",
]

REDACTED = "<redacted>"
"""What a credential found in free text (a log line, an error message) is replaced by."""

MASK = "**********"
"""What a secret option is serialised as (pydantic's own ``SecretStr`` mask)."""

_KEYS = (
    r"token|access_token|refresh_token|id_token|password|passwd|secret|client_secret"
    r"|api_key|apikey|api-key"
)

_MASKED = r"\*{10}(?![^\s\"'&,}@])"
"""A value that is already masked (``**********``) is left alone."""

_PATTERNS = [
    # Gafaelfawr tokens: gt-<key>.<secret>
    re.compile(r"\bgt-[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"),
    # Authorization headers and bearer tokens
    re.compile(r"(?i)(\bbearer\s+)[A-Za-z0-9._~+/=-]{8,}"),
    re.compile(
        r"(?i)(\bauthorization[\"']?\s*[:=]\s*[\"']?(?:(?:basic|token|digest|negotiate)\s+)?)"
        r"(?!bearer\s)[^\s\"',}]{8,}"  # credentials are long; "Token bogus" is shown
    ),
    # token=..., apikey=..., password=..., secret=... in query strings and key/value text
    re.compile(rf"(?i)(\b(?:{_KEYS})[\"']?\s*[=:]\s*[\"']?)(?!{_MASKED})[^\s\"'&,}}]+"),
    # credentials in URLs: scheme://user:password@host
    re.compile(rf"(?i)(\b[a-z][a-z0-9+.-]*://[^/\s:@]+:)(?!{_MASKED}@)[^/\s@]+(?=@)"),
]

_QUERY_SECRET = re.compile(rf"(?i)((?:^|&)(?:{_KEYS})=)([^&]+)")
"""A credential-named query parameter and its value."""

_TRIGGER = re.compile(r"(?i)gt-|bearer|authorization|token|passw|secret|api.?key|@")
"""Text without any of these cannot match a pattern (one cheap search instead of five)."""

_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")


def strip_ansi(text: str) -> str:
    """Remove terminal colour and cursor escapes (notebook tracebacks are full of them)."""
    return _ANSI.sub("", text)


def redact_text(text: str, secrets: Iterable[str | None] = ()) -> str:
    """Replace known secrets and anything shaped like a credential by ``<redacted>``."""
    for secret in secrets:
        if secret and len(secret) >= 4 and secret in text:
            text = text.replace(secret, REDACTED)
    if not _TRIGGER.search(text):
        return text
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


def mask_url(url: str) -> str:
    """``url`` with its secrets replaced by ``**********``.

    The secrets of a URL: the password of its userinfo and the values of credential-named
    query parameters (``token``, ``apikey``, ``password``, ... as in :func:`redact_text`).
    """
    if "://" not in url:
        return url
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return redact_text(url)
    if password:
        userinfo, _, host = parts.netloc.rpartition("@")
        user = userinfo.split(":", 1)[0]
        parts = parts._replace(netloc=f"{user}:{MASK}@{host}")
    if parts.query:
        parts = parts._replace(query=_QUERY_SECRET.sub(lambda m: m.group(1) + MASK, parts.query))
    return urlunsplit(parts)


def url_secrets(url: str) -> list[str]:
    """The secrets of ``url`` (see :func:`mask_url`), as written and percent-decoded."""
    found: list[str] = []
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return found
    values = [password] if password else []
    values.extend(m.group(2) for m in _QUERY_SECRET.finditer(parts.query))
    for value in values:
        found.append(value)
        if unquote(value) != value:
            found.append(unquote(value))
    return found
