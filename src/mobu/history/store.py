"""The history store: SQLite (embedded default, WAL) or PostgreSQL, through SQLAlchemy's async
engine (aiosqlite, asyncpg) and one code path; the schema comes from Alembic migrations."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import ColumnElement, Row, and_, delete, event, false, func, insert, select
from sqlalchemy import update as sql_update
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from mobu.history.codec import SUMMARY_CHARS, decode_tally, encode_tally, stored_summary
from mobu.history.migrations import current_revision, upgrade
from mobu.history.recorder import MINUTE, BucketRow, FailureRow
from mobu.history.schema import buckets, failures

__all__ = ["HOUR", "HistoryStore", "Retention"]

HOUR = 3600
_CHUNK = 500
"""Ids per ``IN (...)`` clause."""
_ROLLUP_BATCH = 20_000
"""Minute rows rolled up per transaction."""


@dataclass(frozen=True, slots=True)
class Retention:
    """What the store keeps: everything for ``retention``, minute rows for ``minutes_kept``
    (seconds), at most ``max_rows`` bucket rows and ``max_failures`` failures."""

    retention: float
    minutes_kept: float
    max_rows: int
    max_failures: int


def _floor(value: float, step: int) -> int:
    return int(value // step) * step


def _bucket_values(row: BucketRow, *, rolled: bool = False) -> dict[str, Any]:
    return {
        "flock": row.flock,
        "event": row.event,
        "business": row.business,
        "resolution": row.resolution,
        "start": row.start,
        "count": row.tally.count,
        "failures": row.tally.failures,
        "monkeys": row.monkeys,
        "histogram": encode_tally(row.tally),
        "rolled": rolled,
    }


def _failure_values(row: FailureRow) -> dict[str, Any]:
    return {
        "time": row.time,
        "flock": row.flock,
        "monkey": row.monkey,
        "business": row.business,
        "error_type": row.error_type,
        "message": row.message,
        "step": row.step,
        "log_path": row.log_path,
    }


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL journal (readers never wait for the writer), and a wait when the file is busy."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


class HistoryStore:
    """Reads and writes the history tables of one database.

    Parameters
    ----------
    url
        Async SQLAlchemy URL (``sqlite+aiosqlite:///...`` or ``postgresql+asyncpg://...``).
    """

    def __init__(self, url: str) -> None:
        self.url = url
        parsed = make_url(url)
        self.backend = parsed.get_backend_name()
        self.path: Path | None = None
        if self.backend == "sqlite" and parsed.database not in (None, "", ":memory:"):
            self.path = Path(parsed.database or "")
        self._engine: AsyncEngine | None = None

    @property
    def display_url(self) -> str:
        """The URL without its password."""
        return make_url(self.url).render_as_string(hide_password=True)

    @property
    def engine(self) -> AsyncEngine:
        """The engine (after :meth:`open`)."""
        if self._engine is None:
            raise RuntimeError("history store not open")
        return self._engine

    async def open(self) -> None:
        """Connect and migrate the schema to the newest revision; raises if the store is down."""
        if self._engine is None:
            if self.path is not None:
                self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                engine = create_async_engine(self.url)
                event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
            else:
                engine = create_async_engine(
                    self.url, pool_pre_ping=True, connect_args={"timeout": 5}
                )
            self._engine = engine
        await upgrade(self.engine)

    async def revision(self) -> str | None:
        """The schema revision of the store."""
        return await current_revision(self.engine)

    async def aclose(self) -> None:
        """Close every connection."""
        if self._engine is not None:
            await self._engine.dispose()

    def size_bytes(self) -> int | None:
        """Bytes on disk of a SQLite store (database, WAL and shared memory); None otherwise."""
        if self.path is None:
            return None
        total = 0
        for suffix in ("", "-wal", "-shm"):
            candidate = self.path.with_name(self.path.name + suffix)
            if candidate.exists():
                total += candidate.stat().st_size
        return total

    async def write(self, rows: Sequence[BucketRow], failure_rows: Sequence[FailureRow]) -> None:
        """Append rows and failures in one transaction."""
        async with self.engine.begin() as connection:
            if rows:
                await connection.execute(insert(buckets), [_bucket_values(r) for r in rows])
            if failure_rows:
                await connection.execute(
                    insert(failures), [_failure_values(f) for f in failure_rows]
                )

    async def rows(
        self,
        flock: str,
        since: int,
        until: int,
        *,
        hourly: bool,
        cutoff: int,
        histograms: bool | Literal["summary"] = True,
    ) -> list[BucketRow]:
        """Rows of ``flock`` starting in [since, until), each event counted exactly once.

        ``hourly``: hourly rows plus the minute rows not rolled up yet. Otherwise minute rows
        from ``cutoff`` on (the oldest minutes kept) and hourly rows before it. ``histograms``
        False: counts only; ``"summary"``: counts and the stored summary (the rows' tallies then
        hold no durations: never merge them).
        """
        c = buckets.c
        # Simple conditions, one select each, so that every one runs on an index.
        parts: list[ColumnElement[bool]] = [
            and_(c.resolution == MINUTE, c.rolled == false(), c.start < cutoff)
        ]
        if hourly:
            parts = [
                and_(c.resolution == HOUR),
                and_(c.resolution == MINUTE, c.rolled == false()),
            ]
        else:
            parts += [
                and_(c.resolution == MINUTE, c.start >= cutoff),
                and_(c.resolution == HOUR, c.start < cutoff),
            ]
        columns = [c.event, c.business, c.resolution, c.start, c.count.label("n"), c.failures]
        columns.append(c.monkeys)
        if histograms == "summary":  # only the summary at its start: not the whole text
            columns.append(func.substr(c.histogram, 1, SUMMARY_CHARS).label("histogram"))
        elif histograms:
            columns.append(c.histogram)
        found: list[Row[Any]] = []
        async with self.engine.connect() as connection:
            for part in parts:
                query = select(*columns).where(
                    c.flock == flock, c.start >= since, c.start < until, part
                )
                found.extend((await connection.execute(query)).all())
        return [_bucket_row(flock, r, histograms) for r in found]

    async def flocks(self, since: int) -> dict[str, str]:
        """Flocks with rows starting at ``since`` or later, with their (latest) business."""
        c = buckets.c
        query = (
            select(c.flock, c.business, func.max(c.start))
            .where(c.start >= since)
            .group_by(c.flock, c.business)
        )
        async with self.engine.connect() as connection:
            found = (await connection.execute(query)).all()
        latest: dict[str, tuple[int, str]] = {}
        for flock, business, start in found:
            if flock not in latest or start > latest[flock][0]:
                latest[flock] = (start, business)
        return {flock: business for flock, (_, business) in latest.items()}

    async def failures(
        self, flock: str | None, since: float, limit: int, until: float | None = None
    ) -> list[FailureRow]:
        """Failures (of ``flock``, or all) at ``since`` or later, newest first."""
        c = failures.c
        query = select(failures).where(c.time >= since)
        if until is not None:
            query = query.where(c.time < until)
        if flock is not None:
            query = query.where(c.flock == flock)
        query = query.order_by(c.time.desc(), c.id.desc()).limit(limit)
        async with self.engine.connect() as connection:
            found = (await connection.execute(query)).all()
        return [_failure(r) for r in found]

    async def counts(self) -> tuple[int, int]:
        """Bucket rows and failures stored."""
        async with self.engine.connect() as connection:
            rows = await connection.scalar(select(func.count()).select_from(buckets))
            logged = await connection.scalar(select(func.count()).select_from(failures))
        return int(rows or 0), int(logged or 0)

    async def maintain(self, now: float, retention: Retention) -> dict[str, int]:
        """Roll finished hours up, then apply retention and the size bounds; returns counts."""
        rolled = await self.rollup(now)
        async with self.engine.begin() as connection:
            pruned = await self._prune(connection, now, retention)
        return {"rolled": rolled, **pruned}

    async def rollup(self, now: float) -> int:
        """Merge the minute rows of every finished hour into hourly rows; returns rows rolled."""
        hour = _floor(now, HOUR)
        c = buckets.c
        query = (
            select(c.id, c.flock, c.event, c.business, c.start)
            .add_columns(c.count.label("n"), c.failures, c.monkeys, c.histogram)
            .where(c.resolution == MINUTE, c.rolled == false(), c.start < hour)
            .order_by(c.start, c.id)
            .limit(_ROLLUP_BATCH)
        )
        total = 0
        while True:
            async with self.engine.begin() as connection:
                found = (await connection.execute(query)).all()
                if not found:
                    return total
                await self._roll(connection, found)
            total += len(found)
            if len(found) < _ROLLUP_BATCH:
                return total

    async def _roll(self, connection: AsyncConnection, found: Sequence[Row[Any]]) -> None:
        merged: dict[tuple[str, str, str, int], BucketRow] = {}
        for r in found:
            key = (r.flock, r.event, r.business, _floor(r.start, HOUR))
            tally, _ = decode_tally(r.n, r.failures, r.histogram)
            if key in merged:
                merged[key].tally.merge(tally)
                merged[key].monkeys = max(merged[key].monkeys, r.monkeys)
            else:
                merged[key] = BucketRow(*key, tally=tally, monkeys=r.monkeys, resolution=HOUR)
        await connection.execute(insert(buckets), [_bucket_values(r) for r in merged.values()])
        ids = [r.id for r in found]
        for i in range(0, len(ids), _CHUNK):
            chunk = ids[i : i + _CHUNK]
            await connection.execute(
                sql_update(buckets).where(buckets.c.id.in_(chunk)).values(rolled=True)
            )

    async def _prune(
        self, connection: AsyncConnection, now: float, retention: Retention
    ) -> dict[str, int]:
        c = buckets.c
        oldest_minute = _floor(now - retention.minutes_kept, HOUR)
        minutes = await connection.execute(
            delete(buckets).where(
                c.resolution == MINUTE, c.rolled.is_(True), c.start < oldest_minute
            )
        )
        expired = await connection.execute(
            delete(buckets).where(c.start < now - retention.retention)
        )
        logged = await connection.execute(
            delete(failures).where(failures.c.time < now - retention.retention)
        )
        over = await self._bound(connection, buckets, c.start, retention.max_rows)
        over += await self._bound(connection, failures, failures.c.time, retention.max_failures)
        return {
            "minutes_deleted": int(minutes.rowcount),
            "expired": int(expired.rowcount) + int(logged.rowcount),
            "over_bound": over,
        }

    @staticmethod
    async def _bound(connection: AsyncConnection, table: Any, order: Any, most: int) -> int:
        """Delete the oldest rows of ``table`` beyond ``most``; returns how many."""
        count = int(await connection.scalar(select(func.count()).select_from(table)) or 0)
        excess = count - most
        if excess <= 0:
            return 0
        oldest = select(table.c.id).order_by(order, table.c.id).limit(excess)
        result = await connection.execute(delete(table).where(table.c.id.in_(oldest)))
        return int(result.rowcount)


def _bucket_row(flock: str, r: Row[Any], histograms: bool | Literal["summary"]) -> BucketRow:
    if histograms == "summary":
        tally, _ = decode_tally(r.n, r.failures, None)
        quantiles = stored_summary(r.histogram)
    else:
        tally, quantiles = decode_tally(r.n, r.failures, r.histogram if histograms else None)
    return BucketRow(
        flock=flock,
        event=r.event,
        business=r.business,
        start=int(r.start),
        tally=tally,
        monkeys=r.monkeys,
        resolution=r.resolution,
        quantiles=quantiles,
    )


def _failure(r: Row[Any]) -> FailureRow:
    return FailureRow(
        time=r.time,
        flock=r.flock,
        monkey=r.monkey,
        business=r.business,
        error_type=r.error_type,
        message=r.message,
        step=r.step,
        log_path=r.log_path,
    )
