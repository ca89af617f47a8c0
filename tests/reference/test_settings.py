"""The reference's settings keys: camelCase at every level, their meaning, env, which wins."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

import mobu.config
from mobu.config import Config, ConfigError, default_config_path, load_config

HOOK = "https://hooks.slack.com/services/T000/B000/hook-secret-9d2f"  # a test secret
DSN = "https://dsn-secret-31c7@sentry.example.org/42"  # a test secret


def _load(tmp_path: Path, data: dict[str, Any]) -> Config:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data))
    return load_config(path)


def _error(tmp_path: Path, data: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, data)
    return str(info.value)


def test_camel_case_at_every_level(tmp_path: Path) -> None:
    """Nested sections take camelCase keys; free-form mappings keep theirs as data."""
    config = _load(
        tmp_path,
        {
            "pathPrefix": "/api/mobu",
            "stopGrace": "5s",
            "maxRequestBytes": 4096,
            "logging": {"level": "debug"},
            "alerts": {"slack": {"webhook": HOOK, "dedupWindow": "10m", "apiErrors": False}},
            "events": {"appName": "mobu-test"},
            "discovery": {
                "environmentName": "idfdev",
                "services": {"myService": "http://127.0.0.1:1/"},
                "datasets": {"dp02": {"tap": "http://127.0.0.1:1/tap"}},
            },
            "identity": {
                "provider": "static",
                "defaultToken": "static-token",
                "tokens": {"bot-mobu-someUser": "t"},
            },
            "githubRefreshApp": {"acceptedGithubOrgs": ["lsst-sqre"], "webhookSecret": "s"},
            "auth": {"trustHeader": "X-Auth-Request-User"},
        },
    )
    assert config.path_prefix == "/api/mobu"
    assert config.stop_grace.total_seconds() == 5
    assert config.logging.level == "DEBUG"
    assert config.alerts.slack is not None
    assert config.alerts.slack.dedup_window.total_seconds() == 600
    assert config.alerts.slack.api_errors is False
    assert config.events.app_name == "mobu-test"
    assert config.discovery.environment_name == "idfdev"
    assert list(config.discovery.services) == ["myService"]
    assert config.identity is not None
    assert list(config.identity.tokens) == ["bot-mobu-someUser"]  # type: ignore[union-attr]
    assert config.github_refresh_app is not None
    assert config.github_refresh_app.accepted_github_orgs == ["lsst-sqre"]
    assert config.auth.trust_header == "X-Auth-Request-User"


def test_unknown_and_duplicate_keys(tmp_path: Path) -> None:
    """Unknown keys are refused by path, as written; a key given in both spellings too."""
    message = _error(
        tmp_path,
        {
            "alerts": {"slack": {"webhook": HOOK, "dedupWindoww": "1m"}},
            "metrics": {"noSuchKey": 1},
            "colour": "red",
        },
    )
    lines = message.splitlines()[1:]
    assert "alerts.slack.dedupWindoww: unknown key" in lines
    assert "metrics.noSuchKey: unknown key" in lines
    assert "colour: unknown key" in lines
    assert HOOK not in message
    message = _error(tmp_path, {"pathPrefix": "/a", "path_prefix": "/b"})
    assert "path_prefix: given twice (as pathPrefix and path_prefix)" in message


def test_reference_keys_and_project_sections(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """logLevel/logProfile fill logging; slackAlerts + MOBU_ALERT_HOOK fill alerts.slack."""
    monkeypatch.setenv("MOBU_ALERT_HOOK", HOOK)
    config = _load(
        tmp_path, {"logLevel": "WARNING", "logProfile": "production", "slackAlerts": True}
    )
    assert (config.logging.level, config.logging.profile) == ("WARNING", "production")
    assert config.alerts.slack is not None
    assert config.alerts.slack.webhook.get_secret_value() == HOOK
    assert HOOK not in repr(config)
    # The project's own sections win over the reference's keys.
    config = _load(
        tmp_path,
        {
            "logLevel": "WARNING",
            "logging": {"level": "ERROR"},
            "slackAlerts": True,
            "alerts": {"slack": {"webhook": HOOK.replace("hook", "own"), "failures": False}},
        },
    )
    assert config.logging.level == "ERROR"
    assert config.logging.profile == "development"
    assert config.alerts.slack is not None
    assert "own" in config.alerts.slack.webhook.get_secret_value()
    # slackAlerts false, or no hook: no Slack.
    assert _load(tmp_path, {"slackAlerts": False}).alerts.slack is None
    monkeypatch.delenv("MOBU_ALERT_HOOK")
    assert _load(tmp_path, {"slackAlerts": True}).alerts.slack is None


def test_bad_alert_hook_not_echoed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A hook that is not a URL is refused without quoting it."""
    monkeypatch.setenv("MOBU_ALERT_HOOK", "not-a-url-secret-77")
    message = _error(tmp_path, {"slackAlerts": True})
    assert "MOBU_ALERT_HOOK must be an http(s) URL" in message
    assert "not-a-url-secret-77" not in message


def test_sentry_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """MOBU_SENTRY_DSN, MOBU_SENTRY_ENVIRONMENT, SENTRY_RELEASE and the traces setting."""
    monkeypatch.setenv("MOBU_SENTRY_DSN", DSN)
    monkeypatch.setenv("MOBU_SENTRY_ENVIRONMENT", "idfprod")
    monkeypatch.setenv("SENTRY_RELEASE", "19.1.0")
    config = _load(tmp_path, {"sentryTracesSampleConfig": "errors", "sentryEnvironment": None})
    sentry = config.alerts.sentry
    assert sentry is not None
    assert (sentry.environment, sentry.release) == ("idfprod", "19.1.0")
    assert sentry.traces_sample_rate == "errors"
    assert config.sentry_traces_sample_config == "errors"
    assert DSN not in repr(config)
    # The file wins over the environment; alerts.sentry wins over both, rate included.
    config = _load(
        tmp_path,
        {
            "sentryEnvironment": "idfdev",
            "sentryTracesSampleConfig": 0.5,
            "alerts": {"sentry": {"dsn": DSN, "traces_sample_rate": 0.1}},
        },
    )
    assert config.alerts.sentry is not None
    assert config.alerts.sentry.environment == "production"
    assert config.sentry_traces_sample_config == 0.1
    assert config.sentry_environment == "idfdev"


@pytest.mark.parametrize("value", [2, -0.5, "sometimes"])
def test_bad_traces_sample_config(tmp_path: Path, value: Any) -> None:
    """The traces setting is a rate in 0..1 or 'errors'."""
    assert "sentry_traces_sample_config" in _error(tmp_path, {"sentryTracesSampleConfig": value})


def test_environment_of_the_chart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Replica, Gafaelfawr, Repertoire and GitHub app settings come from the chart's variables."""
    env = {
        "MOBU_REPLICA_COUNT": "3",
        "MOBU_REPLICA_INDEX": "2",
        "MOBU_GAFAELFAWR_TOKEN": "gt-admin.token-secret-61ab",
        "REPERTOIRE_BASE_URL": "https://data.example.org/repertoire",
        "MOBU_GITHUB_CI_APP_ID": "42",
        "MOBU_GITHUB_CI_APP_PRIVATE_KEY": "pem-secret-11",
        "MOBU_GITHUB_CI_APP_WEBHOOK_SECRET": "hmac-secret-12",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    config = _load(
        tmp_path,
        {
            "gafaelfawrTimeout": "2m",
            "githubCiApp": {"users": [{"username": "bot-mobu-ci-1"}], "scopes": ["exec:notebook"]},
        },
    )
    assert (config.replica_count, config.replica_index) == (3, 2)
    assert config.gafaelfawr_token is not None
    assert config.gafaelfawr_token.get_secret_value() == env["MOBU_GAFAELFAWR_TOKEN"]
    assert config.gafaelfawr_timeout is not None
    assert config.gafaelfawr_timeout.total_seconds() == 120
    assert config.repertoire_base_url == env["REPERTOIRE_BASE_URL"]
    assert config.github_ci_app is not None
    assert config.github_ci_app.id == 42
    for secret in ("gt-admin.token-secret-61ab", "pem-secret-11", "hmac-secret-12"):
        assert secret not in repr(config)
    monkeypatch.delenv("MOBU_GITHUB_CI_APP_ID")
    message = _error(tmp_path, {"githubCiApp": {"users": [{"username": "bot-mobu-ci-1"}]}})
    assert "MOBU_GITHUB_CI_APP_ID" in message
    assert "pem-secret-11" not in message


def test_reference_shaped_means_trust_header(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No auth section plus a reference-only key: trust Gafaelfawr's header, never no auth."""
    config = _load(tmp_path, {"logLevel": "INFO", "pathPrefix": "/mobu"})
    assert (config.auth.mode, config.auth.trust_header) == ("trust_header", "X-Auth-Request-User")
    assert _load(tmp_path, {"logLevel": "INFO", "auth": "none"}).auth.mode == "none"
    assert _load(tmp_path, {"pathPrefix": "/mobu"}).auth.mode == "none"
    monkeypatch.setenv("MOBU_AUTH__TOKENS", '["admin-token-3"]')
    assert _load(tmp_path, {"logProfile": "production"}).auth.mode == "tokens"


def test_config_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """MOBU_CONFIG_PATH, else the chart's /etc/mobu/config.yaml when it exists."""
    chart_path = tmp_path / "etc-mobu-config.yaml"
    monkeypatch.setattr(mobu.config, "DEFAULT_CONFIG_PATH", chart_path)
    monkeypatch.delenv("MOBU_CONFIG_PATH", raising=False)
    assert default_config_path() is None
    chart_path.write_text("logLevel: INFO\n")
    assert default_config_path() == chart_path
    monkeypatch.setenv("MOBU_CONFIG_PATH", str(tmp_path / "other.yaml"))
    assert default_config_path() == tmp_path / "other.yaml"
    monkeypatch.setenv("MOBU_CONFIG_PATH", "")
    assert default_config_path() is None
