"""GitLFS: push an LFS-tracked file through an LFS server and read it back, every iteration."""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import shlex
import shutil
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from pydantic import Field
from structlog.typing import FilteringBoundLogger
from typing_extensions import override

from mobu.events import Events, TimedEvent
from mobu.exceptions import BusinessError
from mobu.models.business.base import BusinessData, BusinessOptions
from mobu.models.secrets import SecretAnyHttpUrl, mask_url
from mobu.models.timedelta import HumanTimedelta
from mobu.models.user import AuthenticatedUser
from mobu.services.business.base import Business
from mobu.storage.git import GitCommandError, GitRunner

__all__ = ["GitLFS", "GitLFSError", "GitLFSOptions", "GitLfsCheck"]

POINTER_HEADER = "version https://git-lfs.github.com/spec/v1"
"""First line of every LFS pointer file."""

_GITCONFIG = """\
[user]
\tname = Git User
\temail = gituser@example.com
[init]
\tdefaultBranch = main
[lfs]
\tlocksverify = false
[receive]
\tdenyCurrentBranch = ignore
[advice]
\tdetachedHead = false
"""

_AUTH_FAILURE = re.compile(
    r"credentials for .* not found|authentication required|authorization error|\b401\b", re.I
)
"""How git-lfs says that the LFS server refused the credentials."""

_README = "# mobu Git LFS check\n\nA throwaway repository made by mobu's GitLFS business.\n"
_GITATTRIBUTES = "assets/* filter=lfs diff=lfs merge=lfs -text\n"


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to a new file that only its owner can read."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as stream:
        stream.write(text)


class GitLFSOptions(BusinessOptions):
    """Options of GitLFS."""

    lfs_read_url: SecretAnyHttpUrl = Field(
        ...,
        description="LFS endpoint that anonymous clones read from (written to .lfsconfig)",
        repr=False,
        examples=["https://git-lfs.example.org/mobu/git-lfs-test.git/info/lfs"],
    )
    lfs_write_url: SecretAnyHttpUrl = Field(
        ...,
        description="LFS endpoint that pushes go to, with the monkey's token as the password",
        repr=False,
        examples=["https://git-lfs-rw.example.org/mobu/git-lfs-test.git/info/lfs"],
    )
    git_timeout: HumanTimedelta = Field(
        timedelta(seconds=60), description="Timeout of each git command (killed after it)"
    )


class GitLfsCheck(TimedEvent):
    """``git_lfs_check``: one push/pull round trip through git-lfs."""


class GitLFSError(BusinessError):
    """A Git LFS check found something wrong (beyond a failing git command)."""


class GitLFS(Business[GitLFSOptions]):
    """Pushes a fresh LFS-tracked file through the LFS server and checks it round-trips."""

    options_model = GitLFSOptions

    def __init__(
        self,
        *,
        options: GitLFSOptions,
        user: AuthenticatedUser,
        events: Events,
        logger: FilteringBoundLogger,
        flock: str | None,
    ) -> None:
        super().__init__(options=options, user=user, events=events, logger=logger, flock=flock)
        self.git = GitRunner(timeout=options.git_timeout, secrets=self.secrets(), logger=logger)
        self._timings: dict[str, float] = {}
        self._checks = events.publisher("git_lfs_check", GitLfsCheck)
        self._last_duration: float | None = None
        self._last_error: str | None = None

    @override
    async def execute(self) -> None:
        self.logger.info("Running Git-LFS check...")
        self._timings = {}
        start = time.perf_counter()
        try:
            # the work directory is removed outside the stop's scope, so a stop cannot cut it short
            async with self._workdir() as workdir, self.interruptible():
                await self._check(workdir)
        except Exception as exc:
            if not self.stopping:
                self._last_error = self.redact(str(exc))
                await self._publish(success=False, duration=None)
            raise
        duration = time.perf_counter() - start
        self._last_duration = duration
        self._last_error = None
        self.logger.info("Git-LFS check finished", seconds=round(duration, 3))
        await self._publish(success=True, duration=duration)

    @override
    async def close(self) -> None:
        self.git.kill_all()

    @override
    def dump(self) -> BusinessData:
        data: dict[str, Any] = super().dump().model_dump()
        data["timings"] = dict(self._timings)
        data["last_duration"] = self._last_duration
        data["last_error"] = self._last_error
        return BusinessData(**data)

    # The check ----------------------------------------------------------------------------------

    async def _check(self, workdir: Path) -> None:
        home = workdir / "home"
        home.mkdir()
        (home / ".gitconfig").write_text(_GITCONFIG)
        origin, checkout, clone = workdir / "origin", workdir / "checkout", workdir / "clone"
        content = uuid.uuid4().hex
        asset = f"assets/{content}"

        async with self._step("create origin repo"):
            await self.git.run("init", "--initial-branch=main", str(origin), cwd=workdir, home=home)
            (origin / "README.md").write_text(_README)
            (origin / ".lfsconfig").write_text(f"[lfs]\n\turl = {self.options.lfs_read_url}\n")
            await self.git.run("add", "README.md", ".lfsconfig", cwd=origin, home=home)
            await self.git.run("commit", "-q", "-m", "Initial commit", cwd=origin, home=home)

        async with self._step("create checkout repo"):
            await self.git.run("clone", "-q", str(origin), str(checkout), cwd=workdir, home=home)
            await self.git.run("lfs", "install", "--local", cwd=checkout, home=home)
            write_url = str(self.options.lfs_write_url)
            await self.git.run("config", "--local", "lfs.url", write_url, cwd=checkout, home=home)

        async with self._step("add LFS-tracked assets"):
            (checkout / ".gitattributes").write_text(_GITATTRIBUTES)
            (checkout / "assets").mkdir()
            (checkout / asset).write_text(content)
            await self.git.run("add", ".gitattributes", asset, cwd=checkout, home=home)
            await self.git.run(
                "commit", "-q", "-m", "Add git-lfs tracked assets", cwd=checkout, home=home
            )

        await self._push(checkout, home, workdir / ".git_credentials")

        async with self._step("verify origin contents"):
            await self._verify_origin(origin, home, asset, content)

        async with self._step("create clone repo with asset"):
            await self.git.run("lfs", "install", "--skip-repo", cwd=workdir, home=home)
            await self.git.run(
                "clone", "-q", "--branch", "main", str(origin), str(clone), cwd=workdir, home=home
            )

        async with self._step("verify asset contents"):
            got = (clone / asset).read_text(errors="replace")
            if got != content:
                raise GitLFSError(
                    f"Cloned {asset} does not hold the pushed content: expected {content!r},"
                    f" got {got[:200]!r} (the LFS server did not return the object)",
                    lfs_read_url=mask_url(str(self.options.lfs_read_url)),
                )

    async def _push(self, checkout: Path, home: Path, credentials: Path) -> None:
        """Push the checkout to the origin, with the token in ``credentials`` for the push only."""
        try:
            if self.user.token:
                async with self._step("add git credentials"):
                    await self._add_credentials(checkout, home, credentials)
            else:
                self.logger.warning("Monkey has no token, pushing to the LFS server anonymously")
            async with self._step("push LFS-tracked assets"):
                try:
                    await self.git.run("push", "-q", "origin", "main", cwd=checkout, home=home)
                except GitCommandError as exc:
                    if not _AUTH_FAILURE.search(exc.stderr):
                        raise
                    raise GitLFSError(
                        f"Push to the LFS server {mask_url(str(self.options.lfs_write_url))}"
                        " was refused: it"
                        f" rejected the monkey's credentials ({exc.command} exited with"
                        f" {exc.returncode}; stderr: {exc.stderr.strip()})",
                        **exc.context,
                    ) from exc
        finally:
            async with self._step("remove git credentials"):
                credentials.unlink(missing_ok=True)  # noqa: ASYNC240 - tiny, must run

    async def _add_credentials(self, checkout: Path, home: Path, credentials: Path) -> None:
        """Store the token for the write URL's host in a file only the credential helper reads."""
        url = urlsplit(str(self.options.lfs_write_url))
        token = quote(self.user.token or "", safe="")
        _write_private(credentials, f"{url.scheme}://gituser:{token}@{url.netloc}\n")
        await self.git.run(
            "config",
            "--local",
            f"credential.{url.scheme}://{url.netloc}.helper",
            f"store --file {shlex.quote(str(credentials))}",
            cwd=checkout,
            home=home,
        )

    async def _verify_origin(self, origin: Path, home: Path, asset: str, content: str) -> None:
        """The origin must hold the README and an LFS pointer to the content, not the content."""
        readme = await self.git.run("show", "main:README.md", cwd=origin, home=home)
        if readme.stdout != _README:
            raise GitLFSError(
                f"README.md in the origin repo changed: got {readme.stdout[:200]!r}",
                repo=str(origin),
            )
        blob = (await self.git.run("show", f"main:{asset}", cwd=origin, home=home)).stdout
        lines = blob.splitlines()
        if not lines or lines[0] != POINTER_HEADER:
            raise GitLFSError(
                f"{asset} in the origin repo is not an LFS pointer (first line"
                f" {lines[0][:100] if lines else ''!r}, expected {POINTER_HEADER!r})",
                repo=str(origin),
            )
        fields = dict(line.partition(" ")[::2] for line in lines[1:])
        oid = "sha256:" + hashlib.sha256(content.encode()).hexdigest()
        if fields.get("oid") != oid or fields.get("size") != str(len(content)):
            raise GitLFSError(
                f"LFS pointer of {asset} does not match the content: expected oid {oid} size"
                f" {len(content)}, got oid {fields.get('oid')} size {fields.get('size')}",
                repo=str(origin),
            )

    # Helpers ------------------------------------------------------------------------------------

    @asynccontextmanager
    async def _workdir(self) -> AsyncIterator[Path]:
        path = Path(tempfile.mkdtemp(prefix="mobu-gitlfs-"))
        try:
            yield path
        finally:
            self.git.kill_all()
            with suppress(Exception):
                await asyncio.to_thread(shutil.rmtree, path, True)

    @asynccontextmanager
    async def _step(self, name: str) -> AsyncIterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            seconds = time.perf_counter() - start
            self._timings[name] = round(seconds, 4)
            self.logger.debug("Git-LFS step finished", step=name, seconds=round(seconds, 3))

    async def _publish(self, *, success: bool, duration: float | None) -> None:
        await self._checks.publish(
            GitLfsCheck(
                **self.common_event_attrs(),
                success=success,
                duration=None if duration is None else timedelta(seconds=duration),
            )
        )
