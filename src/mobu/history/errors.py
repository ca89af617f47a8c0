"""Errors of the history routes (each carries its HTTP status)."""

from __future__ import annotations

from mobu.exceptions import ClientRequestError

__all__ = ["HistoryDisabledError", "HistoryUnavailableError", "InvalidHistoryQueryError"]


class InvalidHistoryQueryError(ClientRequestError):
    """A query parameter of a history route is invalid (names the parameter, not its value)."""

    error = "invalid_history_query"
    status_code = 422

    def __init__(self, parameter: str, reason: str) -> None:
        super().__init__(f"Invalid {parameter}: {reason}", ("query", parameter))


class HistoryDisabledError(ClientRequestError):
    """History is not kept (``history.enabled: false``)."""

    error = "history_disabled"
    status_code = 404

    def __init__(self) -> None:
        super().__init__("mobu is not configured to keep history", ("path",))


class HistoryUnavailableError(ClientRequestError):
    """The history store cannot be read right now."""

    error = "history_unavailable"
    status_code = 503

    def __init__(self, reason: str) -> None:
        super().__init__(f"History store unavailable: {reason}", ("path",))
