"""Typed async client of the mobu REST API (used by the CLI; usable by anyone)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

import httpx
from pydantic import BaseModel

from mobu.exceptions import MobuError
from mobu.models.api import BusinessDescription, Index, Summary
from mobu.models.flock import FlockConfig, FlockData, FlockSummary
from mobu.models.monkey import MonkeyData
from mobu.models.secrets import REVEAL
from mobu.models.solitary import SolitaryConfig, SolitaryResult

__all__ = ["DEFAULT_URL", "MobuClient", "MobuClientError"]

DEFAULT_URL = "http://127.0.0.1:8080/mobu"
"""API URL of a local ``mobu serve`` with the default port and prefix."""

M = TypeVar("M", bound=BaseModel)


class MobuClientError(MobuError):
    """The server refused a request or could not be reached.

    Attributes
    ----------
    error
        The ``type`` of the server's first problem (e.g. ``flock_not_found``); ``unreachable``
        when the server could not be reached or did not answer in time.
    status_code
        HTTP status, or None when the server could not be reached.
    detail
        The ``detail`` list of the error body (``loc``, ``msg``, ``type``), when there is one.
    """

    def __init__(
        self, message: str, *, status_code: int | None = None, detail: list[Any] | None = None
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.detail = detail or []
        first = self.detail[0] if self.detail and isinstance(self.detail[0], dict) else {}
        fallback = "unreachable" if status_code is None else "http_error"
        self.error = str(first.get("type") or fallback)


class MobuClient:
    """Client of one mobu server.

    Parameters
    ----------
    url
        URL of the API, including its path prefix, e.g. ``http://127.0.0.1:8080/mobu``.
    token
        Admin bearer token (servers with ``auth.tokens``).
    timeout
        Seconds allowed per request (starting a batched flock takes longer: pass more).
    transport
        An httpx transport (e.g. ``httpx.ASGITransport`` to talk to an app in-process).
    """

    def __init__(
        self,
        url: str = DEFAULT_URL,
        *,
        token: str | None = None,
        timeout: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.url = url.rstrip("/")
        self._http = httpx.AsyncClient(
            base_url=self.url + "/", headers=headers, timeout=timeout, transport=transport
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connections."""
        await self._http.aclose()

    # Requests -------------------------------------------------------------------------------

    async def _request(
        self, method: str, path: str, *, json_body: Any = None, timeout: float | None = None
    ) -> httpx.Response:
        content = None
        headers = {}
        if json_body is not None:
            content = json.dumps(json_body, default=str)
            headers["Content-Type"] = "application/json"
        extra: dict[str, Any] = {} if timeout is None else {"timeout": timeout}
        try:
            response = await self._http.request(
                method, path, content=content, headers=headers, **extra
            )
        except httpx.TimeoutException as exc:
            raise MobuClientError(f"{method} {self.url}/{path}: timed out") from exc
        except httpx.HTTPError as exc:
            raise MobuClientError(f"cannot reach mobu at {self.url}: {exc}") from exc
        if response.is_error:
            raise _error(method, path, response)
        return response

    @staticmethod
    def _parse(model: type[M], response: httpx.Response) -> M:
        return model.model_validate(response.json())

    # API ------------------------------------------------------------------------------------

    async def index(self) -> Index:
        """Return the application metadata."""
        return self._parse(Index, await self._request("GET", ""))

    async def list_flocks(self) -> list[str]:
        """Return the names of the running flocks."""
        names: list[str] = (await self._request("GET", "flocks")).json()
        return names

    async def start_flock(
        self, config: FlockConfig | Mapping[str, Any], *, timeout: float | None = None
    ) -> FlockData:
        """Start a flock (replacing one of the same name); returns once all monkeys started."""
        body = _body(config)
        response = await self._request("PUT", "flocks", json_body=body, timeout=timeout)
        return self._parse(FlockData, response)

    async def get_flock(self, name: str) -> FlockData:
        """Return a flock with its monkeys."""
        return self._parse(FlockData, await self._request("GET", f"flocks/{name}"))

    async def flock_summary(self, name: str) -> FlockSummary:
        """Return a flock's counters and start progress."""
        return self._parse(FlockSummary, await self._request("GET", f"flocks/{name}/summary"))

    async def stop_flock(self, name: str, *, timeout: float | None = None) -> None:
        """Stop a flock; returns once all its monkeys have stopped."""
        await self._request("DELETE", f"flocks/{name}", timeout=timeout)

    async def resize_flock(
        self, name: str, count: int, *, timeout: float | None = None
    ) -> FlockSummary:
        """Grow or shrink a running flock to ``count`` monkeys; returns once it is resized."""
        response = await self._request(
            "PATCH", f"flocks/{name}", json_body={"count": count}, timeout=timeout
        )
        return self._parse(FlockSummary, response)

    async def refresh_flock(self, name: str) -> None:
        """Ask every monkey of a flock to refresh."""
        await self._request("POST", f"flocks/{name}/refresh")

    async def list_monkeys(self, flock: str) -> list[str]:
        """Return the names of a flock's monkeys."""
        names: list[str] = (await self._request("GET", f"flocks/{flock}/monkeys")).json()
        return names

    async def get_monkey(self, flock: str, monkey: str) -> MonkeyData:
        """Return one monkey."""
        response = await self._request("GET", f"flocks/{flock}/monkeys/{monkey}")
        return self._parse(MonkeyData, response)

    async def iter_monkey_log(self, flock: str, monkey: str) -> AsyncIterator[str]:
        """Yield a monkey's log in chunks as the server streams it."""
        path = f"flocks/{flock}/monkeys/{monkey}/log"
        try:
            async with self._http.stream("GET", path) as response:
                if response.is_error:
                    await response.aread()
                    raise _error("GET", path, response)
                async for chunk in response.aiter_text():
                    yield chunk
        except httpx.HTTPError as exc:
            raise MobuClientError(f"GET {self.url}/{path}: {exc}") from exc

    async def download_monkey_log(self, flock: str, monkey: str, path: Path) -> None:
        """Write a monkey's log to ``path``."""
        with path.open("w", encoding="utf-8") as fh:
            async for chunk in self.iter_monkey_log(flock, monkey):
                fh.write(chunk)

    async def summary(self) -> Summary:
        """Return the summary of every flock and the autostart failures."""
        return self._parse(Summary, await self._request("GET", "summary"))

    async def run(
        self, config: SolitaryConfig | Mapping[str, Any], *, timeout: float | None = None
    ) -> SolitaryResult:
        """Run a business once on the server; the result says whether it succeeded."""
        response = await self._request("POST", "run", json_body=_body(config), timeout=timeout)
        return self._parse(SolitaryResult, response)

    async def businesses(self) -> list[BusinessDescription]:
        """Return the business types the server knows, with their options schemas."""
        data = (await self._request("GET", "businesses")).json()
        return [BusinessDescription.model_validate(d) for d in data]


def _body(config: BaseModel | Mapping[str, Any]) -> Any:
    if isinstance(config, BaseModel):
        # Secret options (header values, URL passwords) are masked in every other dump.
        return config.model_dump(mode="json", exclude_unset=True, context=REVEAL)
    return dict(config)


def _error(method: str, path: str, response: httpx.Response) -> MobuClientError:
    detail: list[Any] = []
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("detail"), list):
        detail = body["detail"]
    if detail:
        reasons = "; ".join(
            f"{'.'.join(str(p) for p in d.get('loc', []))}: {d.get('msg')}"
            if d.get("loc")
            else str(d.get("msg"))
            for d in detail
            if isinstance(d, dict)
        )
    else:
        reasons = response.text[:200] or response.reason_phrase
    types = {d.get("type") for d in detail or [] if isinstance(d, dict)}
    if response.status_code == 404 and not types & {"flock_not_found", "monkey_not_found"}:
        reasons += (
            " (not a mobu API route: is the URL the API's, with its path prefix,"
            " e.g. http://127.0.0.1:8080/mobu?)"
        )
    return MobuClientError(
        f"{method} /{path} failed ({response.status_code}): {reasons}",
        status_code=response.status_code,
        detail=detail,
    )
