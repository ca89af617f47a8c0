"""Solitary: run one business once for one user."""

from __future__ import annotations

import asyncio

from mobu.identity import IdentityProvider, release_users
from mobu.models.solitary import SolitaryConfig, SolitaryResult
from mobu.services.builder import MonkeyBuilder

__all__ = ["run_solitary", "strip_tracebacks"]

_TRACEBACK_START = ("Traceback (most recent call last):", "+ Exception Group Traceback")
_CHAIN_LINES = frozenset(
    {
        "The above exception was the direct cause of the following exception:",
        "During handling of the above exception, another exception occurred:",
    }
)


async def run_solitary(
    config: SolitaryConfig, *, builder: MonkeyBuilder, identity: IdentityProvider
) -> SolitaryResult:
    """Run the business of ``config`` once and return success, error and the whole log.

    A run longer than ``config.timeout`` is stopped (its shutdown and close still run) and
    reported as a failure. The log keeps every line, error lines included, but not the frames
    of tracebacks (they show the server's source paths): see :func:`strip_tracebacks`.

    Raises
    ------
    UnknownBusinessError, InvalidOptionsError, MissingServiceError
        The business cannot run here (raised before the user is authenticated).
    IdentityError
        The user could not be authenticated.
    """
    factory = builder.prepare(config.business, flock=None)
    [user] = await identity.authenticate([config.user], config.scopes)
    monkey = factory.build(user, name=f"solitary-{user.username}")
    try:
        async with asyncio.timeout(config.timeout.total_seconds()):
            error = await monkey.run_once()
    except TimeoutError:
        await monkey.stop()
        error = f"Timed out after {config.timeout.total_seconds():g}s"
        monkey.logger.error("Solitary run timed out", timeout=config.timeout.total_seconds())
    await release_users(identity, [user])
    log = monkey.log.text() if monkey.log is not None else ""
    if monkey.log is not None:
        monkey.log.delete()
    return SolitaryResult(success=error is None, error=error, log=strip_tracebacks(log))


def strip_tracebacks(log: str) -> str:
    """Drop the traceback frames from ``log``, keeping each exception's own line.

    A traceback runs from its ``Traceback (most recent call last):`` header over indented frame,
    source and caret lines to the unindented ``Type: message`` line, which stays; the lines
    chaining one exception to another go too.
    """
    kept: list[str] = []
    in_traceback = after_exception = False
    for line in log.splitlines(keepends=True):
        text = line.strip()
        if text.startswith(_TRACEBACK_START):
            in_traceback, after_exception = True, False
        elif in_traceback:
            if text and line[0] not in " \t":
                in_traceback, after_exception = False, True
                kept.append(line)
        elif after_exception and (not text or text in _CHAIN_LINES):
            continue
        else:
            after_exception = False
            kept.append(line)
    return "".join(kept)
