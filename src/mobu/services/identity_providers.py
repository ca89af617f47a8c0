"""Identity providers selected by the ``identity:`` configuration section.

* ``jupyterhub``: with an admin service token, create each monkey's hub user if missing and mint
  a per-user token through the hub API, in bounded-concurrency batches;
* ``static``: tokens given in the configuration (or ``MOBU_IDENTITY__...`` variables), for hubs
  where mobu cannot mint tokens.

Tokens are kept only in :class:`~mobu.models.user.AuthenticatedUser` (excluded from output) and
never logged.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Annotated, Literal

import httpx
from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, SecretStr
from structlog.typing import FilteringBoundLogger

from mobu.exceptions import MobuError
from mobu.models.timedelta import HumanTimedelta
from mobu.models.user import AuthenticatedUser, User
from mobu.services.identity import IdentityProvider
from mobu.storage.jupyter import HubClient, JupyterError

__all__ = [
    "IdentityConfig",
    "IdentityError",
    "JupyterHubIdentity",
    "JupyterHubIdentityConfig",
    "StaticIdentity",
    "StaticIdentityConfig",
    "build_identity",
]


class IdentityError(MobuError):
    """Monkeys could not be given an identity (user creation or token minting failed)."""

    error, status_code = "identity_failed", 502


class JupyterHubIdentityConfig(BaseModel):
    """Mint per-user tokens through the JupyterHub API."""

    model_config = ConfigDict(extra="forbid")

    provider: Literal["jupyterhub"] = Field(..., description="Identity provider type")
    hub_url: AnyHttpUrl | None = Field(
        None, description="Hub URL; default discovery.services.hub"
    )
    admin_token: SecretStr = Field(
        ...,
        description="Service token with admin:users and tokens scopes"
        " (env MOBU_IDENTITY__ADMIN_TOKEN)",
    )
    token_scopes: list[str] | None = Field(
        None,
        description="Scopes of the minted tokens; null: all of the user's own scopes",
        examples=[["access:servers!user", "servers!user", "users:activity!user"]],
    )
    token_lifetime: HumanTimedelta | None = Field(
        timedelta(days=7), description="Lifetime of the minted tokens; null: no expiry"
    )
    token_note: str = Field("mobu", description="Note stored with each minted token")
    concurrency: int = Field(10, ge=1, le=100, description="Users handled at once")
    timeout: HumanTimedelta = Field(timedelta(seconds=30), description="Timeout of each call")


class StaticIdentityConfig(BaseModel):
    """Tokens given in the configuration."""

    model_config = ConfigDict(extra="forbid")

    provider: Literal["static"] = Field(..., description="Identity provider type")
    tokens: dict[str, SecretStr] = Field(
        default_factory=dict, description="Token of each username"
    )
    default_token: SecretStr | None = Field(
        None, description="Token of users not listed in tokens (env MOBU_IDENTITY__DEFAULT_TOKEN)"
    )


IdentityConfig = Annotated[
    JupyterHubIdentityConfig | StaticIdentityConfig, Field(discriminator="provider")
]
"""The ``identity:`` configuration section."""


def _authenticated(user: User, scopes: list[str], token: str | None) -> AuthenticatedUser:
    return AuthenticatedUser(
        username=user.username,
        uidnumber=user.uidnumber,
        gidnumber=user.gidnumber if user.gidnumber is not None else user.uidnumber,
        groups=user.groups,
        scopes=scopes,
        token=token,
    )


class StaticIdentity:
    """Hands out the configured tokens."""

    def __init__(self, config: StaticIdentityConfig) -> None:
        self.config = config

    async def authenticate(self, users: list[User], scopes: list[str]) -> list[AuthenticatedUser]:
        """Return the users with their configured tokens.

        Raises
        ------
        IdentityError
            A user has no token and there is no default token.
        """
        out = []
        for user in users:
            secret = self.config.tokens.get(user.username, self.config.default_token)
            if secret is None:
                raise IdentityError(
                    f"identity.tokens has no token for {user.username} and no default_token"
                )
            out.append(_authenticated(user, scopes, secret.get_secret_value()))
        return out

    async def aclose(self) -> None:
        """Nothing to release."""


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
        self._minted: dict[str, list[str]] = {}

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
            self._minted.setdefault(user.username, []).append(minted.id)
        return _authenticated(user, scopes, minted.token)

    async def aclose(self) -> None:
        """Revoke the tokens minted by this provider (best effort)."""
        minted, self._minted = self._minted, {}
        for username, ids in minted.items():
            for token_id in ids:
                try:
                    await self.hub.revoke_token(username, token_id)
                except JupyterError as exc:
                    self.logger.warning(
                        "Cannot revoke hub token", username=username, error=str(exc)
                    )


def build_identity(
    config: JupyterHubIdentityConfig | StaticIdentityConfig,
    *,
    hub_url: str | None,
    http: httpx.AsyncClient,
    logger: FilteringBoundLogger,
) -> IdentityProvider:
    """Build the provider selected by ``config``.

    Raises
    ------
    IdentityError
        The jupyterhub provider has no hub URL (neither identity.hub_url nor discovery).
    """
    if isinstance(config, StaticIdentityConfig):
        return StaticIdentity(config)
    url = str(config.hub_url) if config.hub_url is not None else hub_url
    if url is None:
        raise IdentityError(
            "identity provider jupyterhub needs identity.hub_url or discovery.services.hub"
        )
    return JupyterHubIdentity(config, hub_url=url, http=http, logger=logger)
