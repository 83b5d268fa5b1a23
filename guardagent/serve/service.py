"""The service: a guarded graph on a checkpointer, plus the bookkeeping store.

Every run on a thread (a new message, or a resumed verification) holds the thread's lease
row for its whole duration, so runs on one thread are serialised across processes; a run is
an asyncio task that outlives a disconnected client, so nothing is left half-done.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage, ToolMessage
from langgraph.types import Command

from guardagent.screening import Guard
from guardagent.persist import CheckpointError, close_checkpointer, open_checkpointer
from guardagent.serve import runtime
from guardagent.serve.config import ServeConfig
from guardagent.serve.db import Database, DatabaseBusy, DatabaseError, make_database
from guardagent.serve.metrics import Metrics
from guardagent.serve.store import Principal, Store
from guardagent.taxonomy import GuardError, content_to_text

log = logging.getLogger("guardagent.serve")

_ROLE = {"human": "user", "ai": "assistant", "tool": "tool", "system": "system"}


class ServiceError(GuardError):
    """An error with an HTTP status and a stable code (the API's error body)."""

    def __init__(self, status: int, code: str, message: str, **extra: Any):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra


def message_json(m: BaseMessage) -> dict[str, Any]:
    d: dict[str, Any] = {"id": m.id, "role": _ROLE.get(m.type, m.type), "content": content_to_text(m.content)}
    if isinstance(m, AIMessage):
        if m.tool_calls:
            d["tool_calls"] = [{"id": c["id"], "name": c["name"], "args": c["args"]} for c in m.tool_calls]
        ga = m.additional_kwargs.get("guardagent")
        if ga:
            d["guardagent"] = ga
    if isinstance(m, ToolMessage):
        d["tool_call_id"] = m.tool_call_id
        d["name"] = m.name
        d["status"] = m.status
        ga = m.additional_kwargs.get("guardagent")
        if ga:
            d["guardagent"] = ga
    if isinstance(m, HumanMessage) and m.name:
        d["name"] = m.name
    return d


def verification_json(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["verification_id"],
        "thread_id": row["thread_id"],
        "status": row["status"],
        "created_at": row["created_at"],
        "resolved_at": row.get("resolved_at"),
        "resolved_by": row.get("resolved_by"),
        "note": row.get("note"),
        "payload": row["payload"],
    }


@dataclass
class Turn:
    """One run in flight. ``events`` is set for streamed runs (SSE)."""

    thread_id: str
    task: asyncio.Task | None = None
    events: asyncio.Queue | None = None


class Service:
    def __init__(self, config: ServeConfig, *, metrics: Metrics | None = None):
        self.config = config
        self.limits = config.limits
        self.metrics = metrics or Metrics()
        self.db: Database = make_database(config.database_url(), pool_size=config.pool_size,
                                          timeout_s=config.limits.db_timeout_s)
        self.store = Store(self.db)
        self.graph: Any = None
        self.guard: Guard | None = None
        self.saver: Any = None
        self._tasks: set[asyncio.Task] = set()

    # -- life cycle --------------------------------------------------------------------

    async def start(self) -> None:
        cfg = self.config
        runtime.run_imports(cfg)
        policy = runtime.build_policy(cfg)
        model = runtime.build_model(cfg)
        tools = runtime.build_tools(cfg)
        await self.db.open()
        try:
            async with self.db.migration_lock():
                await self.store.setup_tables()
                # the checkpointer's own migrations, serialised across processes as well
                self.saver = await self._open_saver()
            from guardagent.graph import build_guarded_graph

            self.guard = Guard(policy)
            await asyncio.to_thread(self.guard.warm)  # load screen models now, not on the first request
            self.graph = build_guarded_graph(model, tools, policy, checkpointer=self.saver, guard=self.guard,
                                             system_prompt=cfg.system_prompt)
            await self.recover()
        except BaseException:
            await self.stop()
            raise

    async def _open_saver(self) -> Any:
        """``guardagent.persist``'s saver for the same URL (SQLite file or Postgres pool); its
        errors (a locked file, an unreachable server) are GuardErrors naming the database."""
        return await asyncio.to_thread(open_checkpointer, self.config.database_url(),
                                       timeout=self.limits.db_timeout_s)

    async def stop(self, grace_s: float = 10.0) -> None:
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=grace_s)
        if self.saver is not None:
            saver, self.saver = self.saver, None
            await asyncio.to_thread(close_checkpointer, saver)
        await self.db.close()

    async def recover(self) -> None:
        """Threads left 'running' by a process that died: re-read their checkpoint."""
        for tid in await self.store.stale_running_threads():
            try:
                await self.sync_thread(tid, await self.snapshot(tid), failed=True)
            except Exception as exc:  # keep starting; the thread is reconciled on next access
                log.warning("could not reconcile thread %s: %s", tid, exc)

    async def ready(self) -> None:
        await self.db.ping()
        if self.saver is not None:
            await self.saver.aget_tuple({"configurable": {"thread_id": "__readyz__", "checkpoint_ns": ""}})

    # -- helpers -----------------------------------------------------------------------

    def _config(self, thread_id: str) -> dict[str, Any]:
        return {"configurable": {"thread_id": thread_id}, "recursion_limit": self.limits.recursion_limit}

    async def snapshot(self, thread_id: str) -> Any:
        return await self.graph.aget_state({"configurable": {"thread_id": thread_id}})

    @staticmethod
    def interrupts(snap: Any) -> list[tuple[str, str, dict[str, Any]]]:
        """(verification id, interrupt id, payload) of what the thread waits on."""
        out = []
        for intr in getattr(snap, "interrupts", ()) or ():
            payload = intr.value if isinstance(intr.value, dict) else {"value": intr.value}
            vid = str(payload.get("id") or f"ver_{intr.id[:16]}")
            out.append((vid, intr.id, payload))
        return out

    async def sync_thread(self, thread_id: str, snap: Any, *, failed: bool = False,
                          resolved: tuple[str, str, str | None, str | None] | None = None,
                          known_status: str | None = None) -> str:
        """Make the store agree with the checkpoint; returns the thread's status.

        ``known_status`` is what the store already says (a read that changes nothing writes nothing).
        """
        current = self.interrupts(snap)
        for vid, iid, payload in current:
            await self.store.add_verification(vid, thread_id, iid, payload)
        live = {vid for vid, _, _ in current}
        if resolved is not None and resolved[0] not in live:
            await self.store.resolve_verification(*resolved)
        for vid in await self.store.pending_ids(thread_id) - live:
            await self.store.resolve_verification(vid, "stale", None, "no longer pending in the thread's checkpoint")
        values = getattr(snap, "values", None) or {}
        if current:
            status = "awaiting_verification"
        elif failed:
            status = "failed"
        else:
            status = values.get("status") or ("completed" if values.get("messages") else "idle")
            if status == "running":  # a run that stopped without finishing (error, timeout)
                status = "failed"
        if status != known_status:
            await self.store.set_thread_status(thread_id, status)
        return status

    async def thread_for(self, principal: Principal, thread_id: str, *, write: bool) -> dict[str, Any]:
        row = await self.store.get_thread(thread_id)
        if row is None:
            raise ServiceError(404, "not_found", f"no thread {thread_id!r}")
        mine = row["owner"] == principal.key_id
        if not (mine or principal.is_admin or (principal.can_approve and not write)):
            raise ServiceError(403, "forbidden", f"thread {thread_id!r} belongs to another user")
        return row

    async def _lease(self, thread_id: str) -> str:
        deadline = time.monotonic() + self.limits.lock_wait_s
        ttl = self.limits.run_timeout_s + 60.0
        delay = 0.02
        while True:
            token = await self.store.acquire_lease(thread_id, ttl)
            if token:
                return token
            if time.monotonic() >= deadline:
                raise ServiceError(409, "thread_busy",
                                   f"thread {thread_id!r} is busy with another run; retry when it has finished")
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.25)

    # -- thread view -------------------------------------------------------------------

    async def thread_view(self, principal: Principal, thread_id: str) -> dict[str, Any]:
        row = await self.thread_for(principal, thread_id, write=False)
        snap = await self.snapshot(thread_id)
        status = row["status"]
        if status != "running" or (row["lease_until"] or 0) < time.time():
            # also repairs bookkeeping a crashed process left half-written
            status = await self.sync_thread(thread_id, snap, known_status=status)
        values = snap.values or {}
        vers = await self.store.thread_verifications(thread_id)
        return {
            "thread_id": thread_id,
            "owner": row["owner"],
            "status": status,
            "created_at": row["created_at"],
            "metadata": row["metadata"],
            "messages": [message_json(m) for m in values.get("messages", [])],
            "audit": list(values.get("audit", [])),
            "verifications": [verification_json(v) for v in vers],
        }

    # -- runs --------------------------------------------------------------------------

    async def start_message(self, principal: Principal, thread_id: str, content: str, *, stream: bool) -> Turn:
        await self.thread_for(principal, thread_id, write=True)
        token = await self._lease(thread_id)
        try:
            snap = await self.snapshot(thread_id)
            waiting = self.interrupts(snap)
            if waiting:
                await self.sync_thread(thread_id, snap)
                vid, _, payload = waiting[0]
                raise ServiceError(409, "awaiting_verification",
                                   f"thread {thread_id!r} waits for verification {vid!r}; it must be resolved first",
                                   verification={"id": vid, "payload": payload})
            await self.store.set_thread_status(thread_id, "running")
        except BaseException:
            await self.store.release_lease(thread_id, token)
            raise
        graph_input = {"messages": [HumanMessage(content=content)]}
        return self._launch(thread_id, token, graph_input, snap, stream=stream)

    async def start_resume(self, principal: Principal, vid: str, approved: bool, note: str | None,
                           *, stream: bool) -> Turn:
        if not principal.can_approve:
            raise ServiceError(403, "forbidden", "resolving verifications needs the approver or admin role")
        row = await self.store.get_verification(vid)
        if row is None:
            raise ServiceError(404, "not_found", f"no verification {vid!r}")
        if row["status"] != "pending":
            raise ServiceError(409, "already_resolved", f"verification {vid!r} is already {row['status']}",
                               verification=verification_json(row))
        thread_id = row["thread_id"]
        token = await self._lease(thread_id)
        try:
            row = await self.store.get_verification(vid)
            if row is None or row["status"] != "pending":
                raise ServiceError(409, "already_resolved",
                                   f"verification {vid!r} is already {row['status'] if row else 'gone'}",
                                   verification=verification_json(row) if row else None)
            snap = await self.snapshot(thread_id)
            live = self.interrupts(snap)
            match = [x for x in live if x[0] == vid]
            if not match:
                await self.sync_thread(thread_id, snap)
                raise ServiceError(409, "already_resolved",
                                   f"verification {vid!r} is no longer pending in thread {thread_id!r}")
            answer = {"approved": approved, "note": note}
            resume: Any = answer if len(live) == 1 else {match[0][1]: answer}
            await self.store.set_thread_status(thread_id, "running")
        except BaseException:
            await self.store.release_lease(thread_id, token)
            raise
        outcome = "approved" if approved else "denied"
        self.metrics.verifications.labels(outcome=outcome).inc()
        return self._launch(thread_id, token, Command(resume=resume), snap, stream=stream,
                            resolved=(vid, outcome, principal.key_id, note))

    def _launch(self, thread_id: str, token: str, graph_input: Any, before: Any, *, stream: bool,
                resolved: tuple[str, str, str | None, str | None] | None = None) -> Turn:
        turn = Turn(thread_id=thread_id, events=asyncio.Queue() if stream else None)
        task = asyncio.create_task(self._run(turn, token, graph_input, before, resolved))
        turn.task = task
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        # a streaming client that left never awaits the task: mark its exception as seen
        task.add_done_callback(lambda t: t.cancelled() or t.exception())
        return turn

    async def _run(self, turn: Turn, token: str, graph_input: Any, before: Any,
                   resolved: tuple[str, str, str | None, str | None] | None) -> dict[str, Any]:
        thread_id = turn.thread_id
        config = self._config(thread_id)
        failure: ServiceError | None = None
        try:
            try:
                if turn.events is None:
                    await asyncio.wait_for(self.graph.ainvoke(graph_input, config), self.limits.run_timeout_s)
                else:
                    await asyncio.wait_for(self._stream(turn, graph_input, config), self.limits.run_timeout_s)
            except asyncio.TimeoutError:
                failure = ServiceError(504, "run_timeout",
                                       f"the run on thread {thread_id!r} exceeded {self.limits.run_timeout_s:g}s "
                                       "and was stopped; the thread keeps its last saved step")
            except DatabaseBusy as exc:
                failure = ServiceError(503, "database_locked", str(exc))
            except DatabaseError as exc:
                failure = ServiceError(503, "database_unavailable", str(exc))
            except CheckpointError as exc:
                code = "database_locked" if "locked" in str(exc) else "database_unavailable"
                failure = ServiceError(503, code, str(exc))
            except GuardError as exc:
                failure = ServiceError(502, "agent_error", f"the run failed: {exc}")
            except Exception as exc:
                log.exception("run on thread %s failed", thread_id)
                failure = ServiceError(502, "agent_error", f"the run failed: {type(exc).__name__}: {exc}")
            snap = await self.snapshot(thread_id)
            status = await self.sync_thread(thread_id, snap, failed=failure is not None, resolved=resolved)
            result = self._result(thread_id, status, before, snap)
            self._observe(result["audit"])
            if failure is not None:
                failure.extra["result"] = result
                raise failure
            return result
        except ServiceError as exc:
            if turn.events is not None:
                turn.events.put_nowait(("error", {"error": exc.code, "message": exc.message}))
            raise
        except Exception as exc:
            if turn.events is not None:
                turn.events.put_nowait(("error", {"error": "internal", "message": str(exc)}))
            raise
        finally:
            try:
                await self.store.release_lease(thread_id, token)
            finally:
                if turn.events is not None:
                    turn.events.put_nowait(None)

    async def _stream(self, turn: Turn, graph_input: Any, config: dict[str, Any]) -> None:
        q = turn.events
        assert q is not None
        async for mode, chunk in self.graph.astream(graph_input, config,
                                                    stream_mode=["messages", "custom", "updates"]):
            if mode == "messages":
                msg, meta = chunk
                if isinstance(msg, AIMessageChunk) and meta.get("langgraph_node") == "agent":
                    text = content_to_text(msg.content)
                    if text:
                        q.put_nowait(("token", {"text": text, "message_id": msg.id}))
            elif mode == "custom":
                if isinstance(chunk, dict) and chunk.get("type") == "guard":
                    q.put_nowait(("guard", {k: v for k, v in chunk.items() if k != "type"}))
                else:
                    q.put_nowait(("custom", chunk))
            elif mode == "updates":
                for node, update in (chunk or {}).items():
                    if node == "__interrupt__":
                        for intr in update:
                            val = intr.value if isinstance(intr.value, dict) else {"value": intr.value}
                            q.put_nowait(("verification", val))
                        continue
                    if not isinstance(update, dict):
                        continue
                    for m in update.get("messages", []) or []:
                        if isinstance(m, AIMessage) and m.tool_calls:
                            for c in m.tool_calls:
                                q.put_nowait(("tool_call", {"id": c["id"], "name": c["name"], "args": c["args"]}))
                        elif isinstance(m, ToolMessage):
                            q.put_nowait(("tool_result", message_json(m)))
                        elif isinstance(m, AIMessage):
                            q.put_nowait(("message", message_json(m)))

    def _result(self, thread_id: str, status: str, before: Any, snap: Any) -> dict[str, Any]:
        old = (getattr(before, "values", None) or {})
        new = snap.values or {}
        seen = {m.id for m in old.get("messages", [])}
        old_audit = len(old.get("audit", []))
        pending = [{"id": vid, "thread_id": thread_id, "status": "pending", "payload": p}
                   for vid, _, p in self.interrupts(snap)]
        out: dict[str, Any] = {
            "thread_id": thread_id,
            "status": status,
            "messages": [message_json(m) for m in new.get("messages", []) if m.id not in seen],
            "audit": list(new.get("audit", []))[old_audit:],
        }
        if pending:
            out["verification"] = pending[0]
        return out

    def _observe(self, audit: list[dict[str, Any]]) -> None:
        for e in audit:
            if e.get("event") == "verification_answered":
                continue
            self.metrics.decisions.labels(source=e.get("source") or "?", label=e.get("label") or "none",
                                          decision=e.get("decision") or e.get("outcome") or "?").inc()
            if e.get("latency_ms") is not None:
                self.metrics.screen_latency.labels(source=e.get("source") or "?").observe(e["latency_ms"] / 1000.0)

    # -- screening ---------------------------------------------------------------------

    async def screen(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        assert self.guard is not None
        rulings = await self.guard.arule(items)
        records = [r.as_record() for r in rulings]
        for r in records:
            self.metrics.decisions.labels(source=r["source"], label=r["label"], decision=r["decision"]).inc()
            self.metrics.screen_latency.labels(source=r["source"]).observe(r["latency_ms"] / 1000.0)
        return records
