"""HTTPCheck: request a URL and check its status and body."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from typing import Any, Literal

import aiohttp
import yarl
from pydantic import Field, SecretStr, field_validator
from structlog.typing import FilteringBoundLogger
from typing_extensions import override

from mobu.events import Events, TimedEvent
from mobu.exceptions import BusinessError
from mobu.models.business.base import BusinessData, BusinessOptions
from mobu.models.secrets import SecretHttpUrl, SecretText, mask_url
from mobu.models.timedelta import HumanTimedelta
from mobu.models.user import AuthenticatedUser
from mobu.services.business.base import Business
from mobu.storage.fasthttp import FastHTTPClient
from mobu.storage.httpwire import FastHTTPError, FastRequest, FastResponse

__all__ = ["HTTPCheck", "HTTPCheckError", "HTTPCheckOptions", "HttpCheckEvent"]

MAX_REDIRECTS = 10
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


class HTTPCheckOptions(BusinessOptions):
    """Options of HTTPCheck."""

    url: SecretHttpUrl = Field(
        ...,
        description="URL to request (a password or apikey/token query value is shown masked)",
        repr=False,
        examples=["https://example.org/"],
    )
    method: Literal["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"] = Field(
        "GET", description="HTTP method"
    )
    headers: dict[str, SecretText] = Field(
        default_factory=dict,
        description="Extra request headers; their values are secrets, shown as **********",
    )
    body: str | None = Field(None, description="Request body")
    follow_redirects: bool = Field(False, description="Follow redirects")
    expected_status: list[int] | None = Field(
        None, description="Acceptable status codes; default any 2xx", examples=[[200, 204]]
    )
    body_regex: str | None = Field(
        None, description="Regular expression the response body must match"
    )
    timeout: HumanTimedelta = Field(
        timedelta(seconds=30), description="Timeout of the whole request"
    )
    send_token: bool = Field(
        False, description="Send the monkey's token as a bearer token (when it has one)"
    )
    client: Literal["fast", "aiohttp"] = Field(
        "fast",
        description=(
            "HTTP client: 'fast' is mobu's small HTTP/1.1 client (keep-alive, chunked, https;"
            " sends no Accept-Encoding, so bodies come uncompressed); 'aiohttp' for anything"
            " exotic: proxies from the environment, compressed bodies, HTTP features the fast"
            " client lacks"
        ),
    )

    @field_validator("body_regex")
    @classmethod
    def _check_regex(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"invalid regular expression: {exc}") from exc
        return value

    @field_validator("headers")
    @classmethod
    def _check_headers(cls, value: dict[str, SecretStr]) -> dict[str, SecretStr]:
        for name, secret in value.items():
            if not name or any(c in "\r\n\0:" or c.isspace() for c in name):
                raise ValueError(f"invalid header name {name!r}")
            text = secret.get_secret_value()
            if any(c in "\r\n\0" for c in text) or not text.isascii():
                raise ValueError(f"invalid value of header {name} (ASCII, no line breaks)")
        return value

    @field_validator("expected_status")
    @classmethod
    def _check_status(cls, value: list[int] | None) -> list[int] | None:
        if value is not None:
            if not value:
                raise ValueError("expected_status must not be empty")
            for code in value:
                if not 100 <= code <= 599:
                    raise ValueError(f"{code} is not an HTTP status code")
        return value


class HttpCheckEvent(TimedEvent):
    """``http_check``: one HTTP check."""

    status_code: int | None = None


class HTTPCheckError(BusinessError):
    """An HTTP check failed."""


class HTTPCheck(Business[HTTPCheckOptions]):
    """Requests a URL each iteration and checks the status code and body."""

    options_model = HTTPCheckOptions

    def __init__(
        self,
        *,
        options: HTTPCheckOptions,
        user: AuthenticatedUser,
        events: Events,
        logger: FilteringBoundLogger,
        flock: str | None,
        http_session: aiohttp.ClientSession,
        fast_http: FastHTTPClient,
    ) -> None:
        super().__init__(options=options, user=user, events=events, logger=logger, flock=flock)
        self._session = http_session
        self._fast = fast_http
        self._publisher = events.publisher("http_check", HttpCheckEvent)
        self._last_status: int | None = None
        url = str(options.url)
        self._url = mask_url(url)  # shown in errors and dumps; the real one is only sent
        # Parsed once: aiohttp would otherwise parse the string into a URL on every request.
        self._request_url = yarl.URL(url)
        self._regex = re.compile(options.body_regex) if options.body_regex else None
        self._timeout = aiohttp.ClientTimeout(total=options.timeout.total_seconds())
        headers = {k: v.get_secret_value() for k, v in options.headers.items()}
        if options.send_token and user.token:
            headers["Authorization"] = f"Bearer {user.token}"
        self._headers = headers or None
        self._prepared: FastRequest | None = None
        if options.client == "fast":
            self._prepared = fast_http.prepare(
                options.method, self._request_url, headers=headers, body=options.body
            )

    @override
    async def execute(self) -> None:
        options = self.options
        status: int | None = None
        start = time.perf_counter()
        try:
            # Interruptible, not asyncio.timeout: a stop ends a hung request at once.
            async with self.interruptible(options.timeout):
                if self._prepared is not None:
                    status, body = await self._fast_request(self._prepared)
                else:
                    async with self._session.request(
                        options.method,
                        self._request_url,
                        headers=self._headers,
                        data=options.body,
                        allow_redirects=options.follow_redirects,
                        timeout=self._timeout,
                    ) as response:
                        status = response.status
                        body = await response.read()
        except (aiohttp.ClientError, FastHTTPError, TimeoutError) as exc:
            duration = time.perf_counter() - start
            await self._publish(success=False, duration=duration, status=None)
            reason = (
                "timed out"
                if isinstance(exc, TimeoutError)
                else self.redact(f"{type(exc).__name__}: {exc}")
            )
            raise HTTPCheckError(
                f"{options.method} {self._url} failed: {reason}", url=self._url
            ) from exc
        duration = time.perf_counter() - start
        self._last_status = status
        problem = self._check(status, body)
        await self._publish(success=problem is None, duration=duration, status=status)
        if problem is not None:
            raise HTTPCheckError(
                f"{options.method} {self._url}: {problem}", url=self._url, status_code=status
            )

    async def _fast_request(self, request: FastRequest) -> tuple[int, bytes]:
        """Send with the fast client, following redirects when asked (it never does)."""
        response = await self._fast.send(request)
        if self.options.follow_redirects:
            hops = 0
            while response.status in _REDIRECTS and response.header("location"):
                hops += 1
                if hops > MAX_REDIRECTS:
                    raise FastHTTPError(f"more than {MAX_REDIRECTS} redirects")
                request = self._redirect(request, response)
                response = await self._fast.send(request)
        return response.status, response.body

    def _redirect(self, request: FastRequest, response: FastResponse) -> FastRequest:
        """The request that follows a redirect response."""
        location = response.header("location") or ""
        try:
            url = request.url.join(yarl.URL(location))
        except ValueError as exc:
            raise FastHTTPError(f"invalid redirect location {location!r}") from exc
        method, body = request.method, self.options.body
        status = response.status
        if (status == 303 and method != "HEAD") or (status in (301, 302) and method == "POST"):
            method, body = "GET", None
        headers = dict(self._headers or {})
        if url.origin() != request.url.origin():
            headers.pop("Authorization", None)  # Never leak the token to another origin.
        try:
            return self._fast.prepare(method, url, headers=headers, body=body)
        except ValueError as exc:
            raise FastHTTPError(f"cannot follow redirect to {location!r}: {exc}") from exc

    def _check(self, status: int, body: bytes) -> str | None:
        expected = self.options.expected_status
        if expected is None:
            if not 200 <= status < 300:
                return f"status {status}, expected 2xx"
        elif status not in expected:
            return f"status {status}, expected one of {expected}"
        if self._regex is not None:
            text = body.decode("utf-8", errors="replace")
            if not self._regex.search(text):
                return f"body does not match {self._regex.pattern!r}"
        return None

    async def _publish(self, *, success: bool, duration: float, status: int | None) -> None:
        await self._publisher.publish(
            HttpCheckEvent(
                **self.common_event_attrs(),
                success=success,
                duration=timedelta(seconds=duration),
                status_code=status,
            )
        )

    @override
    def dump(self) -> BusinessData:
        data: dict[str, Any] = super().dump().model_dump()
        data["url"] = self._url
        data["last_status"] = self._last_status
        return BusinessData(**data)
