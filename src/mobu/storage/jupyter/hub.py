"""Client of the JupyterHub REST API (token in the header; no cookies, no XSRF)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import httpx

from mobu.storage.jupyter.errors import JupyterProtocolError, JupyterWebError
from mobu.storage.jupyter.http import TokenHttp
from mobu.storage.jupyter.timing import PhaseTimings

__all__ = ["HubClient", "MintedToken", "SpawnProgress"]


@dataclass(frozen=True, slots=True)
class SpawnProgress:
    """One event of the spawn progress stream."""

    progress: int
    message: str
    ready: bool = False
    failed: bool = False
    url: str | None = None


@dataclass(frozen=True, slots=True)
class MintedToken:
    """A token created through the hub API."""

    token: str
    id: str | None

    def __repr__(self) -> str:
        return f"MintedToken(id={self.id!r}, token=<redacted>)"


class HubClient:
    """Calls ``<hub>/hub/api/...`` as one token (a user's or the admin service's).

    Parameters
    ----------
    hub_url
        Public URL of the hub (where ``/hub/api/`` and ``/user/<name>/`` live).
    token
        Token to authenticate with.
    http
        Shared httpx client.
    timeout
        Timeout of each HTTP call, in seconds (the progress stream: between two events).
    timings
        Where phase durations are recorded.
    """

    def __init__(
        self,
        hub_url: str,
        token: str | None,
        *,
        http: httpx.AsyncClient,
        timeout: float = 60.0,
        timings: PhaseTimings | None = None,
    ) -> None:
        self.api = TokenHttp(hub_url, token, http, timeout)
        self.timings = timings if timings is not None else PhaseTimings()

    @property
    def hub_url(self) -> str:
        """Public base URL of the hub, with a trailing slash."""
        return self.api.base_url

    def lab_url(self, username: str) -> str:
        """Base URL of ``username``'s default server."""
        return f"{self.hub_url}user/{quote(username, safe='')}/"

    async def version(self) -> str:
        """Return the hub's version (``GET /hub/api/``): a cheap is-it-up check."""
        response = await self.api.request("GET", "hub/api/", ok=(200,))
        return str(response.json().get("version", ""))

    async def get_user(self, username: str) -> dict[str, Any] | None:
        """Return the user model, or None if the user does not exist."""
        response = await self.api.request("GET", _user(username), ok=(200, 404))
        if response.status_code == 404:
            return None
        data = response.json()
        if not isinstance(data, dict):
            raise JupyterProtocolError(f"Unexpected user model for {username}")
        return data

    async def ensure_user(self, username: str) -> bool:
        """Create the user if missing; returns True if it was created."""
        response = await self.api.request("POST", _user(username), ok=(201, 409))
        return response.status_code == 201

    async def mint_token(
        self,
        username: str,
        *,
        note: str,
        expires_in: timedelta | None,
        scopes: list[str] | None,
    ) -> MintedToken:
        """Create an API token for ``username`` (needs the ``tokens`` scope on that user)."""
        body: dict[str, Any] = {"note": note}
        if expires_in is not None:
            body["expires_in"] = int(expires_in.total_seconds())
        if scopes:
            body["scopes"] = scopes
        with self.timings.measure("token"):
            response = await self.api.request(
                "POST", f"{_user(username)}/tokens", json=body, ok=(200, 201)
            )
        data = response.json()
        if not isinstance(data, dict) or not data.get("token"):
            raise JupyterProtocolError(f"No token in the hub's reply for {username}")
        token_id = data.get("id")
        return MintedToken(token=str(data["token"]), id=None if token_id is None else str(token_id))

    async def revoke_token(self, username: str, token_id: str) -> None:
        """Delete a token by id; a missing one is not an error."""
        await self.api.request(
            "DELETE", f"{_user(username)}/tokens/{quote(token_id, safe='')}", ok=(204, 404)
        )

    async def spawn(self, username: str, user_options: dict[str, Any] | None = None) -> bool:
        """Ask for the default server; True if it is ready already (201), False if pending.

        A server that is already running counts as ready.
        """
        with self.timings.measure("spawn_request"):
            response = await self.api.request(
                "POST", f"{_user(username)}/server", json=user_options or {}, ok=(201, 202, 400)
            )
        if response.status_code == 400:
            if "already running" in response.text:
                return True
            raise JupyterWebError(
                f"Status 400 from POST {self.api.url(_user(username))}/server",
                method="POST",
                url=self.api.url(f"{_user(username)}/server"),
                status=400,
                body=response.text,
            )
        return response.status_code == 201

    async def progress(self, username: str) -> AsyncIterator[SpawnProgress]:
        """Yield the events of the spawn progress stream (server-sent events) until it ends.

        Unparsable events are skipped. The caller bounds the whole stream in time.
        """
        url = self.api.url(f"{_user(username)}/server/progress")
        try:
            async with self.api.http.stream(
                "GET", url, headers=self.api.headers, timeout=self.api.timeout
            ) as response:
                if response.status_code != 200:
                    body = (await response.aread()).decode(errors="replace")
                    raise JupyterWebError(
                        f"Status {response.status_code} from GET {url}",
                        method="GET",
                        url=url,
                        status=response.status_code,
                        body=body,
                    )
                async for line in response.aiter_lines():
                    event = _parse_event(line)
                    if event is not None:
                        yield event
        except httpx.HTTPError as exc:
            raise JupyterWebError(
                f"{type(exc).__name__} from GET {url}: {exc}", method="GET", url=url
            ) from exc

    async def stop(self, username: str) -> None:
        """Ask the hub to stop the default server (a stopped one is fine)."""
        await self.api.request("DELETE", f"{_user(username)}/server", ok=(202, 204, 400, 404))

    async def is_stopped(self, username: str) -> bool:
        """True if the user has no default server (running or pending)."""
        user = await self.get_user(username)
        if user is None:
            return True
        servers = user.get("servers")
        if isinstance(servers, dict):
            return "" not in servers
        return not user.get("server") and not user.get("pending")


def _user(username: str) -> str:
    return f"hub/api/users/{quote(username, safe='')}"


def _parse_event(line: str) -> SpawnProgress | None:
    if not line.startswith("data:"):
        return None
    try:
        data = json.loads(line[5:])
        return SpawnProgress(
            progress=int(data.get("progress") or 0),
            message=str(data.get("message") or ""),
            ready=bool(data.get("ready")),
            failed=bool(data.get("failed")),
            url=data.get("url"),
        )
    except (ValueError, TypeError, AttributeError):
        return None
