"""Process-wide collaborators that businesses ask for by constructor parameter name."""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import httpx

from mobu.storage.fasthttp import FastHTTPClient

__all__ = ["BusinessServices", "MissingServiceError"]


class MissingServiceError(Exception):
    """A business needs a collaborator that this process does not provide."""


@dataclass
class BusinessServices:
    """The one bundle of process-wide services.

    A business that needs more than the base constructor arguments declares extra keyword-only
    parameters; each is filled from the attribute of the same name here. Clients are created on
    first use, so a process that runs no HTTP business opens no pool.

    Attributes
    ----------
    extras
        Further collaborators by name, set by the composition root (service discovery, the
        notebook repository cache, ...), for those not declared as typed attributes.
    """

    extras: dict[str, Any] = field(default_factory=dict)
    _http_session: aiohttp.ClientSession | None = field(default=None, init=False, repr=False)
    _http_client: httpx.AsyncClient | None = field(default=None, init=False, repr=False)
    _ssl: ssl.SSLContext | None = field(default=None, init=False, repr=False)
    _fast_http: FastHTTPClient | None = field(default=None, init=False, repr=False)

    @property
    def ssl_context(self) -> ssl.SSLContext:
        """One SSL context shared by every client (building one costs memory and CPU)."""
        if self._ssl is None:
            self._ssl = ssl.create_default_context()
        return self._ssl

    @property
    def http_session(self) -> aiohttp.ClientSession:
        """Shared aiohttp session: one connection pool for every monkey (fast path for HTTP)."""
        if self._http_session is None or self._http_session.closed:
            connector = aiohttp.TCPConnector(
                limit=0, ttl_dns_cache=300, ssl=self.ssl_context, enable_cleanup_closed=False
            )
            self._http_session = aiohttp.ClientSession(
                connector=connector,
                cookie_jar=aiohttp.DummyCookieJar(),
                timeout=aiohttp.ClientTimeout(total=None),
                auto_decompress=True,
            )
        return self._http_session

    @property
    def fast_http(self) -> FastHTTPClient:
        """Shared small HTTP/1.1 client (HTTPCheck's default): keep-alive pools, no extras."""
        if self._fast_http is None:
            self._fast_http = FastHTTPClient(ssl_context=self.ssl_context)
        return self._fast_http

    @property
    def http_client(self) -> httpx.AsyncClient:
        """Shared httpx client for API-style calls (JupyterHub, identity providers)."""
        if self._http_client is None or self._http_client.is_closed:
            self._http_client = httpx.AsyncClient(
                verify=self.ssl_context,
                timeout=httpx.Timeout(30.0),
                limits=httpx.Limits(max_connections=None, max_keepalive_connections=200),
                follow_redirects=False,
            )
        return self._http_client

    def provide(self, name: str, value: Any) -> None:
        """Make ``value`` available to businesses as the parameter ``name``."""
        self.extras[name] = value

    def resolve(self, name: str, business: str) -> Any:
        """Return the collaborator for parameter ``name`` of ``business``."""
        if name in self.extras:
            return self.extras[name]
        if name in ("http_session", "http_client", "ssl_context", "fast_http"):
            return getattr(self, name)
        raise MissingServiceError(
            f"business {business} needs {name!r}, which this mobu does not provide"
            " (check the configuration section for it)"
        )

    async def aclose(self) -> None:
        """Close the shared clients."""
        if self._http_session is not None:
            await self._http_session.close()
            self._http_session = None
        if self._http_client is not None:
            await self._http_client.aclose()
            self._http_client = None
        if self._fast_http is not None:
            await self._fast_http.aclose()
            self._fast_http = None
