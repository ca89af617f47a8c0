"""Configuration of the mobu service: one YAML file plus ``MOBU_*`` environment variables.

Only the composition roots (:mod:`mobu.factory`, :mod:`mobu.main`, :mod:`mobu.cli`) read it.
"""

from __future__ import annotations

import ipaddress
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal, Self

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from mobu.alerts.config import AlertsConfig
from mobu.discovery.config import DiscoveryConfig
from mobu.exceptions import InvalidOptionsError, MobuError, UnknownBusinessError
from mobu.identity.config import IdentityConfig
from mobu.metrics.config import MetricsConfig
from mobu.models.errors import format_errors
from mobu.models.flock import FlockConfig
from mobu.models.timedelta import HumanTimedelta
from mobu.paths import default_data_dir
from mobu.registry import BusinessRegistry
from mobu.sinks.config import EventsConfig
from mobu.yamlload import YamlLoadError, load_yaml_file

__all__ = [
    "AuthConfig",
    "Config",
    "ConfigError",
    "LogProfile",
    "LoggingConfig",
    "load_config",
]


class ConfigError(MobuError):
    """The configuration is invalid; the message names the key and the reason."""


class LogProfile(StrEnum):
    """Log format."""

    development = "development"
    production = "production"


class LoggingConfig(BaseModel):
    """Logging of the service itself."""

    model_config = ConfigDict(extra="forbid")

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = Field(
        "INFO", description="Log level of the service"
    )
    profile: LogProfile = Field(
        LogProfile.development,
        description="development: console lines; production: one JSON object per line",
    )


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


class Config(BaseSettings):
    """The whole configuration. Unknown keys are rejected.

    Sections ``identity``, ``discovery``, ``alerts``, ``metrics`` and ``events`` are defined by
    the modules that use them and validated there; see docs/configuration.md.
    """

    model_config = SettingsConfigDict(
        env_prefix="MOBU_", env_nested_delimiter="__", extra="forbid", case_sensitive=False
    )

    name: str = Field("mobu", description="Name of the application")
    path_prefix: str = Field(
        "/mobu", pattern=r"^/[A-Za-z0-9._~/-]*$", description="URL prefix of the API"
    )
    autostart: list[FlockConfig] = Field(
        default_factory=list, description="Flocks started at boot, in order"
    )
    replica_count: int = Field(1, ge=1, description="Number of mobu replicas")
    replica_index: int = Field(0, ge=0, description="Index of this replica")
    max_request_bytes: int = Field(
        1_048_576, ge=1024, description="Largest request body accepted (larger: 413)"
    )
    logging: LoggingConfig = Field(default_factory=LoggingConfig)
    log_monkeys_to_file: bool = Field(True, description="Keep a log per monkey")
    monkey_log_max_bytes: int = Field(
        1_048_576, ge=4096, description="Disk kept per monkey log (file plus one rotation)"
    )
    auth: AuthConfig = Field(default_factory=AuthConfig)
    stop_grace: HumanTimedelta = Field(
        timedelta(seconds=30),
        description="Time a business has to acknowledge a stop before it is cancelled",
    )
    identity: IdentityConfig | None = Field(
        None, description="Identity provider (who the monkeys are); none = no tokens"
    )
    discovery: DiscoveryConfig = Field(
        default_factory=DiscoveryConfig, description="Service discovery"
    )
    alerts: AlertsConfig = Field(
        default_factory=AlertsConfig, description="Alert channels (Slack, Sentry)"
    )
    metrics: MetricsConfig = Field(default_factory=MetricsConfig, description="Prometheus metrics")
    events: EventsConfig = Field(
        default_factory=EventsConfig, description="Event sinks (file, Kafka) and statistics"
    )
    data_dir: Path = Field(
        default_factory=default_data_dir,
        description=(
            "Directory for everything mobu writes (history, monkey logs, clones, caches);"
            " default $XDG_STATE_HOME/mobu when writable, else under the temp dir"
        ),
    )
    gafaelfawr_token: SecretStr | None = Field(
        None,
        description="Gafaelfawr admin token (admin:token) minting the monkeys' tokens"
        " (env MOBU_GAFAELFAWR_TOKEN); selects the gafaelfawr identity provider",
    )
    gafaelfawr_timeout: HumanTimedelta | None = Field(
        None, description="Timeout of each Gafaelfawr call; null: the HTTP client's default"
    )
    repertoire_base_url: str | None = Field(
        None,
        validation_alias=AliasChoices(
            "repertoire_base_url", "REPERTOIRE_BASE_URL", "MOBU_REPERTOIRE_BASE_URL"
        ),
        description="Repertoire service discovery base URL (env REPERTOIRE_BASE_URL);"
        " selects the repertoire discovery provider",
    )
    query_set_dirs: list[Path] = Field(
        default_factory=list,
        description="Directories of one's own TAP/SIA query sets, asked for by name (no paths)",
    )

    @model_validator(mode="after")
    def _check_replica(self) -> Self:
        if self.replica_index >= self.replica_count:
            raise ValueError(
                f"replica_index {self.replica_index} must be less than"
                f" replica_count {self.replica_count}"
            )
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Values in the YAML file win over the environment."""
        return (init_settings, env_settings)


def format_validation_error(exc: ValidationError) -> str:
    """One line per error: ``key.path: reason`` (never the input)."""
    return format_errors(exc.errors())


def load_config(path: Path | None, *, registry: BusinessRegistry | None = None) -> Config:
    """Load and validate the configuration.

    Parameters
    ----------
    path
        The YAML file; None for the environment only.
    registry
        The business registry of the process that will run the configuration: the business
        of each ``autostart`` flock (type and options) is validated against it. Without it,
        those businesses are validated when each flock starts.

    Raises
    ------
    ConfigError
        The file cannot be read or parsed, or a value is invalid (the message names the key).
    """
    data: dict[str, Any] = {}
    if path is not None:
        try:
            raw = load_yaml_file(path)
        except YamlLoadError as exc:
            raise ConfigError(str(exc)) from exc
        if raw is None:
            raw = {}
        if not isinstance(raw, dict):
            raise ConfigError(f"{path}: the top level must be a mapping")
        data = {_snake(k): v for k, v in raw.items()}
    where = f"{path}: " if path else ""
    try:
        config = Config(**data)
    except ValidationError as exc:
        raise ConfigError(f"{where}invalid configuration:\n{format_validation_error(exc)}") from exc
    problems = [] if registry is None else _autostart_problems(config, registry)
    if problems:
        raise ConfigError(f"{where}invalid configuration:\n" + "\n".join(problems))
    return config


def _autostart_problems(config: Config, registry: BusinessRegistry) -> list[str]:
    """One line per problem of the autostart flocks' businesses (``key.path: reason``)."""
    problems = []
    for index, flock in enumerate(config.autostart):
        where: tuple[str | int, ...] = ("autostart", index, "business")
        try:
            registry.options(flock.business.type, flock.business.options, where)
        except UnknownBusinessError as exc:
            problems.append(f"autostart.{index}.business.type: {exc.message}")
        except InvalidOptionsError as exc:
            problems.append(str(exc))
    return problems


def _snake(key: Any) -> Any:
    """Accept the reference's camelCase keys (``pathPrefix``) as well as snake_case."""
    if not isinstance(key, str):
        return key
    out = []
    for ch in key:
        if ch.isupper():
            out.append("_" + ch.lower())
        else:
            out.append(ch)
    return "".join(out)
