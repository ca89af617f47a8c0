"""The alerts, metrics and events sections: clear errors, secrets never echoed."""

from __future__ import annotations

from pathlib import Path

import pytest

from mobu.config import ConfigError, load_config


def _load(tmp_path: Path, text: str) -> None:
    path = tmp_path / "mobu.yaml"
    path.write_text(text)
    load_config(path)


@pytest.mark.parametrize(
    ("yaml", "expected"),
    [
        (
            "alerts:\n  slack: {webhook: 'not a url secret-xyz'}\n",
            "alerts.slack: Value error, webhook",
        ),
        (
            "alerts:\n  slack: {webhook: 'https://h/s', dedup: 5}\n",
            "alerts.slack.dedup: unknown key",
        ),
        (
            "alerts:\n  sentry: {dsn: 'https://k@h/1', traces_sample_rate: 3}\n",
            "traces_sample_rate",
        ),
        ("metrics:\n  duration_buckets: [1, 0.5]\n", "metrics.duration_buckets"),
        ("events:\n  kafka: {bootstrap_servers: []}\n", "events.kafka.bootstrap_servers"),
        ("events:\n  file: {path: /tmp/x.jsonl, max_bytes: 10}\n", "events.file.max_bytes"),
    ],
)
def test_bad_sections_are_reported_by_key(tmp_path: Path, yaml: str, expected: str) -> None:
    """Each mistake names its key; the webhook (a credential) is not echoed."""
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, yaml)
    message = str(info.value)
    assert expected in message
    assert "secret-xyz" not in message


def test_sections_parse(tmp_path: Path) -> None:
    """Empty sections mean defaults; durations accept human strings."""
    path = tmp_path / "mobu.yaml"
    path.write_text(
        "alerts:\nmetrics:\nevents:\n  statistics_window: 10m\n"
        "  file: {path: /tmp/mobu-events.jsonl}\n"
    )
    config = load_config(path)
    assert config.alerts.slack is None
    assert config.metrics.prometheus
    assert not config.metrics.enabled
    assert config.events.statistics_window.total_seconds() == 600
    assert config.events.file is not None
