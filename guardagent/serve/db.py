"""The service's own tables (keys, threads, verifications) on SQLite or Postgres.

One small async interface over both databases: SQL is written once with ``?`` placeholders
and portable types; the Postgres backend rewrites the placeholders. The same URL also names
the LangGraph checkpointer (``guardagent.persist``), so one database holds everything.
On Postgres the tables land in the connection's ``search_path``: give each deployment (or
test run) its own schema with ``?options=-csearch_path%3Dmyschema``.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from guardagent.taxonomy import GuardError


class DatabaseError(GuardError):
    """The service database is unusable (bad address, unreachable, locked)."""


class DatabaseBusy(DatabaseError):
    """SQLite stayed locked by another writer for longer than the busy timeout."""


@dataclass(frozen=True)
class DbUrl:
    kind: str  # "sqlite" | "postgres"
    target: str  # file path or DSN
    raw: str

    def redacted(self) -> str:
        if self.kind == "postgres" and "@" in self.target and "://" in self.target:
            scheme, rest = self.target.split("://", 1)
            creds, host = rest.split("@", 1)
            user = creds.split(":", 1)[0]
            return f"{scheme}://{user}:***@{host}" if ":" in creds else f"{scheme}://{user}@{host}"
        return self.raw


def parse_db_url(url: str) -> DbUrl:
    """``sqlite:///rel.db``, ``sqlite:////abs.db``, a path ending .db/.sqlite, ``postgresql://...``."""
    s = str(url).strip()
    if s.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
        return DbUrl("postgres", s.replace("postgresql+psycopg://", "postgresql://"), s)
    if s.startswith("sqlite://"):
        rest = s[len("sqlite://"):]
        if not rest.startswith("/") or rest in ("/", "/:memory:"):
            raise DatabaseError(
                f"bad database address {s!r}: use sqlite:///relative.db or sqlite:////abs/path.db "
                "(the service needs a file: paused threads must survive a restart)"
            )
        return DbUrl("sqlite", rest[1:], s)
    if "://" in s or s in ("", "memory", ":memory:"):
        raise DatabaseError(
            f"unsupported database address {s!r}: use sqlite:///PATH.db or postgresql://USER@HOST/DB"
        )
    if s.endswith((".db", ".sqlite", ".sqlite3")):
        return DbUrl("sqlite", s, s)
    raise DatabaseError(f"unsupported database address {s!r}: use sqlite:///PATH.db or postgresql://...")


def _locked(exc: BaseException) -> bool:
    return isinstance(exc, sqlite3.OperationalError) and (
        "locked" in str(exc) or "busy" in str(exc)
    )


class Database:
    """Async access to the service tables; ``execute`` returns the affected row count."""

    kind: str

    def __init__(self, url: DbUrl):
        self.url = url

    async def open(self) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        raise NotImplementedError

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> dict[str, Any] | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        raise NotImplementedError

    async def ping(self) -> None:
        await self.fetchall("SELECT 1 AS ok")

    async def migration_lock(self):  # pragma: no cover - overridden
        raise NotImplementedError


class SqliteDatabase(Database):
    kind = "sqlite"

    def __init__(self, url: DbUrl, timeout_s: float = 5.0):
        super().__init__(url)
        self.timeout_s = timeout_s
        self._conn: Any = None
        self._lock = asyncio.Lock()

    @property
    def path(self) -> str:
        return self.url.target

    async def open(self) -> None:
        import aiosqlite

        p = Path(self.path).expanduser()
        if p.is_dir():
            raise DatabaseError(f"database path {p} is a directory, expected a file")
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
            self._conn = await aiosqlite.connect(str(p), timeout=self.timeout_s, isolation_level=None)
            self._conn.row_factory = sqlite3.Row
            await self._conn.execute(f"PRAGMA busy_timeout = {int(self.timeout_s * 1000)}")
            await self._conn.execute("PRAGMA journal_mode = WAL")
        except sqlite3.DatabaseError as exc:
            await self.close()
            if _locked(exc):
                raise DatabaseBusy(f"SQLite database {p} is locked by another process ({exc})") from None
            raise DatabaseError(f"cannot open SQLite database {p}: {exc}") from None
        except OSError as exc:
            raise DatabaseError(f"cannot open SQLite database {p}: {exc}") from None

    async def close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            await conn.close()

    def _wrap(self, exc: BaseException) -> Exception:
        if _locked(exc):
            return DatabaseBusy(
                f"SQLite database {self.path} is locked by another writer for more than "
                f"{self.timeout_s:g}s ({exc}); retry, or use Postgres for several server processes"
            )
        return DatabaseError(f"SQLite database {self.path}: {exc}")

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        if self._conn is None:
            raise DatabaseError("database is not open")
        try:
            async with self._lock:  # one statement at a time: no read snapshot left open in between
                cur = await self._conn.execute(sql, tuple(params))
                n = cur.rowcount
                await cur.close()
            return n
        except sqlite3.DatabaseError as exc:
            raise self._wrap(exc) from None

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        if self._conn is None:
            raise DatabaseError("database is not open")
        try:
            async with self._lock:
                async with self._conn.execute(sql, tuple(params)) as cur:
                    rows = await cur.fetchall()
            return [dict(r) for r in rows]
        except sqlite3.DatabaseError as exc:
            raise self._wrap(exc) from None

    def migration_lock(self):
        return _NullLock()


class _NullLock:
    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        return False


class PostgresDatabase(Database):
    kind = "postgres"
    #: how long a starting process waits for another one's schema set-up
    MIGRATION_WAIT_S = 120.0

    def __init__(self, url: DbUrl, pool_size: int = 4, timeout_s: float = 10.0):
        super().__init__(url)
        self.pool_size = pool_size
        self.timeout_s = timeout_s
        self._pool: Any = None

    async def open(self) -> None:
        try:
            from psycopg.rows import dict_row
            from psycopg_pool import AsyncConnectionPool
        except ImportError as exc:  # pragma: no cover - depends on extras
            raise DatabaseError(f"Postgres needs psycopg and psycopg-pool ({exc}): pip install 'guardagent[serve]'") from None
        self._pool = AsyncConnectionPool(
            self.url.target,
            min_size=1,
            max_size=self.pool_size,
            kwargs={"autocommit": True, "prepare_threshold": None, "row_factory": dict_row},
            open=False,
            timeout=self.timeout_s,
        )
        try:
            await self._pool.open(wait=True, timeout=self.timeout_s)
        except Exception as exc:
            await self.close()
            raise DatabaseError(f"cannot connect to Postgres {self.url.redacted()}: {exc}") from None

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()

    @staticmethod
    def _sql(sql: str) -> str:
        return sql.replace("?", "%s")

    def _wrap(self, exc: BaseException) -> Exception:
        return DatabaseError(f"Postgres {self.url.redacted()}: {exc}")

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        if self._pool is None:
            raise DatabaseError("database is not open")
        import psycopg
        from psycopg_pool import PoolTimeout

        try:
            async with self._pool.connection() as conn:
                cur = await conn.execute(self._sql(sql), tuple(params))
                return cur.rowcount
        except (psycopg.OperationalError, PoolTimeout) as exc:
            raise self._wrap(exc) from None

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        if self._pool is None:
            raise DatabaseError("database is not open")
        import psycopg
        from psycopg_pool import PoolTimeout

        try:
            async with self._pool.connection() as conn:
                cur = await conn.execute(self._sql(sql), tuple(params))
                return list(await cur.fetchall())
        except (psycopg.OperationalError, PoolTimeout) as exc:
            raise self._wrap(exc) from None

    def migration_lock(self):
        """Serialise schema set-up across processes: a session advisory lock (one per schema),
        on a connection outside the pool.

        The lock is *polled* with ``pg_try_advisory_lock``, never waited for in a statement:
        LangGraph's set-up runs ``CREATE INDEX CONCURRENTLY``, which waits for every running
        statement in the database, so a process blocked inside ``pg_advisory_lock`` would
        deadlock with the lock holder's own set-up.
        """
        db = self

        class _Lock:
            async def __aenter__(self):
                import psycopg

                deadline = time.monotonic() + db.MIGRATION_WAIT_S
                try:
                    self._conn = await psycopg.AsyncConnection.connect(
                        db.url.target, autocommit=True, connect_timeout=int(max(db.timeout_s, 1)))
                    while True:
                        cur = await self._conn.execute(
                            "SELECT pg_try_advisory_lock(hashtext('guardagent-setup:' || current_schema()))")
                        if (await cur.fetchone())[0]:
                            return self
                        if time.monotonic() > deadline:
                            await self._conn.close()
                            raise DatabaseError(
                                f"Postgres {db.url.redacted()}: another process has been setting up the "
                                f"tables for more than {db.MIGRATION_WAIT_S:g}s; is one stuck?")
                        await asyncio.sleep(0.1)
                except psycopg.Error as exc:
                    raise db._wrap(exc) from None

            async def __aexit__(self, *exc):
                try:
                    await self._conn.execute(
                        "SELECT pg_advisory_unlock(hashtext('guardagent-setup:' || current_schema()))")
                finally:
                    await self._conn.close()
                return False

        return _Lock()


def make_database(url: str | DbUrl, *, pool_size: int = 4, timeout_s: float = 5.0) -> Database:
    u = url if isinstance(url, DbUrl) else parse_db_url(url)
    if u.kind == "sqlite":
        return SqliteDatabase(u, timeout_s=timeout_s)
    return PostgresDatabase(u, pool_size=pool_size, timeout_s=max(timeout_s, 5.0))
