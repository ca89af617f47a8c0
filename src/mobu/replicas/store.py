"""The shared state of a replica group in PostgreSQL: desired flocks and heartbeats.

Every change of the desired state is written with a ``NOTIFY`` on :data:`CHANNEL` in the same
transaction, so the other replicas hear of it once it is committed (see
:mod:`mobu.replicas.listener`).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from mobu.history.migrations import upgrade
from mobu.models.flock import FlockConfig
from mobu.replicas.tables import autostarts, desired, heartbeats

__all__ = ["CHANNEL", "DesiredFlock", "Heartbeat", "SharedState", "spec_json"]

CHANNEL = "mobu_replicas"
"""The ``LISTEN/NOTIFY`` channel of desired-state changes (the payload is the flock name)."""

AUTOSTART_LOCK = 0x6D6F6276
"""Advisory lock serialising the autostart writes of replicas starting together."""


def spec_json(config: FlockConfig) -> str:
    """A flock spec as stored: its JSON as given (secrets in options stay as given)."""
    data = config.model_dump(mode="json", exclude_unset=True)
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class DesiredFlock:
    """One desired flock: its spec, the generation to run and the refresh counter."""

    name: str
    spec: FlockConfig
    generation: int
    refresh: int


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """The last report of one replica."""

    replica: int
    url: str | None
    seen: float
    started: float
    state: dict[str, Any]


class SharedState:
    """Reads and writes the shared tables of one PostgreSQL database.

    Parameters
    ----------
    url
        Async SQLAlchemy URL (``postgresql+asyncpg://...``).
    clock
        Wall clock.
    """

    def __init__(self, url: str, *, clock: Callable[[], float] = time.time) -> None:
        self.url = url
        self._clock = clock
        self._engine: AsyncEngine | None = None

    @property
    def dsn(self) -> str:
        """The URL as asyncpg takes it (for the listener's own connection)."""
        parsed = make_url(self.url).set(drivername="postgresql")
        return parsed.render_as_string(hide_password=False)

    @property
    def engine(self) -> AsyncEngine:
        """The engine (created on first use)."""
        if self._engine is None:
            self._engine = create_async_engine(
                self.url, pool_pre_ping=True, pool_size=3, connect_args={"timeout": 5}
            )
        return self._engine

    async def open(self) -> None:
        """Migrate the schema (idempotent, serialised by an advisory lock)."""
        await upgrade(self.engine)

    async def aclose(self) -> None:
        """Close every connection."""
        if self._engine is not None:
            await self._engine.dispose()

    async def put(self, config: FlockConfig, *, source: str = "api") -> int:
        """Store a flock as desired, with a new generation; returns that generation."""
        async with self.engine.begin() as connection:
            return await self._put(connection, config, source)

    async def _put(self, connection: AsyncConnection, config: FlockConfig, source: str) -> int:
        values = {
            "name": config.name,
            "spec": spec_json(config),
            "generation": 1,
            "refresh": 0,
            "source": source,
            "updated": self._clock(),
        }
        statement = insert(desired).values(values)
        upsert = statement.on_conflict_do_update(
            index_elements=[desired.c.name],
            set_={
                "spec": statement.excluded.spec,
                "generation": desired.c.generation + 1,
                "source": statement.excluded.source,
                "updated": statement.excluded.updated,
            },
        ).returning(desired.c.generation)
        generation = (await connection.execute(upsert)).scalar_one()
        await _notify(connection, config.name)
        return int(generation)

    async def delete(self, name: str) -> bool:
        """Remove a desired flock; False if there was none."""
        async with self.engine.begin() as connection:
            result = await connection.execute(delete(desired).where(desired.c.name == name))
            await _notify(connection, name)
            return bool(result.rowcount)

    async def refresh(self, name: str) -> bool:
        """Ask every replica to refresh a flock; False if there is no such flock."""
        statement = (
            update(desired)
            .where(desired.c.name == name)
            .values(refresh=desired.c.refresh + 1, updated=self._clock())
        )
        async with self.engine.begin() as connection:
            result = await connection.execute(statement)
            await _notify(connection, name)
            return bool(result.rowcount)

    async def resize(self, config: FlockConfig) -> bool:
        """Store the new count of a flock (same generation: replicas resize, not restart)."""
        statement = (
            update(desired)
            .where(desired.c.name == config.name)
            .values(spec=spec_json(config), updated=self._clock())
        )
        async with self.engine.begin() as connection:
            result = await connection.execute(statement)
            await _notify(connection, config.name)
            return bool(result.rowcount)

    async def desired(self) -> dict[str, DesiredFlock]:
        """Every desired flock, by name."""
        async with self.engine.connect() as connection:
            rows = (await connection.execute(select(desired))).all()
        return {
            row.name: DesiredFlock(
                name=row.name,
                spec=FlockConfig.model_validate(json.loads(row.spec)),
                generation=int(row.generation),
                refresh=int(row.refresh),
            )
            for row in rows
        }

    async def autostart(self, configs: Sequence[FlockConfig]) -> list[str]:
        """Write each autostart flock once for the group; returns the names written now.

        A flock is written when this spec of it (name and digest) was never written before:
        replicas starting together write it once, a restarted replica does not undo a later
        ``PUT`` or ``DELETE``, and a changed configuration takes effect.
        """
        written: list[str] = []
        async with self.engine.begin() as connection:
            await connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": AUTOSTART_LOCK}
            )
            for config in configs:
                digest = hashlib.sha256(spec_json(config).encode()).hexdigest()
                record = insert(autostarts).values(
                    name=config.name, digest=digest, written=self._clock()
                )
                result = await connection.execute(record.on_conflict_do_nothing())
                if result.rowcount:
                    await self._put(connection, config, "autostart")
                    written.append(config.name)
        return written

    async def beat(self, replica: int, url: str | None, started: float, state: str) -> None:
        """Write the heartbeat of a replica (``state``: its JSON report)."""
        values = {
            "replica": replica,
            "url": url,
            "seen": self._clock(),
            "started": started,
            "state": state,
        }
        statement = insert(heartbeats).values(values)
        statement = statement.on_conflict_do_update(
            index_elements=[heartbeats.c.replica],
            set_={k: statement.excluded[k] for k in ("url", "seen", "started", "state")},
        )
        async with self.engine.begin() as connection:
            await connection.execute(statement)

    async def heartbeats(self) -> list[Heartbeat]:
        """The last heartbeat of every replica that ever reported, by index."""
        async with self.engine.connect() as connection:
            rows = (await connection.execute(select(heartbeats))).all()
        return sorted(
            (
                Heartbeat(
                    replica=int(r.replica),
                    url=r.url,
                    seen=float(r.seen),
                    started=float(r.started),
                    state=json.loads(r.state),
                )
                for r in rows
            ),
            key=lambda h: h.replica,
        )


async def _notify(connection: AsyncConnection, name: str) -> None:
    await connection.execute(
        text("SELECT pg_notify(:channel, :name)"), {"channel": CHANNEL, "name": name}
    )
