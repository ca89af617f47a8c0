"""Builds monkeys: a business is prepared once, then a monkey is built for each user."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import structlog
from structlog.typing import FilteringBoundLogger

from mobu.alerts.reporting import Reporters
from mobu.events import Events
from mobu.logsetup import redacting_logger
from mobu.models.business.base import BusinessOptions
from mobu.models.business.config import BusinessConfig
from mobu.models.secrets import secret_values
from mobu.models.user import AuthenticatedUser
from mobu.registry import BusinessRegistry
from mobu.services.business.base import Business
from mobu.services.monkey import Monkey
from mobu.services.resources import BusinessServices
from mobu.storage.monkeylog import MonkeyLog, MonkeyLogDirectory, make_monkey_logger

__all__ = ["MonkeyBuilder", "MonkeyFactory", "null_logger"]


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

    def prepare(
        self,
        config: BusinessConfig,
        *,
        flock: str | None,
        location: tuple[str | int, ...] = ("body", "business"),
    ) -> MonkeyFactory:
        """Resolve the business of ``config`` once: class, validated options, collaborators.

        Parameters
        ----------
        config
            The business envelope (options as given).
        flock
            Name of the flock the monkeys belong to, None for a solitary run.
        location
            Where ``config`` is in the request, for the places of errors.

        Raises
        ------
        UnknownBusinessError
            No such business type.
        InvalidOptionsError
            The options do not validate.
        MissingServiceError
            The business needs a collaborator this process does not provide.
        """
        options = self.registry.options(config.type, config.options, location)
        collaborators: dict[str, object] = {}
        for wanted in self.registry.collaborators(config.type):
            if wanted.optional and getattr(self.services, wanted.name) is None:
                continue  # the business's own default
            collaborators[wanted.name] = self.services.get(wanted.name, config.type)
        if "options" in config.model_fields_set:
            shown = options.model_dump(mode="json", exclude_unset=True, exclude_none=True)
            config = config.model_copy(update={"options": shown})
        return MonkeyFactory(
            builder=self,
            config=config,
            cls=self.registry.get(config.type),
            options=options,
            collaborators=collaborators,
            flock=flock,
        )

    def build(self, factory: MonkeyFactory, user: AuthenticatedUser, name: str) -> Monkey:
        """Build the monkey ``name`` of ``user`` running the business ``factory`` prepared."""
        log = self._log_for(factory.flock, name)
        secrets = [user.token, *secret_values(factory.options)]
        if log is not None:
            logger = make_monkey_logger(
                log,
                factory.options.log_level,
                secrets=secrets,
                echo=self.logger.bind(monkey=name, flock=factory.flock) if self.echo_logs else None,
            )
        else:
            logger = redacting_logger(
                self.logger.bind(monkey=name, flock=factory.flock, user=user.username), secrets
            )
        business: Business[Any] = factory.cls(
            options=factory.options,
            user=user,
            events=self.events,
            logger=logger,
            flock=factory.flock,
            **factory.collaborators,
        )
        return Monkey(
            name=name,
            flock=factory.flock,
            business=business,
            restart=factory.config.restart,
            log=log,
            logger=logger,
            stop_grace=self.stop_grace,
            reporters=self.reporters,
        )

    def _log_for(self, flock: str | None, name: str) -> MonkeyLog | None:
        if self.log_directory is not None:
            return self.log_directory.create(flock, name)
        if flock is None:
            return MonkeyLog(None)
        return None


@dataclass(frozen=True, slots=True, kw_only=True)
class MonkeyFactory:
    """One business prepared for a flock (or a solitary run): builds a monkey for a user.

    Made by :meth:`MonkeyBuilder.prepare`, before any user is authenticated.

    Attributes
    ----------
    builder
        Logs, events, reporters and stop grace of the monkeys.
    config
        The business config as it is shown: the options validated, only those given, secrets
        masked.
    cls
        The business class.
    options
        The validated options.
    collaborators
        The extra constructor arguments the business asks for.
    flock
        Name of the flock, None for a solitary run.
    """

    builder: MonkeyBuilder
    config: BusinessConfig
    cls: type[Business[Any]]
    options: BusinessOptions
    collaborators: Mapping[str, object]
    flock: str | None

    @property
    def type(self) -> str:
        """The business type name."""
        return self.config.type

    def build(self, user: AuthenticatedUser, *, name: str | None = None) -> Monkey:
        """Build the monkey of ``user`` (named ``name``, by default the username)."""
        return self.builder.build(self, user, name or user.username)


def null_logger() -> FilteringBoundLogger:
    """A logger that drops everything (for embedding without logging)."""
    logger: FilteringBoundLogger = structlog.wrap_logger(
        structlog.ReturnLogger(), wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG)
    )
    return logger
