"""Sections of the service configuration about the service itself: its logging and API auth.

Kept apart from :mod:`mobu.config` so that module holds only the settings class and its loader;
everything here is re-exported there.
"""

from __future__ import annotations

import ipaddress
from enum import StrEnum
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from mobu.exceptions import MobuError

__all__ = ["AuthConfig", "ConfigError", "LogProfile", "LoggingConfig"]

LevelName = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


class ConfigError(MobuError):
    """The configuration is invalid; the message names the key and the reason."""


class LogProfile(StrEnum):
    """Log format."""

    development = "development"
    production = "production"


class LoggingConfig(BaseModel):
    """Logging of the service itself."""

    model_config = ConfigDict(extra="forbid")

    level: LevelName = Field("INFO", description="Log level of the service")
    profile: LogProfile = Field(
        LogProfile.development,
        description="development: console lines; production: one JSON object per line",
    )

    @field_validator("level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value


class AuthConfig(BaseModel):
    """Who may use the API.

    ``tokens``: admin bearer tokens required on every route but /health. ``trust_header``: the
    user name comes from this header, set by an authenticating ingress. ``none``: no
    authentication, allowed only when the server binds to a loopback address.
    """

    model_config = ConfigDict(extra="forbid")

    mode: Literal["tokens", "trust_header", "none"] = Field(
        "none", description="How to authenticate"
    )
    tokens: list[SecretStr] = Field(default_factory=list, description="Admin bearer tokens")
    trust_header: str | None = Field(
        None,
        description="Header carrying the authenticated user name",
        examples=["X-Auth-Request-User"],
    )

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        if data is None or data == "none":
            return {"mode": "none"}
        if isinstance(data, dict) and "mode" not in data:
            data = dict(data)
            if data.get("tokens"):
                data["mode"] = "tokens"
            elif data.get("trust_header"):
                data["mode"] = "trust_header"
        return data

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.mode == "tokens" and not self.tokens:
            raise ValueError("auth mode tokens needs at least one token in auth.tokens")
        if self.mode == "trust_header" and not self.trust_header:
            raise ValueError("auth mode trust_header needs auth.trust_header")
        return self

    def check_bind(self, host: str) -> None:
        """Refuse ``none`` unless bound to loopback."""
        if self.mode != "none":
            return
        try:
            loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise ConfigError(
                f"auth: none is allowed only on a loopback address, not {host};"
                " set auth.tokens or auth.trust_header"
            )
