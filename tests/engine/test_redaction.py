"""Redaction of credentials wherever mobu writes: monkey logs, the main log, option dumps."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
import structlog
from structlog.testing import CapturingLogger
from structlog.typing import FilteringBoundLogger

from mobu.config import LoggingConfig, LogProfile
from mobu.logsetup import configure_logging, redacting_logger
from mobu.models.business.base import LogLevel
from mobu.models.business.config import BusinessConfig
from mobu.models.secrets import REVEAL, secret_values
from mobu.registry import BusinessRegistry
from mobu.services.business.gitlfs import GitLFS, GitLFSOptions
from mobu.storage.monkeylog import MonkeyLog, make_monkey_logger

LEAKS = [
    ("url", "https://bob:hunter2pw@example.org/x", "hunter2pw"),
    ("query", "GET https://example.org/x?token=tok3nvalue&a=1", "tok3nvalue"),
    ("query", "https://example.org/x?apikey=apik3yvalue", "apik3yvalue"),
    ("query", "https://example.org/x?api_key=apik3yvalue2", "apik3yvalue2"),
    ("query", "https://example.org/x?password=passw0rdvalue", "passw0rdvalue"),
    ("query", "https://example.org/x?secret=s3cretvalue", "s3cretvalue"),
    ("query", "https://example.org/x?access_token=acc3sstoken", "acc3sstoken"),
    ("header", "Authorization: Basic YWxhZGRpbjpvcGVu", "YWxhZGRpbjpvcGVu"),
    ("header", "sent Bearer abcdefgh12345678", "abcdefgh12345678"),
    ("known", "the header value is known-secret-value", "known-secret-value"),
]


@pytest.mark.parametrize(("kind", "text", "secret"), LEAKS)
def test_monkey_log_redacts_credentials(tmp_path: Path, kind: str, text: str, secret: str) -> None:
    """Each credential shape (and a known secret option) is redacted in the monkey log file."""
    log = MonkeyLog(tmp_path / "m.log")
    logger = make_monkey_logger(log, LogLevel.INFO, secrets=["known-secret-value"])
    message = f"Message {text}"
    logger.info(message, field=text)
    try:
        raise RuntimeError(text)  # noqa: TRY301
    except RuntimeError:
        logger.exception("Failed")
    written = log.text()
    assert secret not in written, kind
    assert "<redacted>" in written
    assert secret not in (tmp_path / "m.log").read_text(), "redacted before it is written"


def test_main_log_redacts_credentials() -> None:
    """The service log (production JSON) redacts credentials in values and tracebacks."""
    saved = structlog.get_config()
    try:
        configure_logging(LoggingConfig(profile=LogProfile.production))
        processors = structlog.get_config()["processors"]
        try:
            raise ValueError("failed https://bob:hunter2pw@example.org/?apikey=apik3yvalue")  # noqa: TRY301
        except ValueError as exc:
            event: Any = {"event": "Request failed Bearer abcdefgh12345678", "exc_info": exc}
            event["nested"] = {"url": "https://example.org/?token=tok3nvalue"}
            for processor in processors:
                event = processor(None, "error", event)
    finally:
        structlog.configure(**saved)
    line = json.loads(event)
    text = json.dumps(line)
    for secret in ("hunter2pw", "apik3yvalue", "abcdefgh12345678", "tok3nvalue"):
        assert secret not in text
    assert "ValueError" in line["exception"]


def test_redacting_logger_hides_known_secrets() -> None:
    """Monkeys logging through the main logger (no log files) also hide their token."""
    capture = CapturingLogger()
    main: FilteringBoundLogger = structlog.wrap_logger(
        capture, wrapper_class=structlog.make_filtering_bound_logger(logging.INFO), processors=[]
    )
    logger = redacting_logger(main.bind(monkey="m"), ["plain-hub-token-0123"])
    logger.debug("dropped by the main logger's level")
    logger.info("Using plain-hub-token-0123", header="token plain-hub-token-0123")
    [call] = capture.calls
    assert "plain-hub-token-0123" not in repr(call)
    assert call.kwargs["monkey"] == "m"
    assert call.kwargs["event"] == "Using <redacted>"


def test_secret_options_are_masked_unless_revealed() -> None:
    """Secret options dump as masks; only the REVEAL context (the client's) writes them out."""
    registry = BusinessRegistry({"GitLFS": GitLFS})
    url = "https://gituser:lfs-pw-1234@lfs.example.org/repo.git/info/lfs?token=tq1234"
    given = {"lfs_read_url": url, "lfs_write_url": url}
    options = registry.options("GitLFS", given)
    dumped = options.model_dump(mode="json")
    masked = "https://gituser:**********@lfs.example.org/repo.git/info/lfs?token=**********"
    assert dumped["lfs_write_url"] == masked
    assert options.model_dump(mode="python")["lfs_read_url"] == masked
    assert "lfs-pw-1234" not in options.model_dump_json()
    assert options.model_dump(mode="json", context=REVEAL)["lfs_read_url"] == url
    assert isinstance(options, GitLFSOptions)
    assert set(secret_values(options)) == {"lfs-pw-1234", "tq1234"}
    assert "lfs-pw-1234" not in repr(options)
    config = BusinessConfig(type="GitLFS", options=given)  # as given: not in its repr
    assert "lfs-pw-1234" not in repr(config)
