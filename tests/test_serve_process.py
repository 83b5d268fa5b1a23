"""The real server process: a paused thread survives SIGKILL and a restart (SQLite)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import httpx
import pytest

pytest.importorskip("uvicorn")
sys.path.insert(0, str(Path(__file__).parent))

import serve_support  # noqa: E402


def test_pending_verification_survives_kill9_and_restart(tmp_path):
    db = f"sqlite:///{tmp_path / 'serve.db'}"
    cfg = serve_support.config_dict(db, model={"kind": "scripted", "script": "serve_support:slow_script"})
    user_key = serve_support.cli("keys", "create", "--role", "user", "--db", db).strip()
    approver_key = serve_support.cli("keys", "create", "--role", "approver", "--db", db).strip()
    hu = {"Authorization": f"Bearer {user_key}"}
    ha = {"Authorization": f"Bearer {approver_key}"}

    server = serve_support.ServerProcess(cfg, tmp_path).start()
    try:
        # a streaming client that hangs up mid-run does not stop the run: it finishes and is saved
        tid0 = httpx.post(server.url + "/v1/threads", headers=hu).json()["thread_id"]
        with httpx.stream("POST", f"{server.url}/v1/threads/{tid0}/messages", json={"content": "SLOW hi"},
                          headers={**hu, "Accept": "text/event-stream"}, timeout=30) as r:
            assert r.status_code == 200
            first = next(r.iter_lines())
            assert first == "event: start"
        deadline = time.monotonic() + 20
        while (view := httpx.get(f"{server.url}/v1/threads/{tid0}", headers=hu).json())["status"] != "completed":
            assert time.monotonic() < deadline, view
            time.sleep(0.2)
        assert view["messages"][-1]["content"] == "Sure. You said: SLOW hi"

        tid = httpx.post(server.url + "/v1/threads", headers=hu).json()["thread_id"]
        r = httpx.post(f"{server.url}/v1/threads/{tid}/messages", json={"content": "transfer 250 EUR to Carol"},
                       headers=hu, timeout=30)
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "awaiting_verification"
        vid = r.json()["verification"]["id"]
    finally:
        server.kill9()
    assert server.proc.returncode == -9

    again = serve_support.ServerProcess(cfg, tmp_path, port=serve_support.free_port())
    with again:
        pending = httpx.get(again.url + "/v1/verifications?status=pending", headers=ha).json()["verifications"]
        assert [v["id"] for v in pending] == [vid]
        assert pending[0]["payload"]["tool_args"] == {"recipient": "Carol", "amount": "250"}
        view = httpx.get(f"{again.url}/v1/threads/{tid}", headers=hu).json()
        assert view["status"] == "awaiting_verification"
        r = httpx.post(f"{again.url}/v1/verifications/{vid}", json={"approved": True}, headers=ha, timeout=30)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["status"] == "completed"
        assert [m["content"] for m in body["messages"] if m["role"] == "tool"] == ["Transfer completed."]
        assert httpx.post(f"{again.url}/v1/verifications/{vid}", json={"approved": True}, headers=ha).status_code == 409
