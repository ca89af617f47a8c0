"""Errors of the replica group (each carries its HTTP status)."""

from __future__ import annotations

from mobu.exceptions import ClientRequestError

__all__ = ["ReplicaUnreachableError", "SharedStateUnavailableError"]


class SharedStateUnavailableError(ClientRequestError):
    """The shared store cannot be read or written right now (the monkeys keep running)."""

    error = "shared_state_unavailable"
    status_code = 503

    def __init__(self, reason: str) -> None:
        super().__init__(f"Shared state unavailable: {reason}", ("path",))


class ReplicaUnreachableError(ClientRequestError):
    """The replica that runs a monkey is missing or does not answer."""

    error = "replica_unreachable"
    status_code = 503

    def __init__(self, replica: int, reason: str) -> None:
        super().__init__(f"Replica {replica} unreachable: {reason}", ("path", "monkey"))
