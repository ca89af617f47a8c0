"""Logging of the service: console lines in development, JSON in production, always redacted.

The profiles are safir's (``safir.logging.Profile``, the reference's ``logProfile``), but
safir's ``configure_logging`` is not called: its processor chain is fixed, and mobu must redact
credential-shaped text (:func:`redact_event`) before anything is rendered, and keeps the bound
context (``merge_contextvars``) its monkeys and requests rely on. Production lines carry safir's
``severity`` (for Google's log explorer, as the reference's do) besides ``level``, and uvicorn's
own loggers (the access log of ``uvicorn mobu.main:app``) are made JSON with safir's
``configure_uvicorn_logging``.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from typing import Any

import structlog
from safir.logging import Profile, add_log_severity, configure_uvicorn_logging
from structlog.typing import EventDict, FilteringBoundLogger, WrappedLogger

from mobu.redaction import redact_text, redact_value
from mobu.serviceconfig import LoggingConfig

__all__ = ["configure_logging", "get_logger", "redact_event", "redacting_logger"]


def redact_event(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """structlog processor: redact credential-shaped text in every value of the event.

    Runs after ``format_exc_info``, so tracebacks are redacted too.
    """
    return _redact_dict(event_dict, ())


def _redact_dict(event_dict: EventDict, secrets: tuple[str, ...]) -> EventDict:
    for key, value in event_dict.items():
        if isinstance(value, str):
            event_dict[key] = redact_text(value, secrets)
        elif isinstance(value, dict | list | tuple):
            event_dict[key] = redact_value(value, secrets)
    return event_dict


def configure_logging(config: LoggingConfig) -> None:
    """Configure structlog and the stdlib root logger for the service."""
    level = getattr(logging, config.level)
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        redact_event,
    ]
    renderer: structlog.typing.Processor
    if Profile(config.profile.value) == Profile.production:
        shared.insert(2, add_log_severity)
        renderer = structlog.processors.JSONRenderer()
        configure_uvicorn_logging(config.level)
    else:
        renderer = structlog.dev.ConsoleRenderer(
            colors=False, exception_formatter=structlog.dev.plain_traceback
        )
    structlog.configure(
        processors=[*shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(sys.stdout),
        cache_logger_on_first_use=False,
    )
    logging.basicConfig(level=level, stream=sys.stdout, format="%(levelname)s %(name)s %(message)s")


def get_logger(name: str = "mobu") -> FilteringBoundLogger:
    """Return the service logger."""
    logger: FilteringBoundLogger = structlog.get_logger(name)
    return logger


def redacting_logger(
    logger: FilteringBoundLogger, secrets: Iterable[str | None]
) -> FilteringBoundLogger:
    """``logger`` with the known ``secrets`` replaced by ``<redacted>`` in every value.

    For monkeys that log through the main logger (no monkey log files): the main log's
    :func:`redact_event` knows credential shapes, not the monkey's own token.
    """
    known = tuple(s for s in secrets if s and len(s) >= 4)
    if not known:
        return logger

    def redact(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
        return _redact_dict(event_dict, known)

    def forward(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> Any:
        event = event_dict.pop("event", "")
        return (event,), event_dict

    wrapped: FilteringBoundLogger = structlog.wrap_logger(
        logger,
        processors=[redact, forward],
        wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG),
        cache_logger_on_first_use=True,
    )
    return wrapped.bind()
