"""The ``identity:`` configuration section: one model per provider, told apart by ``provider``."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, SecretStr

from mobu.models.timedelta import HumanTimedelta

__all__ = ["IdentityConfig", "JupyterHubIdentityConfig", "StaticIdentityConfig"]


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


IdentityConfig = Annotated[
    JupyterHubIdentityConfig | StaticIdentityConfig, Field(discriminator="provider")
]
"""The ``identity:`` configuration section."""
