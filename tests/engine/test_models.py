"""Durations, registry, monkey logs, solitary runs, strict models and the error serialiser."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Literal

import pytest
import yaml
from pydantic import BaseModel, ValidationError, field_validator

from mobu.exceptions import UnknownBusinessError
from mobu.identity import AnonymousIdentity
from mobu.models.business.base import LogLevel
from mobu.models.errors import error_detail, format_errors, sanitize, validation_details
from mobu.models.flock import FlockConfig
from mobu.models.solitary import SolitaryConfig
from mobu.models.timedelta import HumanTimedelta, parse_timedelta
from mobu.models.user import AuthenticatedUser
from mobu.registry import BusinessRegistry
from mobu.services.builder import MonkeyBuilder
from mobu.services.business.empty import EmptyLoop
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
    registry = BusinessRegistry()
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


async def test_solitary_success_and_token_never_shown(builder: MonkeyBuilder) -> None:
    """A solitary EmptyLoop succeeds and returns its log; user dumps never carry tokens."""
    config = SolitaryConfig.model_validate(
        {"user": {"username": "bot-mobu-solo"}, "business": {"type": "EmptyLoop"}}
    )
    result = await run_solitary(config, builder=builder, identity=AnonymousIdentity())
    assert result.success
    assert result.error is None
    assert "Starting up" in result.log
    user = AuthenticatedUser(username="bot-mobu-x", token="gt-secret")
    assert "gt-secret" not in user.model_dump_json()
    assert "gt-secret" not in repr(user)


async def test_solitary_timeout(builder: MonkeyBuilder) -> None:
    """A solitary run that hangs is stopped at its timeout and reported as failed."""
    config = SolitaryConfig.model_validate(
        {"user": {"username": "bot-mobu-solo"}, "business": {"type": "Hanging"}, "timeout": 0.2}
    )
    result = await run_solitary(config, builder=builder, identity=AnonymousIdentity())
    assert not result.success
    assert result.error == "Timed out after 0.2s"


def test_solitary_rejects_bad_spec() -> None:
    """A bad solitary spec is a validation error naming the field."""
    with pytest.raises(ValidationError) as info:
        SolitaryConfig.model_validate(
            {"user": {"username": "root"}, "business": {"type": "EmptyLoop"}}
        )
    assert info.value.errors()[0]["loc"] == ("user", "username")
    assert timedelta(hours=1) == SolitaryConfig.model_fields["timeout"].default


def _flock(**fields: object) -> dict[str, object]:
    data: dict[str, object] = {
        "name": "f",
        "count": 2,
        "user_spec": {"username_prefix": "bot-mobu-u"},
        "business": {"type": "EmptyLoop"},
    }
    data.update(fields)
    return data


@pytest.mark.parametrize(
    ("fields", "where"),
    [
        ({"count": True}, ("count",)),
        ({"count": "5"}, ("count",)),
        ({"count": 2.0}, ("count",)),
        ({"start_batch_size": "1", "start_batch_wait": 1}, ("start_batch_size",)),
        ({"start_batch_size": 200_000, "start_batch_wait": 1}, ("start_batch_size",)),
        (
            {"user_spec": {"username_prefix": "bot-mobu-u", "uid_start": "1000"}},
            ("user_spec", "uid_start"),
        ),
        (
            {"user_spec": {"username_prefix": "bot-mobu-u", "uid_start": 0}},
            ("user_spec", "uid_start"),
        ),
        (
            {"user_spec": {"username_prefix": "bot-mobu-u", "gid_start": 2**32}},
            ("user_spec", "gid_start"),
        ),
        ({"user_spec": {"username_prefix": "bot-mobu-u", "uid_start": 4_294_967_294}}, ()),
        (
            {
                "users": [{"username": "bot-mobu-a", "uidnumber": True}],
                "user_spec": None,
                "count": 1,
            },
            ("users", 0, "uidnumber"),
        ),
        (
            {
                "users": [{"username": "bot-mobu-a", "groups": [{"name": "g", "id": -1}]}],
                "user_spec": None,
                "count": 1,
            },
            ("users", 0, "groups", 0, "id"),
        ),
    ],
)
def test_flock_integers_are_strict_and_bounded(
    fields: dict[str, object], where: tuple[object, ...]
) -> None:
    """Counts and ids must be real integers in range (a bool, a string, a float is refused)."""
    with pytest.raises(ValidationError) as info:
        FlockConfig.model_validate(_flock(**fields))
    assert info.value.errors()[0]["loc"] == where


def test_flock_integers_from_yaml() -> None:
    """YAML integers (the configuration's autostart) are still accepted."""
    data = yaml.safe_load(
        "name: f\ncount: 3\nstart_batch_size: 2\nstart_batch_wait: 1s\n"
        "user_spec: {username_prefix: bot-mobu-u, uid_start: 1000, gid_start: 2000}\n"
        "business: {type: EmptyLoop}\n"
    )
    config = FlockConfig.model_validate(data)
    assert (config.count, config.start_batch_size) == (3, 2)


def test_validation_details_never_echo() -> None:
    """The error serialiser keeps loc, msg, type; drops input and ctx; cuts quoted input."""

    class Tagged(BaseModel):
        kind: Literal["a"]

    class Holder(BaseModel):
        item: Tagged | None = None
        when: HumanTimedelta | None = None
        secret: str | None = None

        @field_validator("secret")
        @classmethod
        def _quote(cls, value: str) -> str:
            raise ValueError(f"bad secret {value}")

    secret = "s3cr3t-value-0123"
    with pytest.raises(ValidationError) as info:
        Holder.model_validate({"secret": secret, "when": "5 parsecs", "item": {"kind": "b"}})
    details = validation_details(info.value.errors())
    assert all(set(d) == {"loc", "msg", "type"} for d in details)
    text = json.dumps(details)
    assert secret not in text
    assert "parsecs" not in text
    assert "bad secret <input>" in text
    assert format_errors(info.value.errors()).count("\n") == 2


def test_error_detail_sanitises() -> None:
    """Control and bidi characters go; long names are cut with an ellipsis."""
    detail = error_detail(["path", "a\x00\u202e\nb" + "x" * 500, 3], "m\x07sg", "t")
    assert detail["loc"][1].startswith("abxx")
    assert len(detail["loc"][1]) == 100
    assert detail["loc"][1].endswith("…")
    assert detail["loc"][2] == 3
    assert detail["msg"] == "msg"
    assert sanitize("plain") == "plain"
