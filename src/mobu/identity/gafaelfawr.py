"""The ``gafaelfawr`` identity provider: service tokens minted through Gafaelfawr's admin API.

For each monkey, :class:`~rubin.gafaelfawr.GafaelfawrClient` creates a service token for its
``bot-`` user with the flock's scopes, the user's uid/gid/groups when given, the name "Mobu Test
User" and the configured lifetime; then reads the user's information with the new token (what
Gafaelfawr resolved is who the monkey is). Gafaelfawr's URL comes from Repertoire, as the library
finds it. Users are handled ``concurrency`` at a time, in bounded batches.

Tokens are **renewed before they expire**: the provider keeps a weak reference to every
:class:`~mobu.models.user.AuthenticatedUser` it returned and, ``renewal_margin`` before the token
expires, mints a new one and stores it in that object (businesses read ``user.token`` when they
connect). A monkey that is gone is forgotten. A renewal that fails is logged and reported as an
alert (a :class:`~mobu.alerts.reporting.FailureReport`) and retried. Tokens are never logged.

Tokens are **revoked** when their monkeys stop (:meth:`GafaelfawrIdentity.release`): the
current token and those renewals replaced. ``rubin-gafaelfawr`` has no call for it, so it is
done with two routes of Gafaelfawr's API, on the same HTTP session and Repertoire client the
library was given: ``GET /auth/api/v1/token-info`` (with the token: its key; a 401 means the
token is already dead) and ``DELETE /auth/api/v1/users/{username}/tokens/{key}`` (with the admin
token). A revocation that fails is logged (never the token); the token then expires on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx
from rubin.gafaelfawr import GafaelfawrClient, GafaelfawrError, GafaelfawrGroup
from rubin.repertoire import DiscoveryClient, RepertoireError
from structlog.typing import FilteringBoundLogger

from mobu.alerts.reporting import FailureReport
from mobu.exceptions import redact
from mobu.identity.base import IdentityError
from mobu.identity.config import GafaelfawrIdentityConfig
from mobu.models.user import AuthenticatedUser, Group, User

__all__ = ["TOKEN_NAME", "GafaelfawrIdentity"]

TOKEN_NAME = "Mobu Test User"  # noqa: S105 (a full name, not a secret)
"""Full name given to every minted token, as the reference does."""


@dataclass(slots=True)
class _Held:
    """A token this provider minted and keeps renewed."""

    user: weakref.ref[AuthenticatedUser]
    source: User
    scopes: list[str]
    expires: datetime
    retry_at: datetime | None = None
    retired: list[str] = field(default_factory=list)
    """Tokens a renewal replaced (still valid until they expire; revoked at release)."""


class GafaelfawrIdentity:
    """Mints and renews Gafaelfawr service tokens.

    Parameters
    ----------
    config
        The ``identity`` section (or the one built from ``MOBU_GAFAELFAWR_TOKEN``).
    admin_token
        Gafaelfawr admin token (``admin:token`` scope).
    discovery
        Repertoire discovery client the Gafaelfawr client finds Gafaelfawr with.
    http
        Shared httpx client (never closed here).
    logger
        Logger for progress (never given tokens).
    report
        Where renewal failures go (the process's failure reporters).
    """

    def __init__(
        self,
        config: GafaelfawrIdentityConfig,
        *,
        admin_token: str,
        discovery: DiscoveryClient,
        http: httpx.AsyncClient,
        logger: FilteringBoundLogger,
        report: Callable[[FailureReport], None] | None = None,
    ) -> None:
        self.config = config
        self.logger = logger
        self._admin_token = admin_token
        self._http = http
        self._discovery = discovery
        # Never aclose() this client: rubin-gafaelfawr 16.1 closes the pool it was *given*.
        self._client = GafaelfawrClient(http, discovery_client=discovery, timeout=config.timeout)
        self._report = report
        self._held: list[_Held] = []
        self._wake = asyncio.Event()
        self._renewer: asyncio.Task[None] | None = None
        self.renewals = 0
        """Tokens renewed so far (for status and tests)."""
        self.revocations = 0
        """Tokens revoked so far (for status and tests)."""

    async def authenticate(self, users: list[User], scopes: list[str]) -> list[AuthenticatedUser]:
        """Mint one service token per user, ``concurrency`` at a time, in bounded batches.

        Raises
        ------
        IdentityError
            Gafaelfawr (or discovery) refused or could not be reached; the message names the
            user.
        """
        limit = asyncio.Semaphore(self.config.concurrency)

        async def one(user: User) -> tuple[AuthenticatedUser, datetime]:
            async with limit:
                return await self._mint(user, scopes)

        results: list[AuthenticatedUser] = []
        size = self.config.concurrency * 10
        for start in range(0, len(users), size):
            batch = users[start : start + size]
            for (authenticated, expires), source in zip(
                await asyncio.gather(*(one(u) for u in batch)), batch, strict=True
            ):
                self._held.append(_Held(weakref.ref(authenticated), source, scopes, expires))
                results.append(authenticated)
        self.logger.info("Minted Gafaelfawr tokens", count=len(results))
        self._ensure_renewer()
        return results

    async def _mint(self, user: User, scopes: list[str]) -> tuple[AuthenticatedUser, datetime]:
        expires = datetime.now(tz=UTC).replace(microsecond=0) + self.config.token_lifetime
        gid = user.gidnumber if user.gidnumber is not None else user.uidnumber
        groups = [GafaelfawrGroup(name=g.name, id=g.id) for g in user.groups if g.id is not None]
        try:
            token = await self._client.create_service_token(
                self._admin_token,
                user.username,
                scopes=scopes,
                expires=expires,
                name=TOKEN_NAME,
                uid=user.uidnumber,
                gid=gid,
                groups=groups or None,
            )
            info = await self._client.get_user_info(token)
        except (GafaelfawrError, RepertoireError) as exc:
            raise IdentityError(
                f"Cannot mint a Gafaelfawr token for {user.username}: {exc}"
            ) from exc
        authenticated = AuthenticatedUser(
            username=info.username,
            name=info.name,
            uidnumber=info.uid,
            gidnumber=info.gid if info.gid is not None else info.uid,
            groups=[Group(name=g.name, id=g.id) for g in info.groups],
            scopes=scopes,
            token=token,
        )
        return authenticated, expires

    # Renewal --------------------------------------------------------------------------------

    def _ensure_renewer(self) -> None:
        if self._renewer is None or self._renewer.done():
            self._renewer = asyncio.create_task(self._renew_forever(), name="gafaelfawr-renewal")
        self._wake.set()

    def _due(self, held: _Held) -> datetime:
        return held.retry_at or held.expires - self.config.renewal_margin

    async def _renew_forever(self) -> None:
        """Renew each token ``renewal_margin`` before it expires, until closed."""
        while True:
            self._held = [h for h in self._held if h.user() is not None]
            now = datetime.now(tz=UTC)
            for held in [h for h in self._held if self._due(h) <= now]:
                await self._renew(held)
            self._wake.clear()
            if not self._held:
                await self._wake.wait()
                continue
            delay = (min(self._due(h) for h in self._held) - datetime.now(tz=UTC)).total_seconds()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=max(delay, 0.0))

    async def _renew(self, held: _Held) -> None:
        user = held.user()
        if user is None:
            return
        old = user.token
        try:
            renewed, expires = await self._mint(held.source, held.scopes)
        except IdentityError as exc:
            retry = max(timedelta(seconds=1), self.config.renewal_margin / 10)
            held.retry_at = datetime.now(tz=UTC) + retry
            self.logger.error(
                "Cannot renew Gafaelfawr token", username=user.username, error=str(exc)
            )
            if self._report is not None:
                error = IdentityError(f"Cannot renew the token of {user.username}: {exc}")
                self._report(
                    FailureReport(
                        flock=None,
                        monkey=user.username,
                        business="identity",
                        error=error,
                        context={"expires": held.expires.isoformat()},
                        secrets=(old,) if old else (),
                    )
                )
            return
        if old:
            held.retired.append(old)
        user.token = renewed.token
        held.expires, held.retry_at = expires, None
        self.renewals += 1
        self.logger.info(
            "Renewed Gafaelfawr token", username=user.username, expires=expires.isoformat()
        )

    # Revocation -----------------------------------------------------------------------------

    async def release(self, users: list[AuthenticatedUser]) -> None:
        """Revoke the tokens of ``users`` (their monkeys stopped) and stop renewing them."""
        gone = {id(u) for u in users}
        released = [h for h in self._held if id(h.user()) in gone]
        self._held = [h for h in self._held if id(h.user()) not in gone]
        limit = asyncio.Semaphore(self.config.concurrency)

        async def one(username: str, token: str) -> None:
            async with limit:
                await self._revoke(username, token)

        tokens = [(u.username, u.token) for u in users if u.token]
        tokens += [(h.source.username, t) for h in released for t in h.retired]
        await asyncio.gather(*(one(name, token) for name, token in tokens))

    async def _revoke(self, username: str, token: str) -> None:
        try:
            revoked = await self._delete_token(username, token)
        except (httpx.HTTPError, RepertoireError, KeyError, ValueError) as exc:
            error = redact(f"{type(exc).__name__}: {exc}", [token, self._admin_token])
            self.logger.warning("Cannot revoke Gafaelfawr token", username=username, error=error)
            return
        if revoked:
            self.revocations += 1

    async def _delete_token(self, username: str, token: str) -> bool:
        """Revoke ``token``: False if it was dead already (or Gafaelfawr is not discovered)."""
        base = await self._discovery.url_for_internal("gafaelfawr", version="v1")
        if not base:
            self.logger.warning("Cannot revoke Gafaelfawr token: Gafaelfawr not discovered")
            return False
        base = base.rstrip("/")
        timeout = self.config.timeout.total_seconds() if self.config.timeout else 30.0
        bearer = {"Authorization": f"Bearer {token}"}
        r = await self._http.get(f"{base}/token-info", headers=bearer, timeout=timeout)
        if r.status_code == 401:
            return False  # expired or revoked already: nothing left behind
        r.raise_for_status()
        key = str(r.json()["token"])
        admin = {"Authorization": f"Bearer {self._admin_token}"}
        url = f"{base}/users/{username}/tokens/{key}"
        r = await self._http.delete(url, headers=admin, timeout=timeout)
        if r.status_code == 404:
            return False
        r.raise_for_status()
        return True

    async def aclose(self) -> None:
        """Stop renewing (tokens of monkeys still running at shutdown expire on their own)."""
        renewer, self._renewer = self._renewer, None
        self._held = []
        if renewer is not None:
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewer
