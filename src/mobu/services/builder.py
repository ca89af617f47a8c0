"""Builds monkeys: the business instance, its logger and its log."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import structlog
from structlog.typing import FilteringBoundLogger

from mobu.alerts.reporting import Reporters
from mobu.events import Events
from mobu.logsetup import redacting_logger
from mobu.models.business.config import BusinessConfig
from mobu.models.secrets import secret_values
from mobu.models.user import AuthenticatedUser
from mobu.registry import BusinessRegistry
from mobu.services.business.base import Business
from mobu.services.monkey import Monkey
from mobu.services.resources import BusinessServices
from mobu.storage.monkeylog import MonkeyLog, MonkeyLogDirectory, make_monkey_logger

__all__ = ["MonkeyBuilder"]


@dataclass
class MonkeyBuilder:
    """Everything needed to build monkeys, shared by flocks and solitary runs.

    Attributes
    ----------
    log_directory
        Where monkey logs go; None when ``log_monkeys_to_file`` is off (then monkeys log through
        ``logger`` bound with their name, and solitary runs keep their log in memory).
    echo_logs
        Also send every monkey log line to the main logger (development profile).
    """

    registry: BusinessRegistry
    services: BusinessServices
    events: Events
    reporters: Reporters
    logger: FilteringBoundLogger
    log_directory: MonkeyLogDirectory | None
    stop_grace: timedelta = timedelta(seconds=30)
    echo_logs: bool = False

    def build(
        self,
        *,
        name: str,
        flock: str | None,
        config: BusinessConfig,
        user: AuthenticatedUser,
        shared_kwargs: dict[str, Any] | None = None,
    ) -> Monkey:
        """Build one monkey; ``shared_kwargs`` are the resolved extra collaborators."""
        log = self._log_for(flock, name)
        secrets = [user.token, *secret_values(config.options)]
        if log is not None:
            logger = make_monkey_logger(
                log,
                config.options.log_level,
                secrets=secrets,
                echo=self.logger.bind(monkey=name, flock=flock) if self.echo_logs else None,
            )
        else:
            logger = redacting_logger(
                self.logger.bind(monkey=name, flock=flock, user=user.username), secrets
            )
        cls = self.registry.get(config.type)
        kwargs = shared_kwargs if shared_kwargs is not None else self.collaborators(config.type)
        business: Business[Any] = cls(
            options=config.options,
            user=user,
            events=self.events,
            logger=logger,
            flock=flock,
            **kwargs,
        )
        return Monkey(
            name=name,
            flock=flock,
            business=business,
            restart=config.restart,
            log=log,
            logger=logger,
            stop_grace=self.stop_grace,
            reporters=self.reporters,
        )

    def collaborators(self, business_type: str) -> dict[str, Any]:
        """Resolve the extra constructor arguments a business type declares."""
        return {
            p: self.services.resolve(p, business_type)
            for p in self.registry.extra_parameters(business_type)
        }

    def _log_for(self, flock: str | None, name: str) -> MonkeyLog | None:
        if self.log_directory is not None:
            return self.log_directory.create(flock, name)
        if flock is None:
            return MonkeyLog(None)
        return None


def null_logger() -> FilteringBoundLogger:
    """A logger that drops everything (for embedding without logging)."""
    logger: FilteringBoundLogger = structlog.wrap_logger(
        structlog.ReturnLogger(), wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG)
    )
    return logger
