"""Muster: check that the platform's ingress enforces authentication, quotas and delegation."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any, NoReturn, override

import httpx
from pydantic import Field
from structlog.typing import FilteringBoundLogger

from mobu.discovery import Discovery, DiscoveryError
from mobu.events import Events, TimedEvent
from mobu.exceptions import BusinessError, redact
from mobu.models.business.base import BusinessData, BusinessOptions
from mobu.models.timedelta import HumanTimedelta
from mobu.models.user import AuthenticatedUser
from mobu.services.business.base import Business

__all__ = ["Muster", "MusterError", "MusterExecution", "MusterOptions", "MusterWebError"]

RATE_LIMIT_HEADERS = {
    "x-ratelimit-limit": "1",
    "x-ratelimit-remaining": "0",
    "x-ratelimit-resource": "muster-quota",
    "x-ratelimit-used": "1",
}
"""Rate-limit headers the quota endpoint must send, with their exact values."""


class MusterOptions(BusinessOptions):
    """Options of Muster."""

    request_timeout: HumanTimedelta = Field(
        timedelta(seconds=30), description="Timeout of each HTTP request"
    )


class MusterExecution(TimedEvent):
    """``muster``: one run of the Muster ingress checks."""


class MusterError(BusinessError):
    """A Muster check failed: the message says which expectation and what came back."""


class MusterWebError(MusterError):
    """A Muster request failed before any response (connection error, timeout)."""


def _describe(response: httpx.Response) -> str:
    """Summarise a response for an error message: status, location, body start."""
    text = f"status {response.status_code}"
    location = response.headers.get("location")
    if location:
        text += f", location {location}"
    body = response.text.strip()
    if body:
        text += f", body {body[:200]!r}"
    return text


class Muster(Business[MusterOptions]):
    """Checks anonymous routes, auth challenges, quotas and delegated identity through the ingress.

    Note that the quota check uses up the quota of the monkey's user: ``idle_time`` must be at
    least the quota window of the server (the default 60 s matches Muster's).
    """

    options_model = MusterOptions

    def __init__(
        self,
        *,
        options: MusterOptions,
        user: AuthenticatedUser,
        events: Events,
        logger: FilteringBoundLogger,
        flock: str | None,
        discovery: Discovery,
        http_client: httpx.AsyncClient,
    ) -> None:
        super().__init__(options=options, user=user, events=events, logger=logger, flock=flock)
        self._discovery = discovery
        self._client = http_client
        self._executions = events.publisher("muster", MusterExecution)
        self._base_url: str | None = None
        self._check: str | None = None
        self._last_failed_check: str | None = None

    @override
    async def startup(self) -> None:
        try:
            self._base_url = self._discovery.service_url("muster").rstrip("/")
        except DiscoveryError as exc:
            raise MusterError(f"Muster cannot run: {exc}") from exc
        if not self.user.token:
            raise MusterError(
                f"Muster needs a token for {self.user.username}: configure an identity provider"
            )

    @override
    async def execute(self) -> None:
        start = time.perf_counter()
        try:
            async with self.interruptible():
                for name, check in (
                    ("anonymous", self._check_anonymous),
                    ("auth", self._check_auth),
                    ("quota", self._check_quota),
                    ("delegation", self._check_delegation),
                ):
                    self._check = name
                    await check()
        except Exception:
            if not self.stopping:
                self._last_failed_check = self._check
                await self._publish(success=False, duration=time.perf_counter() - start)
            raise
        finally:
            self._check = None
        duration = time.perf_counter() - start
        self._last_failed_check = None
        self.logger.info("Muster finished", seconds=round(duration, 3))
        await self._publish(success=True, duration=duration)

    @override
    def dump(self) -> BusinessData:
        data: dict[str, Any] = super().dump().model_dump()
        data["base_url"] = self._base_url
        data["last_failed_check"] = self._last_failed_check
        return BusinessData(**data)

    # Checks -------------------------------------------------------------------------------------

    async def _check_anonymous(self) -> None:
        """The ingress strips the token on anonymous routes; the app says so with ok: true."""
        response = await self._get("/anonymous", self._bearer())
        self._expect_json(response, 200, {"ok": True}, "with the token (which must be stripped)")

    async def _check_auth(self) -> None:
        response = await self._get("/auth/redirect")
        if response.status_code != 302:
            self._fail(
                f"GET /auth/redirect without a token must redirect (302), got {_describe(response)}"
            )
        response = await self._get("/auth/fail")
        challenge = response.headers.get("www-authenticate", "")
        if response.status_code != 401 or not challenge.startswith('Bearer realm="'):
            self._fail(
                "GET /auth/fail without a token must be 401 with WWW-Authenticate starting"
                f" 'Bearer realm=\"', got {_describe(response)} and WWW-Authenticate"
                f" {challenge!r}"
            )
        response = await self._get("/auth/fail", {"Authorization": "Token bogus"})
        if response.status_code != 400:
            self._fail(
                "GET /auth/fail with 'Authorization: Token bogus' must be 400,"
                f" got {_describe(response)}"
            )
        expected = {"username": self.user.username}
        for path in ("/auth/redirect", "/auth/fail"):
            response = await self._get(path, self._bearer())
            self._expect_json(response, 200, expected, "with the token")

    async def _check_quota(self) -> None:
        response = await self._get("/auth/quota", self._bearer())
        if response.status_code != 200:
            self._fail(
                f"first GET /auth/quota with the token must be 200, got {_describe(response)}"
                " (is idle_time shorter than the quota window?)"
            )
        self._expect_rate_limit(response, "first GET /auth/quota")
        response = await self._get("/auth/quota", self._bearer())
        if response.status_code != 429:
            self._fail(f"second GET /auth/quota must be 429, got {_describe(response)}")
        self._expect_rate_limit(response, "second GET /auth/quota")
        if "retry-after" not in response.headers:
            self._fail(
                "second GET /auth/quota (429) must send Retry-After, got headers"
                f" {self._headers(response)}"
            )

    async def _check_delegation(self) -> None:
        expected = self._identity()
        for path in ("/delegated/header", "/delegated/authorization"):
            response = await self._get(path, self._bearer())
            body = self._json(response, 200, "with the token")
            if not isinstance(body, dict):
                self._fail(f"GET {path} must return an object, got {_describe(response)}")
            missing = {"username", "name", "uid", "gid", "groups"} - set(body)
            if missing:
                self._fail(f"GET {path} lacks {sorted(missing)}, got {_describe(response)}")
            got = {k: body[k] for k in expected}
            if "groups" in got and isinstance(got["groups"], list):
                got["groups"] = sorted(
                    (g.get("name"), g.get("id")) for g in got["groups"] if isinstance(g, dict)
                )
            if got != expected:
                self._fail(f"GET {path} must return the monkey's identity {expected}, got {got}")

    # Helpers ------------------------------------------------------------------------------------

    def _identity(self) -> dict[str, Any]:
        """The identity fields the monkey knows (those its identity provider resolved)."""
        user = self.user
        expected: dict[str, Any] = {"username": user.username}
        if user.name is not None:  # Gafaelfawr's user info (what the reference compares)
            expected["name"] = user.name
        if user.uidnumber is not None:
            expected["uid"] = user.uidnumber
        if user.gidnumber is not None:
            expected["gid"] = user.gidnumber
        if user.groups:
            expected["groups"] = sorted((g.name, g.id) for g in user.groups)
        return expected

    def _bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.user.token}"}

    async def _get(self, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
        url = f"{self._base_url}{path}"
        try:
            return await self._client.get(
                url,
                headers=headers or {},
                follow_redirects=False,
                timeout=self.options.request_timeout.total_seconds(),
            )
        except httpx.HTTPError as exc:
            message = f"Muster check {self._check}: GET {url} failed: {type(exc).__name__}: {exc}"
            raise MusterWebError(
                redact(message, [self.user.token]),
                check=self._check,
                url=url,
            ) from exc

    def _json(self, response: httpx.Response, status: int, how: str) -> Any:
        path = response.request.url.path
        if response.status_code != status:
            self._fail(f"GET {path} {how} must be {status}, got {_describe(response)}")
        try:
            return response.json()
        except json.JSONDecodeError:
            self._fail(f"GET {path} {how} must return JSON, got {_describe(response)}")

    def _expect_json(
        self, response: httpx.Response, status: int, expected: dict[str, Any], how: str
    ) -> None:
        body = self._json(response, status, how)
        if body != expected:
            path = response.request.url.path
            self._fail(f"GET {path} {how} must return {expected}, got {body!r}")

    def _expect_rate_limit(self, response: httpx.Response, what: str) -> None:
        wrong = {
            name: response.headers.get(name)
            for name, value in RATE_LIMIT_HEADERS.items()
            if response.headers.get(name) != value
        }
        if "x-ratelimit-reset" not in response.headers:
            wrong["x-ratelimit-reset"] = None
        if wrong:
            self._fail(
                f"{what} must send rate-limit headers {RATE_LIMIT_HEADERS} and"
                f" x-ratelimit-reset, but got {wrong}"
            )

    @staticmethod
    def _headers(response: httpx.Response) -> dict[str, str]:
        return {k: v for k, v in response.headers.items() if k.lower() != "set-cookie"}

    def _fail(self, message: str) -> NoReturn:
        message = redact(f"Muster check {self._check} failed: {message}", [self.user.token])
        raise MusterError(message, check=self._check)

    async def _publish(self, *, success: bool, duration: float) -> None:
        await self._executions.publish(
            MusterExecution(
                **self.common_event_attrs(), success=success, duration=timedelta(seconds=duration)
            )
        )
