"""Option types that carry secrets: the secret is the type, never serialised back.

``SecretText`` (a header value, a password) is a :class:`pydantic.SecretStr` that serialises as
``**********``; the URL types serialise with the password of their userinfo and the values of
credential-named query parameters (``token=``, ``apikey=`` ...) masked. Both show
the real value only under the serialisation context ``{"reveal_secrets": True}``, which the
client uses to send a configuration to the server (``model_dump(context=REVEAL)``).
:func:`secret_values` lists the secrets of a model so that logs can redact them too.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from pydantic import AnyHttpUrl, AnyUrl, BaseModel, HttpUrl, PlainSerializer, SecretStr
from pydantic_core.core_schema import SerializationInfo

from mobu.redaction import MASK, mask_url, url_secrets

__all__ = [
    "REVEAL",
    "SecretAnyHttpUrl",
    "SecretHttpUrl",
    "SecretText",
    "mask_url",
    "secret_values",
    "serialize_secret_url",
]

REVEAL: dict[str, Any] = {"reveal_secrets": True}
"""Serialisation context under which secrets are written out (only to send them to mobu)."""


def _revealing(info: SerializationInfo) -> bool:
    context = info.context
    return isinstance(context, dict) and bool(context.get("reveal_secrets"))


def _serialize_text(value: SecretStr, info: SerializationInfo) -> str:
    return value.get_secret_value() if _revealing(info) else MASK


def serialize_secret_url(value: object, info: SerializationInfo) -> str:
    """Serialise a URL (or URL string) with its password masked, unless revealing."""
    text = str(value)
    return text if _revealing(info) else mask_url(text)


SecretText = Annotated[
    SecretStr, PlainSerializer(_serialize_text, return_type=str, when_used="always")
]
"""A secret string: ``**********`` in every dump, API answer and report."""

SecretHttpUrl = Annotated[
    HttpUrl, PlainSerializer(serialize_secret_url, return_type=str, when_used="always")
]
"""An http(s) URL whose userinfo password is masked when serialised."""

SecretAnyHttpUrl = Annotated[
    AnyHttpUrl, PlainSerializer(serialize_secret_url, return_type=str, when_used="always")
]
"""Like :data:`SecretHttpUrl`, without the TLD requirement."""


def secret_values(value: object) -> list[str]:
    """Every secret inside ``value``: SecretStr values, URL passwords and query credentials."""
    return [s for s in _walk(value) if s]


def _walk(value: object) -> Iterator[str]:
    if isinstance(value, SecretStr):
        yield value.get_secret_value()
    elif isinstance(value, AnyUrl):
        yield from url_secrets(str(value))
    elif isinstance(value, BaseModel):
        for item in value.__dict__.values():
            yield from _walk(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _walk(item)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            yield from _walk(item)
    elif isinstance(value, str) and "://" in value:
        yield from url_secrets(value)
