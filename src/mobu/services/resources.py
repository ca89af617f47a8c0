"""The collaborators a business may ask for: one typed bundle, built by the composition root."""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field, fields
from pathlib import Path

import aiohttp
import httpx

from mobu.discovery import Discovery
from mobu.exceptions import MissingServiceError
from mobu.services.business.querysets import SHIPPED_ONLY, QuerySetLocator
from mobu.services.repo import RepoCache
from mobu.storage.fasthttp import FastHTTPClient
from mobu.storage.httpxpool import shared_httpx_client

__all__ = ["COLLABORATORS", "BusinessServices", "SharedClients"]


class SharedClients:
    """Owner of the process-wide HTTP clients, each created on first use.

    A process that runs no HTTP business opens no pool. :meth:`aclose` closes what was opened.
    """

    __slots__ = ("_fast_http", "_http_client", "_http_session", "_ssl")

    def __init__(self) -> None:
        self._http_session: aiohttp.ClientSession | None = None
        self._http_client: httpx.AsyncClient | None = None
        self._ssl: ssl.SSLContext | None = None
        self._fast_http: FastHTTPClient | None = None

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
            # Sharded pools: one httpcore pool walks all its connections on every call.
            self._http_client = shared_httpx_client(self.ssl_context)
        return self._http_client

    async def aclose(self) -> None:
        """Close the clients that were opened."""
        if self._http_session is not None:
            await self._http_session.close()
            self._http_session = None
        if self._http_client is not None:
            await self._http_client.aclose()
            self._http_client = None
        if self._fast_http is not None:
            await self._fast_http.aclose()
            self._fast_http = None


@dataclass(frozen=True, slots=True, kw_only=True)
class BusinessServices:
    """The one bundle of process-wide collaborators a business may ask for.

    A business that needs more than the base constructor arguments declares extra keyword-only
    parameters named after the collaborators here: the fields below (None: this process does
    not provide it, see :meth:`get`) and the shared clients (``http_session``, ``http_client``,
    ``fast_http``, ``ssl_context``), created on first use by :class:`SharedClients`. The
    registry checks those names when it loads a business class (:data:`COLLABORATORS`).

    Attributes
    ----------
    clients
        Owner of the lazily created HTTP clients (closed by :meth:`aclose`).
    discovery
        Service discovery: URLs of the platform's services and datasets.
    repo_cache
        Clones of notebook repositories, shared by the monkeys of a process.
    query_sets
        Where TAP and SIA query sets are found (the shipped ones and ``query_set_dirs``).
    scratch_dir
        Where businesses make throwaway work trees (the data directory's ``work``).
    """

    clients: SharedClients = field(default_factory=SharedClients, repr=False)
    discovery: Discovery | None = None
    repo_cache: RepoCache | None = None
    query_sets: QuerySetLocator = SHIPPED_ONLY
    scratch_dir: Path | None = None

    @property
    def ssl_context(self) -> ssl.SSLContext:
        """The shared SSL context."""
        return self.clients.ssl_context

    @property
    def http_session(self) -> aiohttp.ClientSession:
        """The shared aiohttp session."""
        return self.clients.http_session

    @property
    def fast_http(self) -> FastHTTPClient:
        """The shared small HTTP/1.1 client."""
        return self.clients.fast_http

    @property
    def http_client(self) -> httpx.AsyncClient:
        """The shared httpx client."""
        return self.clients.http_client

    def get(self, name: str, business: str) -> object:
        """Return the collaborator ``name`` for the business type ``business``.

        Raises
        ------
        MissingServiceError
            This process does not provide it (its field is None).
        """
        if name not in COLLABORATORS:
            raise MissingServiceError(business, name)
        value: object = getattr(self, name)
        if value is None:
            raise MissingServiceError(business, name)
        return value

    async def aclose(self) -> None:
        """Close the shared clients."""
        await self.clients.aclose()


COLLABORATORS: frozenset[str] = frozenset(
    {f.name for f in fields(BusinessServices) if f.name != "clients"}
    | {"fast_http", "http_client", "http_session", "ssl_context"}
)
"""The names a business may ask for: the bundle's fields and its shared clients."""
