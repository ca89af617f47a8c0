"""Running git as a subprocess: isolated from user and system config, bounded, killable."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections import deque
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from structlog.typing import FilteringBoundLogger

from mobu.exceptions import BusinessError, redact

__all__ = [
    "GitCommandError",
    "GitResult",
    "GitRunner",
    "GitTimeoutError",
    "git_environment",
    "kill_process_group",
]

_OUTPUT_LIMIT = 4000
"""Characters of stdout and stderr kept in an error (the end, where git says what failed)."""


def git_environment(home: Path) -> dict[str, str]:
    """Return the whole environment git runs with.

    Nothing of the caller's environment reaches git except ``PATH``: ``HOME`` is ``home``, the
    global config is ``home/.gitconfig`` (a throwaway file the caller writes), the system config
    is ignored and git never prompts for credentials.
    """
    return {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "XDG_CONFIG_HOME": str(home / ".config"),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_SYSTEM": os.devnull,
        "GIT_CONFIG_GLOBAL": str(home / ".gitconfig"),
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_ASKPASS": "",
        "SSH_ASKPASS": "",
    }


def _clip(text: str) -> str:
    return text if len(text) <= _OUTPUT_LIMIT else "..." + text[-_OUTPUT_LIMIT:]


class GitCommandError(BusinessError):
    """A git command failed: exited non-zero, or timed out and was killed.

    The message and context carry the command, working directory, exit status and output,
    with every secret replaced by ``<redacted>``.
    """

    def __init__(
        self,
        *,
        args: list[str],
        cwd: Path,
        returncode: int | None,
        stdout: str,
        stderr: str,
        secrets: Sequence[str | None],
        reason: str | None = None,
    ) -> None:
        command = redact("git " + " ".join(args), secrets)
        self.command = command
        self.cwd = str(cwd)
        self.returncode = returncode
        self.stdout = redact(_clip(stdout), secrets)
        self.stderr = redact(_clip(stderr), secrets)
        what = reason or f"exited with status {returncode}"
        message = f"{command} {what} (cwd {cwd})"
        if self.stderr.strip():
            message += f"\nstderr: {self.stderr.strip()}"
        if self.stdout.strip():
            message += f"\nstdout: {self.stdout.strip()}"
        super().__init__(
            message,
            command=command,
            cwd=self.cwd,
            returncode=returncode,
            stdout=self.stdout,
            stderr=self.stderr,
        )


class GitTimeoutError(GitCommandError):
    """A git command ran longer than its timeout and was killed."""


@dataclass(frozen=True)
class GitResult:
    """Output of a successful git command."""

    stdout: str
    stderr: str
    duration: float


class GitRunner:
    """Runs git commands for one business.

    Each command runs in its own process group with :func:`git_environment`, an explicit
    working directory and a timeout. When the command is cancelled (the business was told to
    stop) or times out, the whole group (git and the git-lfs or hook processes it started) is
    killed and reaped before the call returns.

    Parameters
    ----------
    timeout
        Default timeout of one command.
    secrets
        Strings never to show in errors or logs (the monkey's token).
    logger
        Logger for one debug line per command.
    """

    def __init__(
        self,
        *,
        timeout: timedelta,
        secrets: Sequence[str | None],
        logger: FilteringBoundLogger,
    ) -> None:
        self.timeout = timeout
        self.secrets = secrets
        self.logger = logger
        self.spawned: deque[int] = deque(maxlen=100)
        """Process IDs (= process group IDs) of the most recent commands."""
        self._running: dict[int, asyncio.subprocess.Process] = {}

    async def run(
        self, *args: str, cwd: Path, home: Path, timeout: timedelta | None = None
    ) -> GitResult:
        """Run ``git <args>`` in ``cwd`` and return its output.

        Raises
        ------
        GitCommandError
            The command exited non-zero.
        GitTimeoutError
            The command ran longer than ``timeout`` (default: the runner's) and was killed.
        """
        limit = (timeout or self.timeout).total_seconds()
        start = time.perf_counter()
        process = await self._spawn(args, cwd=cwd, home=home)
        try:
            async with asyncio.timeout(limit):
                out, err = await process.communicate()
        except TimeoutError:
            raise GitTimeoutError(
                args=list(args),
                cwd=cwd,
                returncode=None,
                stdout="",
                stderr="",
                secrets=self.secrets,
                reason=f"timed out after {limit:g}s and was killed",
            ) from None
        finally:
            if process.returncode is None:
                await self._kill(process)
            self._running.pop(process.pid, None)
        duration = time.perf_counter() - start
        stdout = out.decode("utf-8", errors="replace")
        stderr = err.decode("utf-8", errors="replace")
        self.logger.debug(
            "Ran git",
            command=redact(" ".join(args), self.secrets),
            cwd=str(cwd),
            returncode=process.returncode,
            seconds=round(duration, 3),
        )
        if process.returncode != 0:
            raise GitCommandError(
                args=list(args),
                cwd=cwd,
                returncode=process.returncode,
                stdout=stdout,
                stderr=stderr,
                secrets=self.secrets,
            )
        return GitResult(stdout=stdout, stderr=stderr, duration=duration)

    async def _spawn(
        self, args: tuple[str, ...], *, cwd: Path, home: Path
    ) -> asyncio.subprocess.Process:
        """Start ``git <args>`` in its own session (so a kill reaches its helpers) and track it."""
        process = await asyncio.create_subprocess_exec(
            "git",
            *args,
            cwd=cwd,
            env=git_environment(home),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        self.spawned.append(process.pid)
        self._running[process.pid] = process
        return process

    async def _kill(self, process: asyncio.subprocess.Process) -> None:
        await kill_process_group(process)

    def kill_all(self) -> None:
        """Kill every command still running (for :meth:`Business.close`); idempotent."""
        for pid in list(self._running):
            with suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)


async def kill_process_group(process: asyncio.subprocess.Process) -> None:
    """Kill the process group of ``process`` (started in its own session) and reap it.

    The wait for the exit is shielded, so a second cancellation still reaps it (bounded).
    """
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    waiter = asyncio.ensure_future(process.wait())
    try:
        await asyncio.shield(waiter)
    except asyncio.CancelledError:
        await asyncio.wait({waiter}, timeout=5)
        raise
