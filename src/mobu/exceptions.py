"""Exceptions that know how they are shown: HTTP status and error code, or alert context."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from mobu.models.errors import error_detail, sanitize
from mobu.redaction import redact_text

__all__ = [
    "BusinessError",
    "ClientRequestError",
    "FlockNotFoundError",
    "MobuError",
    "MonkeyNotFoundError",
    "NotRetainingLogsError",
    "QuerySetError",
    "UnknownBusinessError",
    "redact",
]


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """Replace the known ``secrets`` and anything shaped like a credential by ``<redacted>``.

    Credential shapes: URL userinfo passwords, ``token=``/``apikey=``/``password=``-style
    values, ``Authorization`` and bearer values, Gafaelfawr tokens (see :mod:`mobu.redaction`).
    """
    return redact_text(text, secrets)


class MobuError(Exception):
    """Root of mobu's own exceptions."""


class ClientRequestError(MobuError):
    """A client asked for something that cannot be done; carries its HTTP status and code.

    Parameters
    ----------
    message
        Human-readable message.
    location
        Where in the request the problem is, e.g. ``("path", "flock")``.
    """

    error: ClassVar[str] = "invalid_request"
    status_code: ClassVar[int] = 422

    def __init__(self, message: str, location: tuple[str | int, ...] = ("body",)) -> None:
        super().__init__(message)
        self.message = message
        self.location = location

    def to_dict(self) -> dict[str, Any]:
        """Render as the ``detail`` list of an error response (sanitised, like every error)."""
        return {"detail": [error_detail(self.location, self.message, self.error)]}


class FlockNotFoundError(ClientRequestError):
    """No flock of that name."""

    error = "flock_not_found"
    status_code = 404

    def __init__(self, flock: str) -> None:
        super().__init__(f"Flock {sanitize(flock)} not found", ("path", "flock"))


class MonkeyNotFoundError(ClientRequestError):
    """No monkey of that name in the flock."""

    error = "monkey_not_found"
    status_code = 404

    def __init__(self, monkey: str) -> None:
        super().__init__(f"Monkey {sanitize(monkey)} not found", ("path", "monkey"))


class NotRetainingLogsError(ClientRequestError):
    """Monkey logs are not kept (``log_monkeys_to_file`` is false)."""

    error = "mobu_not_retaining_logs"
    status_code = 404

    def __init__(self) -> None:
        super().__init__("mobu is not configured to retain monkey logs", ("path", "monkey"))


class UnknownBusinessError(ClientRequestError):
    """The business type is not registered."""

    error = "unknown_business"
    status_code = 422


class QuerySetError(ClientRequestError):
    """A query set is not a shipped set nor one under the configured ``query_set_dirs``.

    Or it is one, but unusable. The message never tells whether a path outside those
    directories exists.
    """

    error = "invalid_query_set"
    status_code = 422

    def __init__(self, message: str) -> None:
        super().__init__(message, ("body", "business", "options", "query_set"))


class BusinessError(MobuError):
    """A business failed; subclasses add context for logs and alerts.

    Attributes
    ----------
    context
        Key/value facts about the failure (notebook, cell, phase, ...), shown in logs and alerts.
    """

    def __init__(self, message: str, **context: Any) -> None:
        super().__init__(message)
        self.context: dict[str, Any] = {k: v for k, v in context.items() if v is not None}

    def alert_context(self) -> dict[str, Any]:
        """Facts to attach to alerts and Sentry events."""
        return dict(self.context)
