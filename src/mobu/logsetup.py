"""Logging of the service: console lines in development, JSON in production."""

from __future__ import annotations

import logging
import sys

import structlog
from structlog.typing import FilteringBoundLogger

from mobu.config import LoggingConfig, LogProfile

__all__ = ["configure_logging", "get_logger"]


def configure_logging(config: LoggingConfig) -> None:
    """Configure structlog and the stdlib root logger for the service."""
    level = getattr(logging, config.level)
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: structlog.typing.Processor
    if config.profile == LogProfile.production:
        shared.append(structlog.processors.format_exc_info)
        renderer = structlog.processors.JSONRenderer()
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=False)
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
