"""The prepared state a DaCHS server starts from, built once and cached as a template.

Building it (``initdb``, ``dachs init``, importing the catalogue and images, publishing) takes
about 12 s; each server then starts from a copy in about 3 s. The template lives in
``<base>/template-<key>/``, where the key changes with the fixtures, the row count and the
installed DaCHS and PostgreSQL, and is built under a file lock so that concurrent starts build it
once. It holds a cleanly stopped PostgreSQL data directory (``pgdata``) and a DaCHS root
(``gavo``).
"""

from __future__ import annotations

import fcntl
import hashlib
import inspect
import os
import secrets
import shutil
import time
from pathlib import Path

from mobu.platform.dachs import fixtures
from mobu.platform.dachs.processes import (
    PG_PORT,
    DachsError,
    ProcessGroup,
    SpawnHook,
    free_port,
    pg_bindir,
    service_accounts,
)

__all__ = ["gavo_env", "prepared_template", "settings_text", "write_dsn"]

_FORMAT = "2"
"""Bump when the layout or the build steps change."""


def settings_text(root: Path, port: int, user: str) -> str:
    """Return the DaCHS configuration (``GAVOSETTINGS``) of a server."""
    return (
        "[general]\n"
        f"rootDir: {root}\n"
        "[web]\n"
        "bindAddress: 127.0.0.1\n"
        f"serverPort: {port}\n"
        f"serverURL: http://127.0.0.1:{port}\n"
        f"user: {user}\n"
        "sitename: mobu test data centre\n"
        "[async]\n"
        "maxTAPRunning: 4\n"
    )


def gavo_env(settings: Path) -> dict[str, str]:
    """Environment that makes ``dachs`` use ``settings`` and nothing from the system."""
    return {"GAVOSETTINGS": str(settings), "GAVOCUSTOM": "/nonexistent"}


def write_dsn(root: Path, sockets: Path) -> None:
    """Point DaCHS's database profiles at the PostgreSQL socket directory ``sockets``."""
    dsn = root / "etc" / "dsn"
    dsn.write_text(f"database = gavo\nhost = {sockets}\nport = {PG_PORT}\n")


def _key(rows: int) -> str:
    digest = hashlib.sha256()
    digest.update(f"{_FORMAT}:{rows}:".encode())
    digest.update(inspect.getsource(fixtures).encode())
    dachs = shutil.which("dachs")
    for path in (dachs, pg_bindir()):
        if path is not None:
            real = os.path.realpath(path)
            digest.update(f"{real}:{os.stat(real).st_mtime_ns}".encode())
    return digest.hexdigest()[:12]


def prepared_template(
    base: Path, rows: int, deadline: float, on_spawn: SpawnHook | None = None
) -> Path:
    """Return the template directory for ``rows`` rows, building it first if needed.

    ``on_spawn`` is told each process the build spawns.
    """
    target = base / f"template-{_key(rows)}"
    if (target / "ready").exists():
        return target
    with (base / "template.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (target / "ready").exists():
            return target
        for old in base.glob("template-*"):
            shutil.rmtree(old, ignore_errors=True)
        build = base / f"build-{os.getpid()}-{secrets.token_hex(3)}"
        build.mkdir(mode=0o755)
        try:
            _build(build, rows, deadline, on_spawn)
        except BaseException:
            shutil.rmtree(build, ignore_errors=True)
            raise
        build.rename(target)
        (target / "ready").touch()
    return target


def _build(directory: Path, rows: int, deadline: float, on_spawn: SpawnHook | None) -> None:
    pg, dachs = service_accounts()
    bindir = pg_bindir()
    assert bindir is not None
    group = ProcessGroup(directory, on_spawn=on_spawn)
    password = secrets.token_urlsafe(16)
    try:
        data = directory / "pgdata"
        data.mkdir(mode=0o700)
        pg.chown(data)
        pwfile = directory / "pgpass.tmp"
        pwfile.write_text(password + "\n")
        pg.chown(pwfile)
        group.run(
            pg,
            [
                str(bindir / "initdb"),
                "-D", str(data),
                "-U", "mobuadmin",
                f"--pwfile={pwfile}",
                "--auth=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ],
            {},
            "initdb",
        )  # fmt: skip
        pwfile.unlink()
        sockets = group.start_postgres(pg, deadline)
        group.run(
            pg,
            [str(bindir / "createdb"), "-h", str(sockets), "-p", str(PG_PORT),
             "-U", "mobuadmin", "-E", "UTF8", "-T", "template0", "gavo"],
            {"PGPASSWORD": password},
            "createdb",
        )  # fmt: skip
        root = directory / "gavo"
        root.mkdir()
        dachs.chown(root)
        settings = directory / "gavo.rc"
        settings.write_text(settings_text(root, free_port(), dachs.name))
        env = gavo_env(settings)
        dsn = f"host={sockets} port={PG_PORT} user=mobuadmin password={password} dbname=gavo"
        group.run(dachs, ["dachs", "init", "-d", dsn], env, "dachs init")
        catalog, images = fixtures.write_fixtures(root / "inputs", rows)
        dachs.chown(root / "inputs")
        for rd in (catalog, "//obscore", images):
            group.run(dachs, ["dachs", "imp", rd], env, f"dachs imp {rd}")
        group.run(dachs, ["dachs", "pub", catalog, images], env, "dachs pub")
        if time.monotonic() > deadline:
            raise DachsError("building the DaCHS template took longer than the deadline")
    finally:
        group.stop()
