"""A thread paused at verification survives its process: SQLite by default, Postgres too."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage

from guardagent.graph import build_guarded_graph
from guardagent.persist import CheckpointError, open_checkpointer
from guardagent.scripted import ScriptedChatModel

HERE = Path(__file__).parent
PG = os.environ.get("GUARDAGENT_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def agent_proc(*args: str) -> dict:
    out = subprocess.run([sys.executable, str(HERE / "proc_agent.py"), *args], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("approved", ["yes", "no"])
def test_sqlite_pause_survives_process_restart(tmp_path, approved):
    db = str(tmp_path / "threads.db")
    first = agent_proc("start", db, "thread-1")
    assert first["status"] == "awaiting_verification"
    assert first["pending"][0]["tool_name"] == "pay"
    assert not Path(db + ".calls").exists()  # the process ended before anything ran
    second = agent_proc("resume", db, "thread-1", approved)
    assert second["status"] == "completed"
    ran = Path(db + ".calls").read_text() if Path(db + ".calls").exists() else ""
    assert (ran == "pay bob 7\n") is (approved == "yes")
    assert ("paid" in second["last"]) is (approved == "yes")


def _pg_available() -> str | None:
    try:
        import psycopg

        with psycopg.connect(PG, connect_timeout=3):
            return None
    except Exception as exc:  # pragma: no cover - depends on the machine
        return f"no PostgreSQL server answers at {PG}: {exc}"


@pytest.mark.postgres
def test_postgres_pause_in_one_process_resume_in_another():
    reason = _pg_available()
    if reason:
        pytest.skip(reason)
    thread = f"pg-{uuid.uuid4().hex[:10]}"
    first = agent_proc("start", PG, thread)
    assert first["status"] == "awaiting_verification"
    second = agent_proc("resume", PG, thread, "yes")
    assert second["status"] == "completed" and "paid" in second["last"]


def test_locked_sqlite_db_is_a_clear_error(tmp_path, kw_policy):
    db = tmp_path / "locked.db"
    saver = open_checkpointer(str(db), timeout=0.2)
    g = build_guarded_graph(ScriptedChatModel(responses=[AIMessage("ok")]), [], kw_policy, checkpointer=saver)
    cfg = {"configurable": {"thread_id": "L"}}
    assert g.invoke({"messages": [("user", "first")]}, cfg)["status"] == "completed"
    blocker = sqlite3.connect(db)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(CheckpointError, match="locked"):
            g.invoke({"messages": [("user", "second")]}, cfg)
    finally:
        blocker.rollback()
        blocker.close()
    # nothing was lost: the first exchange is intact and the thread goes on
    out = g.invoke({"messages": [("user", "third")]}, cfg)
    texts = [m.content for m in out["messages"]]
    assert texts[:2] == ["first", "ok"] and texts[-1] == "ok"


@pytest.mark.parametrize("spec,match", [
    ("mysql://x", "unsupported checkpointer"),
    ("sqlite://relative.db", "bad sqlite address"),
])
def test_bad_checkpointer_spec(spec, match):
    with pytest.raises(CheckpointError, match=match):
        open_checkpointer(spec)


def test_checkpoint_path_is_directory(tmp_path):
    with pytest.raises(CheckpointError, match="is a directory"):
        open_checkpointer(str(tmp_path))
