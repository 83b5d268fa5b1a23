"""Keys, threads and verifications: the service's bookkeeping beside the checkpoints.

The LangGraph checkpoint stays the source of truth for a thread's messages and whether it
is paused; these tables answer what checkpoints cannot answer cheaply (who owns a thread,
which verifications wait across all threads) and serialise runs on one thread across
processes with a lease row (an atomic conditional UPDATE, valid on SQLite and Postgres).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Any

from guardagent.serve.db import Database
from guardagent.taxonomy import GuardError

ROLES = ("user", "approver", "admin")
KEY_PREFIX = "ga"

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS ga_keys (
        key_id TEXT PRIMARY KEY,
        key_hash TEXT NOT NULL,
        role TEXT NOT NULL,
        name TEXT,
        created_at DOUBLE PRECISION NOT NULL,
        revoked_at DOUBLE PRECISION
    )""",
    """CREATE TABLE IF NOT EXISTS ga_threads (
        thread_id TEXT PRIMARY KEY,
        owner TEXT NOT NULL,
        status TEXT NOT NULL,
        metadata TEXT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL,
        updated_at DOUBLE PRECISION NOT NULL,
        lease_token TEXT,
        lease_until DOUBLE PRECISION
    )""",
    "CREATE INDEX IF NOT EXISTS ga_threads_owner ON ga_threads (owner, created_at)",
    """CREATE TABLE IF NOT EXISTS ga_verifications (
        verification_id TEXT PRIMARY KEY,
        thread_id TEXT NOT NULL,
        interrupt_id TEXT NOT NULL,
        status TEXT NOT NULL,
        payload TEXT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL,
        resolved_at DOUBLE PRECISION,
        resolved_by TEXT,
        note TEXT
    )""",
    "CREATE INDEX IF NOT EXISTS ga_verifications_status ON ga_verifications (status, created_at)",
    "CREATE INDEX IF NOT EXISTS ga_verifications_thread ON ga_verifications (thread_id, status)",
]

TABLES = ("ga_keys", "ga_threads", "ga_verifications")


class StoreError(GuardError):
    pass


@dataclass(frozen=True)
class Principal:
    key_id: str
    role: str
    name: str | None = None

    @property
    def can_approve(self) -> bool:
        return self.role in ("approver", "admin")

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def hash_secret(secret: str) -> str:
    # keys are 256-bit random: a plain SHA-256 is enough (no dictionary to guess from)
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def split_key(key: str) -> tuple[str, str] | None:
    """``ga_<key_id>_<secret>`` -> (key_id, secret); None when the shape is wrong."""
    parts = key.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


def _now() -> float:
    return time.time()


class Store:
    def __init__(self, db: Database):
        self.db = db

    async def setup(self) -> None:
        """Create the tables (serialised across processes on Postgres)."""
        async with self.db.migration_lock():
            await self.setup_tables()

    async def setup_tables(self) -> None:
        for stmt in SCHEMA:
            await self.db.execute(stmt)

    # -- keys ------------------------------------------------------------------------

    async def create_key(self, role: str, name: str | None = None) -> tuple[str, Principal]:
        if role not in ROLES:
            raise StoreError(f"unknown role {role!r}: expected one of {list(ROLES)}")
        key_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32).replace("_", "-")
        await self.db.execute(
            "INSERT INTO ga_keys (key_id, key_hash, role, name, created_at) VALUES (?, ?, ?, ?, ?)",
            (key_id, hash_secret(secret), role, name, _now()),
        )
        return f"{KEY_PREFIX}_{key_id}_{secret}", Principal(key_id, role, name)

    async def authenticate(self, key: str) -> Principal | None:
        parts = split_key(key)
        if parts is None:
            return None
        key_id, secret = parts
        row = await self.db.fetchone(
            "SELECT key_id, key_hash, role, name, revoked_at FROM ga_keys WHERE key_id = ?", (key_id,)
        )
        if row is None or row["revoked_at"] is not None:
            return None
        if not hmac.compare_digest(row["key_hash"], hash_secret(secret)):
            return None
        return Principal(row["key_id"], row["role"], row["name"])

    async def list_keys(self) -> list[dict[str, Any]]:
        return await self.db.fetchall(
            "SELECT key_id, role, name, created_at, revoked_at FROM ga_keys ORDER BY created_at"
        )

    async def revoke_key(self, key_id: str) -> bool:
        n = await self.db.execute(
            "UPDATE ga_keys SET revoked_at = ? WHERE key_id = ? AND revoked_at IS NULL", (_now(), key_id)
        )
        return n > 0

    # -- threads ---------------------------------------------------------------------

    async def create_thread(self, owner: str, metadata: dict[str, Any] | None = None) -> dict[str, Any]:
        tid = f"thr_{uuid.uuid4().hex}"
        now = _now()
        await self.db.execute(
            "INSERT INTO ga_threads (thread_id, owner, status, metadata, created_at, updated_at) "
            "VALUES (?, ?, 'idle', ?, ?, ?)",
            (tid, owner, json.dumps(metadata or {}), now, now),
        )
        return await self.get_thread(tid)  # type: ignore[return-value]

    async def get_thread(self, thread_id: str) -> dict[str, Any] | None:
        row = await self.db.fetchone("SELECT * FROM ga_threads WHERE thread_id = ?", (thread_id,))
        if row is not None:
            row["metadata"] = json.loads(row["metadata"] or "{}")
        return row

    async def list_threads(self, owner: str | None, limit: int = 100) -> list[dict[str, Any]]:
        if owner is None:
            rows = await self.db.fetchall(
                "SELECT thread_id, owner, status, created_at, updated_at FROM ga_threads "
                "ORDER BY created_at DESC LIMIT ?", (limit,)
            )
        else:
            rows = await self.db.fetchall(
                "SELECT thread_id, owner, status, created_at, updated_at FROM ga_threads "
                "WHERE owner = ? ORDER BY created_at DESC LIMIT ?", (owner, limit)
            )
        return rows

    async def set_thread_status(self, thread_id: str, status: str) -> None:
        await self.db.execute(
            "UPDATE ga_threads SET status = ?, updated_at = ? WHERE thread_id = ?", (status, _now(), thread_id)
        )

    async def acquire_lease(self, thread_id: str, ttl_s: float) -> str | None:
        """Take the thread's run lease; None when another run holds an unexpired one."""
        token = uuid.uuid4().hex
        now = _now()
        n = await self.db.execute(
            "UPDATE ga_threads SET lease_token = ?, lease_until = ? "
            "WHERE thread_id = ? AND (lease_token IS NULL OR lease_until < ?)",
            (token, now + ttl_s, thread_id, now),
        )
        return token if n > 0 else None

    async def release_lease(self, thread_id: str, token: str) -> None:
        await self.db.execute(
            "UPDATE ga_threads SET lease_token = NULL, lease_until = NULL WHERE thread_id = ? AND lease_token = ?",
            (thread_id, token),
        )

    async def stale_running_threads(self) -> list[str]:
        """Threads marked running whose lease expired (their process died mid-run)."""
        rows = await self.db.fetchall(
            "SELECT thread_id FROM ga_threads WHERE status = 'running' "
            "AND (lease_token IS NULL OR lease_until < ?)", (_now(),)
        )
        return [r["thread_id"] for r in rows]

    # -- verifications ---------------------------------------------------------------

    @staticmethod
    def _ver(row: dict[str, Any] | None) -> dict[str, Any] | None:
        if row is not None:
            row["payload"] = json.loads(row["payload"])
        return row

    async def add_verification(self, vid: str, thread_id: str, interrupt_id: str, payload: dict[str, Any]) -> None:
        await self.db.execute(
            "INSERT INTO ga_verifications (verification_id, thread_id, interrupt_id, status, payload, created_at) "
            "VALUES (?, ?, ?, 'pending', ?, ?) ON CONFLICT (verification_id) DO NOTHING",
            (vid, thread_id, interrupt_id, json.dumps(payload, default=str), _now()),
        )

    async def get_verification(self, vid: str) -> dict[str, Any] | None:
        return self._ver(await self.db.fetchone("SELECT * FROM ga_verifications WHERE verification_id = ?", (vid,)))

    async def list_verifications(self, status: str | None, limit: int = 100) -> list[dict[str, Any]]:
        if status is None:
            rows = await self.db.fetchall("SELECT * FROM ga_verifications ORDER BY created_at LIMIT ?", (limit,))
        else:
            rows = await self.db.fetchall(
                "SELECT * FROM ga_verifications WHERE status = ? ORDER BY created_at LIMIT ?", (status, limit)
            )
        return [self._ver(r) for r in rows]  # type: ignore[misc]

    async def thread_verifications(self, thread_id: str) -> list[dict[str, Any]]:
        rows = await self.db.fetchall(
            "SELECT * FROM ga_verifications WHERE thread_id = ? ORDER BY created_at", (thread_id,)
        )
        return [self._ver(r) for r in rows]  # type: ignore[misc]

    async def resolve_verification(
        self, vid: str, status: str, by: str | None, note: str | None
    ) -> bool:
        """pending -> approved/denied/stale; False when it was not pending any more."""
        n = await self.db.execute(
            "UPDATE ga_verifications SET status = ?, resolved_at = ?, resolved_by = ?, note = ? "
            "WHERE verification_id = ? AND status = 'pending'",
            (status, _now(), by, note, vid),
        )
        return n > 0

    async def pending_ids(self, thread_id: str) -> set[str]:
        rows = await self.db.fetchall(
            "SELECT verification_id FROM ga_verifications WHERE thread_id = ? AND status = 'pending'", (thread_id,)
        )
        return {r["verification_id"] for r in rows}

    async def drop_all(self) -> None:
        """Drop the service tables (tests, ``keys`` never calls this)."""
        for t in TABLES:
            await self.db.execute(f"DROP TABLE IF EXISTS {t}")


