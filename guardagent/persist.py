"""Checkpointers for paused threads: SQLite by default, Postgres to share across processes.

LangGraph's SQLite and Postgres savers come in separate sync and async classes; a guarded
graph must serve both ``invoke`` and ``ainvoke``. The savers here are the sync ones with
their async methods run on a worker thread, so one object (one connection or pool) serves
both, and a locked database surfaces as a :class:`CheckpointError` naming the file.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any, AsyncIterator

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver

from guardagent.taxonomy import GuardError


class CheckpointError(GuardError):
    """The checkpoint store is unusable (locked, unreachable, bad address)."""


class _ThreadedAsync:
    """Async checkpoint methods that run the sync ones on a worker thread."""

    _label = "checkpoint store"

    def _translate(self, exc: Exception) -> Exception:
        msg = str(exc)
        if isinstance(exc, sqlite3.OperationalError) and "locked" in msg:
            return CheckpointError(
                f"{self._label} is locked by another writer ({msg}); nothing was lost: "
                "the thread keeps its last saved state, retry once the lock is released"
            )
        return exc

    def get_tuple(self, config):  # type: ignore[override]
        try:
            return super().get_tuple(config)  # type: ignore[misc]
        except Exception as exc:
            raise self._translate(exc) from exc

    def put(self, config, checkpoint, metadata, new_versions):  # type: ignore[override]
        try:
            return super().put(config, checkpoint, metadata, new_versions)  # type: ignore[misc]
        except Exception as exc:
            raise self._translate(exc) from exc

    def put_writes(self, config, writes, task_id, task_path=""):  # type: ignore[override]
        try:
            return super().put_writes(config, writes, task_id, task_path)  # type: ignore[misc]
        except Exception as exc:
            raise self._translate(exc) from exc

    async def aget_tuple(self, config):
        return await asyncio.to_thread(self.get_tuple, config)

    async def alist(self, config, *, filter=None, before=None, limit=None) -> AsyncIterator[Any]:
        items = await asyncio.to_thread(
            lambda: list(self.list(config, filter=filter, before=before, limit=limit))  # type: ignore[attr-defined]
        )
        for item in items:
            yield item

    async def aput(self, config, checkpoint, metadata, new_versions):
        return await asyncio.to_thread(self.put, config, checkpoint, metadata, new_versions)

    async def aput_writes(self, config, writes, task_id, task_path=""):
        return await asyncio.to_thread(self.put_writes, config, writes, task_id, task_path)

    async def adelete_thread(self, thread_id):
        return await asyncio.to_thread(self.delete_thread, thread_id)  # type: ignore[attr-defined]


def _sqlite_saver(path: str, timeout: float) -> BaseCheckpointSaver:
    from langgraph.checkpoint.sqlite import SqliteSaver

    class GuardSqliteSaver(_ThreadedAsync, SqliteSaver):
        _label = f"checkpoint database {path!r}"

    if path != ":memory:":
        p = Path(path).expanduser()
        if p.exists() and p.is_dir():
            raise CheckpointError(f"checkpoint path {p} is a directory, expected a database file")
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CheckpointError(f"cannot create the directory for checkpoint database {p}: {exc}") from None
        path = str(p)
    try:
        conn = sqlite3.connect(path, check_same_thread=False, timeout=timeout)
        conn.execute("PRAGMA busy_timeout = %d" % int(timeout * 1000))
        saver = GuardSqliteSaver(conn)
        saver.setup()
    except sqlite3.DatabaseError as exc:
        if "locked" in str(exc):
            raise CheckpointError(
                f"checkpoint database {path!r} is locked by another process ({exc})"
            ) from None
        raise CheckpointError(f"checkpoint database {path!r} is unusable: {exc}") from None
    return saver


def _postgres_saver(dsn: str, pool_size: int) -> BaseCheckpointSaver:
    try:
        from langgraph.checkpoint.postgres import PostgresSaver
        from psycopg.rows import dict_row
        from psycopg_pool import ConnectionPool
    except ImportError as exc:  # pragma: no cover - depends on extras
        raise CheckpointError(
            f"Postgres checkpointer needs langgraph-checkpoint-postgres and psycopg ({exc}); "
            "pip install 'guardagent[serve]'"
        ) from None

    class GuardPostgresSaver(_ThreadedAsync, PostgresSaver):
        _label = "Postgres checkpoint store"

    try:
        pool = ConnectionPool(
            dsn,
            min_size=1,
            max_size=pool_size,
            kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row},
            open=True,
            timeout=10,
        )
        pool.wait(timeout=10)
        saver = GuardPostgresSaver(pool)
        saver.setup()
    except Exception as exc:
        raise CheckpointError(f"cannot open Postgres checkpoint store {_redact(dsn)}: {exc}") from None
    return saver


def _redact(dsn: str) -> str:
    if "@" in dsn and "://" in dsn:
        scheme, rest = dsn.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return dsn


def open_checkpointer(
    spec: str | Path | BaseCheckpointSaver | None,
    *,
    timeout: float = 5.0,
    pool_size: int = 8,
) -> BaseCheckpointSaver | None:
    """Build a checkpointer from a spec.

    ``None`` → none (no verification can pause); ``"memory"`` → in-process;
    ``"sqlite:///rel.db"`` / ``"sqlite:////abs.db"`` / a path ending ``.db``/``.sqlite`` → SQLite;
    ``"postgresql://..."`` → Postgres (shared by several processes). A saver passes through.
    """
    if spec is None or isinstance(spec, BaseCheckpointSaver):
        return spec
    s = str(spec).strip()
    if s in ("memory", ":memory:", "mem"):
        return InMemorySaver()
    if s.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
        return _postgres_saver(s.replace("postgresql+psycopg://", "postgresql://"), pool_size)
    if s.startswith("sqlite://"):
        rest = s[len("sqlite://"):]
        if not rest.startswith("/"):
            raise CheckpointError(f"bad sqlite address {s!r}: use sqlite:///relative.db or sqlite:////abs/path.db")
        return _sqlite_saver(rest[1:] or ":memory:", timeout)
    if "://" in s:
        raise CheckpointError(
            f"unsupported checkpointer address {s!r}: use memory, sqlite:///PATH or postgresql://..."
        )
    return _sqlite_saver(s, timeout)


def close_checkpointer(saver: BaseCheckpointSaver | None) -> None:
    """Release the connection or pool behind a saver built by :func:`open_checkpointer`."""
    conn = getattr(saver, "conn", None)
    close = getattr(conn, "close", None)
    if callable(close):
        close()


__all__ = ["CheckpointError", "open_checkpointer", "close_checkpointer"]
