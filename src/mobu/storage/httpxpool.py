"""The shared httpx client, its connections spread over several pools.

httpcore's connection pool walks every one of its connections (and, for each idle one, the
whole list again) each time a request starts or a response closes. With thousands of
monkeys calling one hub at once, a single pool holds a connection per request in flight, so
every call costs time in proportion to the number of monkeys: at 1,000 Jupyter monkeys the walk
was a third of mobu's CPU while the labs started, and most of a stop-all. Spreading requests
over ``shards`` pools, by the user each URL is about, divides that walk by ``shards``; one
user's calls keep reusing one pool's connection (round-robin made each call of a monkey open a
connection in another pool, and held about twice the memory per monkey).
"""

from __future__ import annotations

import ssl

import httpx
from httpx._utils import get_environment_proxies

__all__ = ["DEFAULT_SHARDS", "ShardedTransport", "shared_httpx_client"]

DEFAULT_SHARDS = 8
"""Pools of the shared client: 3,000 monkeys in flight make about 375 connections per pool."""


class ShardedTransport(httpx.AsyncBaseTransport):
    """Sends each request through one of ``shards`` connection pools, chosen by its user.

    Parameters
    ----------
    shards
        Number of pools.
    verify
        TLS verification (context or flag), for every pool.
    limits
        Limits of each pool (``max_keepalive_connections`` is per pool).
    proxy
        Proxy every pool goes through, if any.
    """

    def __init__(
        self,
        shards: int = DEFAULT_SHARDS,
        *,
        verify: ssl.SSLContext | bool = True,
        limits: httpx.Limits | None = None,
        proxy: httpx.Proxy | str | None = None,
    ) -> None:
        if shards < 1:
            raise ValueError("shards must be at least 1")
        limits = limits or httpx.Limits(max_connections=None, max_keepalive_connections=32)
        self.pools = [
            httpx.AsyncHTTPTransport(verify=verify, limits=limits, proxy=proxy)
            for _ in range(shards)
        ]

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        pool = self.pools[hash(_affinity(request.url.path)) % len(self.pools)]
        return await pool.handle_async_request(request)

    async def aclose(self) -> None:
        for pool in self.pools:
            await pool.aclose()


def shared_httpx_client(
    verify: ssl.SSLContext | bool,
    *,
    timeout: float = 30.0,
    shards: int = DEFAULT_SHARDS,
    keepalive_per_shard: int = 32,
) -> httpx.AsyncClient:
    """The process's httpx client: sharded pools, proxies from the environment as before.

    A client given its own transport ignores ``HTTP(S)_PROXY``/``ALL_PROXY``/``NO_PROXY``, so
    they are mounted here as httpx would (a sharded transport per proxy, none for ``NO_PROXY``
    hosts).
    """
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=keepalive_per_shard)
    mounts: dict[str, httpx.AsyncBaseTransport | None] = {}
    for pattern, proxy in get_environment_proxies().items():
        mounts[pattern] = (
            None
            if proxy is None
            else ShardedTransport(shards, verify=verify, limits=limits, proxy=proxy)
        )
    return httpx.AsyncClient(
        transport=ShardedTransport(shards, verify=verify, limits=limits),
        mounts=mounts,
        timeout=httpx.Timeout(timeout),
        follow_redirects=False,
    )


def _affinity(path: str) -> str:
    """What picks the pool: the user a hub or lab URL is about (``.../users/<name>/...``,
    ``/user/<name>/...``), else the path. One user's calls then reuse one pool's connection,
    as with a single pool, while different users spread over the pools."""
    parts = path.split("/")
    for i, part in enumerate(parts[:-1]):
        if part in ("users", "user"):
            return parts[i + 1]
    return path
