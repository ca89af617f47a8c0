"""The ``identity:`` configuration section: one model per provider, told apart by ``provider``."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal, Self

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, SecretStr, model_validator

from mobu.models.timedelta import HumanTimedelta

__all__ = [
    "GafaelfawrIdentityConfig",
    "IdentityConfig",
    "JupyterHubIdentityConfig",
    "StaticIdentityConfig",
]


class JupyterHubIdentityConfig(BaseModel):
    """Mint per-user tokens through the JupyterHub API."""

    model_config = ConfigDict(extra="forbid")

    provider: Literal["jupyterhub"] = Field(..., description="Identity provider type")
    hub_url: AnyHttpUrl | None = Field(None, description="Hub URL; default discovery.services.hub")
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
    tokens: dict[str, SecretStr] = Field(default_factory=dict, description="Token of each username")
    default_token: SecretStr | None = Field(
        None, description="Token of users not listed in tokens (env MOBU_IDENTITY__DEFAULT_TOKEN)"
    )


class GafaelfawrIdentityConfig(BaseModel):
    """Mint per-monkey service tokens through Gafaelfawr's admin API (rubin-gafaelfawr).

    Gafaelfawr's URL comes from Repertoire discovery (``REPERTOIRE_BASE_URL``), as the
    library finds it. Selected automatically when ``MOBU_GAFAELFAWR_TOKEN`` is set and no
    other provider is configured.
    """

    model_config = ConfigDict(extra="forbid")

    provider: Literal["gafaelfawr"] = Field(..., description="Identity provider type")
    admin_token: SecretStr | None = Field(
        None,
        description="Admin token with admin:token; default gafaelfawr_token"
        " (env MOBU_GAFAELFAWR_TOKEN)",
    )
    token_lifetime: HumanTimedelta = Field(
        timedelta(days=365), description="Lifetime of each minted token"
    )
    renew_before: HumanTimedelta | None = Field(
        None,
        description="Mint a new token this long before the old one expires;"
        " default a third of token_lifetime",
    )
    concurrency: int = Field(10, ge=1, le=100, description="Users handled at once")
    timeout: HumanTimedelta | None = Field(
        None, description="Timeout of each Gafaelfawr call; default gafaelfawr_timeout"
    )

    @model_validator(mode="after")
    def _check_renewal(self) -> Self:
        if self.token_lifetime <= timedelta(0):
            raise ValueError("token_lifetime must be positive")
        if self.renew_before is not None and not (
            timedelta(0) < self.renew_before < self.token_lifetime
        ):
            raise ValueError("renew_before must be positive and less than token_lifetime")
        return self

    @property
    def renewal_margin(self) -> timedelta:
        """How long before expiry a token is renewed."""
        return self.renew_before if self.renew_before is not None else self.token_lifetime / 3


IdentityConfig = Annotated[
    JupyterHubIdentityConfig | StaticIdentityConfig | GafaelfawrIdentityConfig,
    Field(discriminator="provider"),
]
"""The ``identity:`` configuration section."""
