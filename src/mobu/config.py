"""Configuration of the mobu service: one YAML file plus ``MOBU_*`` environment variables.

Only the composition roots (:mod:`mobu.factory`, :mod:`mobu.main`, :mod:`mobu.cli`) read it.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any, Self

from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from mobu.alerts.config import AlertsConfig, TracesSampleConfig
from mobu.configkeys import REFERENCE_ONLY_KEYS, KeyConflictError, snake_keys
from mobu.discovery.config import DiscoveryConfig
from mobu.exceptions import InvalidOptionsError, UnknownBusinessError
from mobu.github.config import GitHubCiAppConfig, GitHubRefreshAppConfig
from mobu.history.config import HistoryConfig
from mobu.identity.config import IdentityConfig
from mobu.metrics.config import MetricsConfig
from mobu.models.errors import format_errors
from mobu.models.flock import FlockConfig
from mobu.models.timedelta import HumanTimedelta
from mobu.paths import default_data_dir
from mobu.registry import BusinessRegistry
from mobu.replicas.config import ReplicasConfig
from mobu.serviceconfig import AuthConfig, ConfigError, LevelName, LoggingConfig, LogProfile
from mobu.sinks.config import EventsConfig
from mobu.yamlload import YamlLoadError, load_yaml_file

__all__ = [
    "AuthConfig",
    "Config",
    "ConfigError",
    "LogProfile",
    "LoggingConfig",
    "default_config_path",
    "load_config",
]

DEFAULT_CONFIG_PATH = Path("/etc/mobu/config.yaml")
"""Where the reference's chart mounts the configuration."""

REFERENCE_AUTH = {"mode": "trust_header", "trust_header": "X-Auth-Request-User"}
"""Authentication of a reference-shaped configuration: the user Gafaelfawr's ingress passes."""


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
    metrics: MetricsConfig = Field(
        default_factory=MetricsConfig,
        description="App-metrics events (the reference's keys) and Prometheus metrics",
    )
    events: EventsConfig = Field(
        default_factory=EventsConfig, description="Event sinks (file, Kafka) and statistics"
    )
    history: HistoryConfig = Field(
        default_factory=HistoryConfig, description="History store (results over time, failures)"
    )
    replicas: ReplicasConfig = Field(default_factory=ReplicasConfig, description="Replica group")
    data_dir: Path = Field(
        default_factory=default_data_dir,
        description=(
            "Directory for everything mobu writes (history, monkey logs, clones, caches);"
            " default $XDG_STATE_HOME/mobu when writable, else under the temp dir"
        ),
    )
    query_set_dirs: list[Path] = Field(
        default_factory=list,
        description="Directories of one's own TAP/SIA query sets, asked for by name (no paths)",
    )

    # The reference's settings (docs/configuration.md: "The reference's keys").
    log_level: LevelName | None = Field(
        None, description="Reference's logLevel: logging.level unless that is given"
    )
    log_profile: LogProfile | None = Field(
        None, description="Reference's logProfile: logging.profile unless that is given"
    )
    slack_alerts: bool = Field(
        False, description="Reference's slackAlerts: Slack alerts to MOBU_ALERT_HOOK"
    )
    alert_hook: SecretStr | None = Field(
        None, description="Slack incoming webhook of slackAlerts (env MOBU_ALERT_HOOK)"
    )
    sentry_dsn: SecretStr | None = Field(
        None, description="Sentry DSN (env MOBU_SENTRY_DSN); null: no Sentry unless alerts.sentry"
    )
    sentry_environment: str | None = Field(
        None, description="Sentry environment (env MOBU_SENTRY_ENVIRONMENT)"
    )
    sentry_release: str | None = Field(
        None,
        validation_alias=AliasChoices("sentry_release", "SENTRY_RELEASE"),
        description="Release reported to Sentry (env SENTRY_RELEASE)",
    )
    sentry_traces_sample_config: TracesSampleConfig = Field(
        0.0, description="Sentry traces: a rate 0..1, or 'errors' (only errored transactions)"
    )
    gafaelfawr_token: SecretStr | None = Field(
        None,
        description="Gafaelfawr admin token: mints the monkeys' tokens (MOBU_GAFAELFAWR_TOKEN)",
    )
    gafaelfawr_timeout: HumanTimedelta | None = Field(
        None, description="Timeout of the Gafaelfawr calls at flock start; null: the HTTP default"
    )
    repertoire_base_url: str | None = Field(
        None,
        validation_alias=AliasChoices("repertoire_base_url", "REPERTOIRE_BASE_URL"),
        description="Service discovery (Repertoire) base URL (env REPERTOIRE_BASE_URL)",
    )
    github_ci_app: GitHubCiAppConfig | None = Field(
        None, description="Reference's githubCiApp; null: off"
    )
    github_refresh_app: GitHubRefreshAppConfig | None = Field(
        None, description="Reference's githubRefreshApp; null: off"
    )

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("sentry_traces_sample_config")
    @classmethod
    def _check_rate(cls, value: TracesSampleConfig) -> TracesSampleConfig:
        if isinstance(value, float) and not 0 <= value <= 1:
            raise ValueError("must be between 0 and 1, or 'errors'")
        return value

    @model_validator(mode="after")
    def _check_replica(self) -> Self:
        if self.replica_index >= self.replica_count:
            raise ValueError(
                f"replica_index {self.replica_index} must be less than"
                f" replica_count {self.replica_count}"
            )
        return self

    @model_validator(mode="after")
    def _reference_keys(self) -> Self:
        """Apply the reference's keys to the project's sections (which win when given)."""
        logging: dict[str, Any] = {}
        if self.log_level is not None and "level" not in self.logging.model_fields_set:
            logging["level"] = self.log_level
        if self.log_profile is not None and "profile" not in self.logging.model_fields_set:
            logging["profile"] = self.log_profile
        if logging:
            self.logging = self.logging.model_copy(update=logging)
        self.alerts = self.alerts.with_reference(
            slack_alerts=self.slack_alerts,
            alert_hook=self.alert_hook,
            sentry_dsn=self.sentry_dsn,
            sentry_environment=self.sentry_environment,
            sentry_release=self.sentry_release,
            traces_sample_config=self.sentry_traces_sample_config,
        )
        sentry = self.alerts.sentry
        if sentry is not None and "traces_sample_rate" in sentry.model_fields_set:
            self.sentry_traces_sample_config = sentry.traces_sample_rate  # the section wins
        elif sentry is not None and "sentry_traces_sample_config" in self.model_fields_set:
            sentry = sentry.model_copy(
                update={"traces_sample_rate": self.sentry_traces_sample_config}
            )
            self.alerts = self.alerts.model_copy(update={"sentry": sentry})
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
        try:
            # A null at the top level (the chart's "sentryEnvironment: null") means "not set":
            # the environment or the default applies.
            data = snake_keys(Config, raw, opaque=(FlockConfig,))
            data = {k: v for k, v in data.items() if v is not None}
        except KeyConflictError as exc:
            raise ConfigError(f"{path}: invalid configuration:\n{exc}") from exc
        if is_reference_shaped(data):
            data["auth"] = dict(REFERENCE_AUTH)
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


def is_reference_shaped(data: dict[str, Any]) -> bool:
    """Whether file ``data`` (snake_case keys) is the reference's: no ``auth`` anywhere, a key
    only the reference has (the chart always renders ``logLevel``, ``logProfile``, ...)."""
    if "auth" in data or any(k.upper().startswith("MOBU_AUTH") for k in os.environ):
        return False
    return any(key in REFERENCE_ONLY_KEYS for key in data)


def default_config_path() -> Path | None:
    """``MOBU_CONFIG_PATH`` if set (empty: none), else the chart's path if that file exists."""
    given = os.environ.get("MOBU_CONFIG_PATH")
    if given is not None:
        return Path(given) if given else None
    return DEFAULT_CONFIG_PATH if DEFAULT_CONFIG_PATH.is_file() else None
