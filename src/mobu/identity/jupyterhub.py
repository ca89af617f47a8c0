"""The ``jupyterhub`` identity provider: create hub users and mint their tokens.

With an admin service token, each monkey's hub user is created if missing and given a per-user
token through the hub API, in bounded-concurrency batches; the tokens minted are revoked on
close. Tokens are kept only in :class:`~mobu.models.user.AuthenticatedUser` and never logged.
"""

from __future__ import annotations

import asyncio

import httpx
from structlog.typing import FilteringBoundLogger

from mobu.identity.base import IdentityError, authenticated
from mobu.identity.config import JupyterHubIdentityConfig
from mobu.models.user import AuthenticatedUser, User
from mobu.storage.jupyter import HubClient, JupyterError

__all__ = ["JupyterHubIdentity"]


class JupyterHubIdentity:
    """Creates hub users and mints their tokens with an admin service token.

    Tokens it minted are revoked by :meth:`aclose` (best effort).

    Parameters
    ----------
    config
        The ``identity`` section.
    hub_url
        URL of the hub (from the section or from discovery).
    http
        Shared httpx client.
    logger
        Logger for progress (never given tokens).
    """

    def __init__(
        self,
        config: JupyterHubIdentityConfig,
        *,
        hub_url: str,
        http: httpx.AsyncClient,
        logger: FilteringBoundLogger,
    ) -> None:
        self.config = config
        self.logger = logger
        self.hub = HubClient(
            hub_url,
            config.admin_token.get_secret_value(),
            http=http,
            timeout=config.timeout.total_seconds(),
        )
        self._minted: dict[str, tuple[str, str]] = {}
        """Token → (username, hub token id) of each token minted and not yet revoked."""

    async def authenticate(self, users: list[User], scopes: list[str]) -> list[AuthenticatedUser]:
        """Create missing users and mint one token each, ``concurrency`` at a time.

        Raises
        ------
        IdentityError
            The hub refused or could not be reached; the message names the user.
        """
        limit = asyncio.Semaphore(self.config.concurrency)

        async def one(user: User) -> AuthenticatedUser:
            async with limit:
                return await self._authenticate_one(user, scopes)

        results: list[AuthenticatedUser] = []
        size = self.config.concurrency * 10
        for start in range(0, len(users), size):
            batch = users[start : start + size]
            results.extend(await asyncio.gather(*(one(u) for u in batch)))
        self.logger.info("Minted hub tokens", count=len(results))
        return results

    async def _authenticate_one(self, user: User, scopes: list[str]) -> AuthenticatedUser:
        try:
            created = await self.hub.ensure_user(user.username)
            minted = await self.hub.mint_token(
                user.username,
                note=self.config.token_note,
                expires_in=self.config.token_lifetime,
                scopes=self.config.token_scopes,
            )
        except JupyterError as exc:
            raise IdentityError(f"Cannot mint a hub token for {user.username}: {exc}") from exc
        if created:
            self.logger.info("Created hub user", username=user.username)
        if minted.id is not None:
            self._minted[minted.token] = (user.username, minted.id)
        return authenticated(user, scopes, minted.token)

    async def release(self, users: list[AuthenticatedUser]) -> None:
        """Revoke the tokens of ``users`` (their monkeys stopped), best effort."""
        # By token, not by name: a flock replacing another may run the same users already.
        await self._revoke([self._minted.pop(u.token) for u in users if u.token in self._minted])

    async def aclose(self) -> None:
        """Revoke the tokens minted by this provider that are left (best effort)."""
        minted, self._minted = list(self._minted.values()), {}
        await self._revoke(minted)

    async def _revoke(self, minted: list[tuple[str, str]]) -> None:
        for username, token_id in minted:
            try:
                await self.hub.revoke_token(username, token_id)
            except JupyterError as exc:
                self.logger.warning("Cannot revoke hub token", username=username, error=str(exc))
