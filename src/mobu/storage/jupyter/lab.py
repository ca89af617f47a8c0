"""Client of a running Jupyter server (a user's lab, or a bare ``jupyter server``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from mobu.storage.jupyter.errors import JupyterProtocolError
from mobu.storage.jupyter.http import TokenHttp
from mobu.storage.jupyter.kernel import KernelChannel, WireProtocol, open_kernel_channel
from mobu.storage.jupyter.timing import PhaseTimings

__all__ = ["LabClient", "LabSession"]


@dataclass(frozen=True, slots=True)
class LabSession:
    """A Jupyter server session and its kernel."""

    id: str
    kernel_id: str
    path: str


class LabClient:
    """Talks to the Jupyter Server REST API and opens kernel websockets.

    Parameters
    ----------
    base_url
        URL of the server, e.g. ``http://hub/user/<name>/`` or a bare server's base URL.
    token
        A token the server accepts (user token for a lab).
    username
        Username put in message headers.
    http
        Shared httpx client.
    timeout
        Timeout of each HTTP call and of the websocket handshake, in seconds.
    protocol
        Kernel websocket framing to ask for.
    max_message_size
        Largest websocket message accepted, None for no limit.
    timings
        Where phase durations are recorded.
    """

    def __init__(
        self,
        base_url: str,
        token: str | None,
        *,
        username: str,
        http: httpx.AsyncClient,
        timeout: float = 60.0,
        protocol: WireProtocol = "auto",
        max_message_size: int | None = None,
        timings: PhaseTimings | None = None,
    ) -> None:
        self.api = TokenHttp(base_url, token, http, timeout)
        self.token = token
        self.username = username
        self.timeout = timeout
        self.protocol: WireProtocol = protocol
        self.max_message_size = max_message_size
        self.timings = timings if timings is not None else PhaseTimings()

    @property
    def base_url(self) -> str:
        """Base URL of the server."""
        return self.api.base_url

    async def status(self) -> dict[str, Any]:
        """Return ``/api/status`` (the first call after a spawn: is the lab answering?)."""
        with self.timings.measure("lab_first_response"):
            response = await self.api.request("GET", "api/status", ok=(200,))
        return _json(response)

    async def create_session(
        self, name: str | None = None, *, kernel_name: str = "python3"
    ) -> LabSession:
        """Create a session (and its kernel); ``name`` is the notebook it is for, if any."""
        path = name or f"mobu-{uuid.uuid4().hex[:12]}.ipynb"
        body = {
            "kernel": {"name": kernel_name},
            "name": name or "(no notebook)",
            "path": path,
            "type": "notebook",
        }
        with self.timings.measure("session_create"):
            response = await self.api.request("POST", "api/sessions", json=body, ok=(200, 201))
        data = _json(response)
        try:
            return LabSession(id=str(data["id"]), kernel_id=str(data["kernel"]["id"]), path=path)
        except (KeyError, TypeError) as exc:
            raise JupyterProtocolError(f"Unexpected session reply: {data}") from exc

    async def delete_session(self, session: LabSession) -> None:
        """Delete a session, which shuts its kernel down. A missing session is not an error."""
        with self.timings.measure("session_delete"):
            await self.api.request("DELETE", f"api/sessions/{session.id}", ok=(204, 404))

    async def interrupt_kernel(self, session: LabSession) -> None:
        """Interrupt what the session's kernel is running."""
        await self.api.request("POST", f"api/kernels/{session.kernel_id}/interrupt", ok=(204,))

    async def list_kernels(self) -> list[dict[str, Any]]:
        """Return the running kernels."""
        response = await self.api.request("GET", "api/kernels", ok=(200,))
        data = response.json()
        return data if isinstance(data, list) else []

    async def open_kernel(self, session: LabSession) -> KernelChannel:
        """Open the channels websocket of the session's kernel."""
        base = self.base_url
        if base.startswith("http"):
            base = "ws" + base[4:]
        url = f"{base}api/kernels/{session.kernel_id}/channels?session_id={uuid.uuid4().hex}"
        return await open_kernel_channel(
            url,
            self.token,
            username=self.username,
            protocol=self.protocol,
            max_size=self.max_message_size,
            open_timeout=self.timeout,
            timings=self.timings,
        )


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError as exc:
        raise JupyterProtocolError(f"Non-JSON reply from {response.request.url}") from exc
    if not isinstance(data, dict):
        raise JupyterProtocolError(f"Unexpected reply from {response.request.url}")
    return data
