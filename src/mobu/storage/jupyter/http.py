"""Token-authenticated JSON calls shared by the hub and lab clients."""

from __future__ import annotations

from typing import Any

import httpx

from mobu.storage.jupyter.errors import JupyterWebError

__all__ = ["TokenHttp"]


class TokenHttp:
    """Sends requests under ``base_url`` with ``Authorization: token ...``.

    Parameters
    ----------
    base_url
        Base URL, ending with a slash.
    token
        Token to send, or None for none.
    http
        Shared client (its pool is shared by every monkey).
    timeout
        Connect/read/write timeout of each call, in seconds.
    """

    def __init__(
        self, base_url: str, token: str | None, http: httpx.AsyncClient, timeout: float
    ) -> None:
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.http = http
        self.timeout = httpx.Timeout(timeout)
        self.headers = {"Authorization": f"token {token}"} if token else {}

    def url(self, path: str) -> str:
        """Absolute URL of ``path`` (relative to the base URL)."""
        return self.base_url + path.lstrip("/")

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        ok: tuple[int, ...] = (200, 201, 202, 204),
    ) -> httpx.Response:
        """Send a request; a status outside ``ok`` or a transport error raises.

        Raises
        ------
        JupyterWebError
            The request failed or its status is not in ``ok``.
        """
        url = self.url(path)
        try:
            response = await self.http.request(
                method, url, json=json, headers=self.headers, timeout=self.timeout
            )
        except httpx.HTTPError as exc:
            raise JupyterWebError(
                f"{type(exc).__name__} from {method} {url}: {exc}", method=method, url=url
            ) from exc
        if response.status_code not in ok:
            raise JupyterWebError(
                f"Status {response.status_code} from {method} {url}",
                method=method,
                url=url,
                status=response.status_code,
                body=response.text,
            )
        return response
