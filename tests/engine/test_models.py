"""Durations, registry, monkey logs and solitary runs."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError

from mobu.exceptions import UnknownBusinessError
from mobu.models.business.base import LogLevel
from mobu.models.solitary import SolitaryConfig
from mobu.models.timedelta import HumanTimedelta, parse_timedelta
from mobu.models.user import AuthenticatedUser
from mobu.registry import BusinessRegistry, default_registry
from mobu.services.builder import MonkeyBuilder
from mobu.services.business.empty import EmptyLoop
from mobu.services.identity import AnonymousIdentity
from mobu.services.solitary import run_solitary
from mobu.storage.monkeylog import MonkeyLog, make_monkey_logger


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (30, 30),
        ("30", 30),
        (1.5, 1.5),
        ("5m30s", 330),
        ("1h", 3600),
        ("4h 3minutes", 14580),
        ("2w", 1209600),
        ("250ms", 0.25),
    ],
)
def test_parse_timedelta(value: object, seconds: float) -> None:
    """Durations accept seconds or human strings."""
    assert parse_timedelta(value).total_seconds() == seconds


@pytest.mark.parametrize("value", ["soon", "", "5 parsecs", -1, True, [1]])
def test_parse_timedelta_rejects(value: object) -> None:
    """Nonsense, negative and non-numeric durations are rejected."""
    with pytest.raises(ValueError):
        parse_timedelta(value)


def test_timedelta_serialises_as_seconds() -> None:
    """HumanTimedelta serialises to JSON as float seconds."""

    class M(BaseModel):
        t: HumanTimedelta

    assert M(t="1m").model_dump_json() == '{"t":60.0}'


def test_registry_entry_points() -> None:
    """The installed entry points provide the built-ins; lookups of unknown types list them."""
    registry = default_registry()
    assert {"EmptyLoop", "HTTPCheck"} <= set(registry.names())
    with pytest.raises(UnknownBusinessError, match=r"known types: .*EmptyLoop"):
        registry.get("Nope")
    assert registry.extra_parameters("HTTPCheck") == ["http_session", "fast_http"]
    assert registry.extra_parameters("EmptyLoop") == []
    described = {d["type"]: d for d in registry.describe()}
    assert "url" in described["HTTPCheck"]["options_schema"]["properties"]


def test_registry_rejects_duplicates() -> None:
    """A name cannot be registered twice with different classes."""
    registry = BusinessRegistry({"EmptyLoop": EmptyLoop})

    class Other(EmptyLoop):
        pass

    registry.register("EmptyLoop", EmptyLoop)
    with pytest.raises(ValueError, match="already registered"):
        registry.register("EmptyLoop", Other)


def test_monkey_log_is_bounded(tmp_path: Path) -> None:
    """A monkey log keeps at most max_bytes on disk, in two files, and reads oldest first."""
    log = MonkeyLog(tmp_path / "m.log", max_bytes=8192, flush_bytes=512)
    for i in range(5000):
        log.write(f"line {i:05d} " + "x" * 40)
    log.flush()
    files = list(tmp_path.iterdir())
    assert len(files) <= 2
    assert sum(f.stat().st_size for f in files) <= 8192 + 600
    text = log.text()
    assert text.rstrip().endswith("line 04999 " + "x" * 40)
    numbers = [int(line.split()[1]) for line in text.splitlines()]
    assert numbers == sorted(numbers)
    log.delete()
    assert list(tmp_path.iterdir()) == []


def test_monkey_logger_redacts_and_filters(tmp_path: Path) -> None:
    """The monkey logger drops lines below its level and redacts the token."""
    log = MonkeyLog(tmp_path / "m.log")
    logger = make_monkey_logger(log, LogLevel.INFO, secret="s3cret-token")
    logger.debug("hidden")
    logger.info("Calling", header="Bearer s3cret-token")
    try:
        raise RuntimeError("boom s3cret-token")  # noqa: TRY301
    except RuntimeError:
        logger.exception("Failed")
    text = log.text()
    assert "hidden" not in text
    assert "s3cret-token" not in text
    assert "Bearer <redacted>" in text
    assert "RuntimeError: boom <redacted>" in text


async def test_solitary_success_and_token_never_shown(
    builder: MonkeyBuilder, registry: BusinessRegistry
) -> None:
    """A solitary EmptyLoop succeeds and returns its log; user dumps never carry tokens."""
    config = SolitaryConfig.model_validate(
        {"user": {"username": "bot-mobu-solo"}, "business": {"type": "EmptyLoop"}},
        context={"registry": registry},
    )
    result = await run_solitary(config, builder=builder, identity=AnonymousIdentity())
    assert result.success
    assert result.error is None
    assert "Starting up" in result.log
    user = AuthenticatedUser(username="bot-mobu-x", token="gt-secret")
    assert "gt-secret" not in user.model_dump_json()
    assert "gt-secret" not in repr(user)


async def test_solitary_timeout(builder: MonkeyBuilder, registry: BusinessRegistry) -> None:
    """A solitary run that hangs is stopped at its timeout and reported as failed."""
    config = SolitaryConfig.model_validate(
        {"user": {"username": "bot-mobu-solo"}, "business": {"type": "Hanging"}, "timeout": 0.2},
        context={"registry": registry},
    )
    result = await run_solitary(config, builder=builder, identity=AnonymousIdentity())
    assert not result.success
    assert result.error == "Timed out after 0.2s"


def test_solitary_rejects_bad_spec(registry: BusinessRegistry) -> None:
    """A bad solitary spec is a validation error naming the field."""
    with pytest.raises(ValidationError) as info:
        SolitaryConfig.model_validate(
            {"user": {"username": "root"}, "business": {"type": "EmptyLoop"}},
            context={"registry": registry},
        )
    assert info.value.errors()[0]["loc"] == ("user", "username")
    assert timedelta(hours=1) == SolitaryConfig.model_fields["timeout"].default
