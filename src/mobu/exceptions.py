"""Exceptions that know how they are shown: HTTP status and error code, or alert context.

Every exception of mobu derives from :class:`MobuError`::

    MobuError                      error, status_code, location, to_dict()
    ├── ClientRequestError         the request asks for what cannot be done (4xx)
    │   ├── FlockNotFoundError, MonkeyNotFoundError, NotRetainingLogsError   404
    │   ├── UnknownBusinessError, InvalidOptionsError, MissingServiceError   422
    │   ├── QuerySetError                                                    422
    │   └── ShuttingDownError                                                503
    ├── BusinessError              a business failed; alert_context() for Slack and Sentry
    └── the errors of each part (identity, discovery, config, client, storage, ...), each in
        its own module; those that answer a request set status_code (IdentityError: 502)

One API handler renders every ``MobuError`` with a ``status_code``; one without is a failure,
not an answer (a 500 if it ever reaches the API).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from mobu.models.errors import error_detail, format_errors, sanitize, validation_details
from mobu.redaction import redact_text

__all__ = [
    "BusinessDefinitionError",
    "BusinessError",
    "ClientRequestError",
    "FlockNotFoundError",
    "InvalidOptionsError",
    "MissingServiceError",
    "MobuError",
    "MonkeyNotFoundError",
    "NotRetainingLogsError",
    "QuerySetError",
    "ShuttingDownError",
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
    """Root of mobu's own exceptions.

    Attributes
    ----------
    error
        Machine-readable code, the ``type`` of the error response.
    status_code
        HTTP status of the answer when this error ends a request; None for a failure that is
        no answer to a request (rendered as a 500 ``internal_error`` if it reaches the API).
    location
        Where in the request the problem is, e.g. ``("path", "flock")``.
    """

    error: str = "internal_error"
    status_code: int | None = None
    location: tuple[str | int, ...] = ("body",)

    def to_dict(self) -> dict[str, Any]:
        """Render as the body of an error response (sanitised, like every error)."""
        return {"detail": [error_detail(self.location, str(self), self.error)]}


class ClientRequestError(MobuError):
    """A client asked for something that cannot be done; carries its HTTP status and code.

    Parameters
    ----------
    message
        Human-readable message.
    location
        Where in the request the problem is, e.g. ``("path", "flock")``.
    """

    error = "invalid_request"
    status_code: int = 422

    def __init__(self, message: str, location: tuple[str | int, ...] = ("body",)) -> None:
        super().__init__(message)
        self.message = message
        self.location = location


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


class InvalidOptionsError(ClientRequestError):
    """The options of a business do not validate against its options model.

    The message has one ``key.path: reason`` line per error (never the input).

    Parameters
    ----------
    errors
        The pydantic errors of the options, each ``loc`` relative to the options.
    location
        Where the business config is, e.g. ``("body", "business")``; the errors are rendered
        under its ``options``.
    """

    error = "invalid_options"

    def __init__(
        self,
        errors: Sequence[Mapping[str, Any]],
        location: tuple[str | int, ...] = ("body", "business"),
    ) -> None:
        self.errors = [{**e, "loc": ("options", *e.get("loc", ()))} for e in errors]
        super().__init__(format_errors(self.errors_at(location)), location)

    def errors_at(self, location: tuple[str | int, ...]) -> list[dict[str, Any]]:
        """The errors, each ``loc`` starting with ``location`` (for another place of the config)."""
        return [{**e, "loc": (*location, *e["loc"])} for e in self.errors]

    def to_dict(self) -> dict[str, Any]:
        """Render every error, in the one error shape (never the input)."""
        return {"detail": validation_details(self.errors_at(self.location))}


class MissingServiceError(ClientRequestError):
    """A business needs a collaborator that this process does not provide."""

    error = "business_unavailable"

    def __init__(self, business: str, collaborator: str) -> None:
        super().__init__(
            f"business {business} needs {collaborator!r}, which this mobu does not provide"
            " (check the configuration section for it)",
            ("body", "business", "type"),
        )


class ShuttingDownError(ClientRequestError):
    """The process is shutting down: no flock starts any more."""

    error = "mobu_shutting_down"
    status_code = 503

    def __init__(self, name: str) -> None:
        super().__init__(f"Not starting flock {name}: mobu is shutting down")


class BusinessDefinitionError(MobuError):
    """A business class does not fit the constructor contract (e.g. an unknown collaborator)."""


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
