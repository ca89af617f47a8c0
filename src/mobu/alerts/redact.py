"""Removing credentials from alerts: the redaction of :mod:`mobu.redaction`, for every channel."""

from __future__ import annotations

from mobu.redaction import (
    MASK,
    REDACTED,
    mask_url,
    redact_text,
    redact_value,
    strip_ansi,
    url_secrets,
)

__all__ = [
    "MASK",
    "REDACTED",
    "mask_url",
    "redact_text",
    "redact_value",
    "strip_ansi",
    "url_secrets",
]
