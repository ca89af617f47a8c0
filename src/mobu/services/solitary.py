"""Solitary: run one business once for one user."""

from __future__ import annotations

import asyncio

from mobu.models.solitary import SolitaryConfig, SolitaryResult
from mobu.services.builder import MonkeyBuilder
from mobu.services.identity import IdentityProvider

__all__ = ["run_solitary"]


async def run_solitary(
    config: SolitaryConfig, *, builder: MonkeyBuilder, identity: IdentityProvider
) -> SolitaryResult:
    """Run the business of ``config`` once and return success, error and the whole log.

    A run longer than ``config.timeout`` is stopped (its shutdown and close still run) and
    reported as a failure.
    """
    [user] = await identity.authenticate([config.user], config.scopes)
    name = f"solitary-{user.username}"
    monkey = builder.build(name=name, flock=None, config=config.business, user=user)
    try:
        async with asyncio.timeout(config.timeout.total_seconds()):
            error = await monkey.run_once()
    except TimeoutError:
        await monkey.stop()
        error = f"Timed out after {config.timeout.total_seconds():g}s"
        monkey.logger.error("Solitary run timed out", timeout=config.timeout.total_seconds())
    log = monkey.log.text() if monkey.log is not None else ""
    if monkey.log is not None:
        monkey.log.delete()
    return SolitaryResult(success=error is None, error=error, log=log)
