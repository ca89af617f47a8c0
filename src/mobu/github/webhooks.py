"""Webhook deliveries: signature check (``X-Hub-Signature-256``), organisation check, payloads.

The signature is checked by :meth:`gidgethub.sansio.Event.from_http` (HMAC-SHA256 of the body
with the app's webhook secret, compared in constant time) before anything else is read; only the
SHA-256 signature counts (the legacy SHA-1 ``X-Hub-Signature`` is never looked at). Payloads are
parsed with Safir's models, extended with the few fields mobu also reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gidgethub import BadRequest, ValidationFailure
from gidgethub.sansio import Event
from pydantic import BaseModel
from safir.github.models import GitHubRepositoryModel
from safir.github.webhooks import (
    GitHubCheckRunEventModel,
    GitHubCheckSuiteEventModel,
    GitHubPullRequestEventModel,
    GitHubPushEventModel,
)

from mobu.exceptions import ClientRequestError, MobuError

__all__ = [
    "CheckRunEvent",
    "CheckSuiteEvent",
    "Delivery",
    "InvalidSignatureError",
    "InvalidWebhookError",
    "PullRequestEvent",
    "PushEvent",
    "RepositoryModel",
    "parse_delivery",
]

SIGNATURE_HEADER = "x-hub-signature-256"


class InvalidSignatureError(MobuError):
    """The delivery's ``X-Hub-Signature-256`` is missing or does not match the secret."""

    error = "invalid_signature"
    status_code = 401
    location = ("header", SIGNATURE_HEADER)


class InvalidWebhookError(ClientRequestError):
    """A correctly signed delivery that is not a usable webhook (headers, content type, body)."""

    error = "invalid_webhook"
    status_code = 400


class RepositoryModel(GitHubRepositoryModel):
    """A webhook's ``repository``, with the clone URLs mobu matches and clones."""

    clone_url: str
    ssh_url: str | None = None
    git_url: str | None = None


class PushEvent(GitHubPushEventModel):
    """``push``."""

    repository: RepositoryModel


class PullRequestEvent(GitHubPullRequestEventModel):
    """``pull_request``."""

    repository: RepositoryModel


class CheckSuiteEvent(GitHubCheckSuiteEventModel):
    """``check_suite``."""

    repository: RepositoryModel


class CheckRunEvent(GitHubCheckRunEventModel):
    """``check_run``."""

    repository: RepositoryModel


@dataclass(frozen=True, slots=True)
class Delivery:
    """One verified delivery."""

    event: str
    delivery_id: str
    data: dict[str, Any]

    @property
    def org(self) -> str | None:
        """The organisation (or, for a user's repository, the owner) the delivery is about."""
        org = self.data.get("organization")
        if isinstance(org, dict) and isinstance(org.get("login"), str):
            return str(org["login"])
        repo = self.data.get("repository")
        owner = repo.get("owner") if isinstance(repo, dict) else None
        if isinstance(owner, dict) and isinstance(owner.get("login"), str):
            return str(owner["login"])
        return None

    def accepted(self, orgs: list[str]) -> bool:
        """Whether the delivery's organisation is one of ``orgs`` (case-insensitive)."""
        org = self.org
        return org is not None and org.lower() in {o.lower() for o in orgs}

    def parse[M: BaseModel](self, model: type[M]) -> M:
        """The payload as ``model``.

        Raises
        ------
        InvalidWebhookError
            The payload does not have the event's documented shape.
        """
        try:
            return model.model_validate(self.data)
        except ValueError as exc:
            raise InvalidWebhookError(
                f"Payload of {self.event} event does not match its schema"
            ) from exc


def parse_delivery(headers: Mapping[str, str], body: bytes, secret: str) -> Delivery:
    """Verify the signature of a delivery, then read it.

    Parameters
    ----------
    headers
        Request headers (looked up by lowercase name).
    body
        The raw request body, exactly as received.
    secret
        The app's webhook secret.

    Raises
    ------
    InvalidSignatureError
        No ``X-Hub-Signature-256``, or it does not match.
    InvalidWebhookError
        Signed, but without ``X-GitHub-Event``/``X-GitHub-Delivery``, or not a JSON object.
    """
    signature = headers.get(SIGNATURE_HEADER)
    if not signature:
        raise InvalidSignatureError("Missing X-Hub-Signature-256 header")
    given = {
        SIGNATURE_HEADER: signature,
        "content-type": headers.get("content-type", ""),
        "x-github-event": headers.get("x-github-event", ""),
        "x-github-delivery": headers.get("x-github-delivery", ""),
    }
    try:
        event = Event.from_http(given, body, secret=secret)
    except ValidationFailure as exc:
        raise InvalidSignatureError("Invalid X-Hub-Signature-256 signature") from exc
    except (BadRequest, ValueError) as exc:
        raise InvalidWebhookError("Webhook body is not JSON", ("header", "content-type")) from exc
    if not event.event:
        raise InvalidWebhookError("Missing X-GitHub-Event header", ("header", "x-github-event"))
    if not isinstance(event.data, dict):
        raise InvalidWebhookError("Webhook payload is not a JSON object")
    return Delivery(event=event.event, delivery_id=event.delivery_id, data=event.data)
