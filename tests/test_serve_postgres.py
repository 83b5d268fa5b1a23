"""The service on PostgreSQL, for real: in-process, and two server processes sharing threads.

Each test run works in its own schema (``search_path`` in the DSN) and drops it afterwards.
Set GUARDAGENT_TEST_PG to point elsewhere; without a server these tests skip and say why.
"""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from pathlib import Path

import httpx
import pytest

pytest.importorskip("psycopg")
pytest.importorskip("fastapi")
sys.path.insert(0, str(Path(__file__).parent))

import serve_support  # noqa: E402

from guardagent.serve import ServeConfig, create_app  # noqa: E402

PG = os.environ.get("GUARDAGENT_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
pytestmark = pytest.mark.postgres


def _pg_reason() -> str | None:
    try:
        import psycopg

        with psycopg.connect(PG, connect_timeout=3):
            return None
    except Exception as exc:
        return f"no PostgreSQL server answers at {PG} (set GUARDAGENT_TEST_PG): {exc}"


@pytest.fixture
def pg_dsn():
    reason = _pg_reason()
    if reason:
        pytest.skip(reason)
    import psycopg

    schema = f"ga_serve_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in PG else "?"
    try:
        yield f"{PG}{sep}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(PG, autocommit=True) as conn:
            conn.execute("SET lock_timeout = '20s'")
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


async def test_postgres_in_process_flow(pg_dsn):
    cfg = ServeConfig.from_dict(serve_support.config_dict(pg_dsn))
    app = create_app(cfg)
    async with app.router.lifespan_context(app):
        store = app.state.service.store
        user, _ = await store.create_key("user")
        appr, _ = await store.create_key("approver")
        hu, ha = {"Authorization": f"Bearer {user}"}, {"Authorization": f"Bearer {appr}"}
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
            assert (await c.get("/readyz")).json() == {"status": "ready", "database": "postgres"}
            tid = (await c.post("/v1/threads", headers=hu)).json()["thread_id"]
            r = await c.post(f"/v1/threads/{tid}/messages", json={"content": "transfer 100 EUR to Bob"}, headers=hu)
            vid = r.json()["verification"]["id"]
            assert r.json()["status"] == "awaiting_verification"
            rs = await asyncio.gather(*[c.post(f"/v1/verifications/{vid}", json={"approved": True}, headers=ha)
                                        for _ in range(3)])
            assert sorted(r.status_code for r in rs) == [200, 409, 409]
            done = [r for r in rs if r.status_code == 200][0].json()
            assert done["status"] == "completed"
            view = (await c.get(f"/v1/threads/{tid}", headers=hu)).json()
            assert sum(m["role"] == "tool" for m in view["messages"]) == 1
            assert view["verifications"][0]["status"] == "approved"
    # the tables live in the test schema, next to LangGraph's checkpoint tables
    import psycopg

    with psycopg.connect(pg_dsn) as conn:
        names = {r[0] for r in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()")}
    assert {"ga_keys", "ga_threads", "ga_verifications", "checkpoints", "checkpoint_writes"} <= names


def test_two_server_processes_share_a_thread(pg_dsn, tmp_path):
    cfg = serve_support.config_dict(pg_dsn)
    user_key = serve_support.cli("keys", "create", "--role", "user", "--db", pg_dsn).strip()
    approver_key = serve_support.cli("keys", "create", "--role", "approver", "--db", pg_dsn).strip()
    hu, ha = {"Authorization": f"Bearer {user_key}"}, {"Authorization": f"Bearer {approver_key}"}
    a = serve_support.ServerProcess(cfg, tmp_path)
    b = serve_support.ServerProcess(cfg, tmp_path)
    try:
        # started together: their schema set-up must serialise, not deadlock
        a.launch()
        b.launch()
        a.wait_ready()
        b.wait_ready()
        tid = httpx.post(a.url + "/v1/threads", headers=hu).json()["thread_id"]
        r = httpx.post(f"{a.url}/v1/threads/{tid}/messages", json={"content": "transfer 42 EUR to Dave"},
                       headers=hu, timeout=30)
        assert r.json()["status"] == "awaiting_verification", r.text
        vid = r.json()["verification"]["id"]
        # process B sees the pause and refuses a new message on the paused thread
        assert [v["id"] for v in httpx.get(b.url + "/v1/verifications", headers=ha).json()["verifications"]] == [vid]
        assert httpx.post(f"{b.url}/v1/threads/{tid}/messages", json={"content": "hi"}, headers=hu).status_code == 409
        # B resumes what A paused
        r = httpx.post(f"{b.url}/v1/verifications/{vid}", json={"approved": True, "note": "fine"}, headers=ha,
                       timeout=30)
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "completed"
        assert [m["content"] for m in r.json()["messages"] if m["role"] == "tool"] == ["Transfer completed."]
        # A sees the finished thread and cannot resolve it again
        view = httpx.get(f"{a.url}/v1/threads/{tid}", headers=hu).json()
        assert view["status"] == "completed" and view["messages"][-1]["role"] == "assistant"
        r = httpx.post(f"{a.url}/v1/verifications/{vid}", json={"approved": False}, headers=ha)
        assert r.status_code == 409 and r.json()["error"] == "already_resolved"
        # racing messages from both processes on one thread: serialised, nothing interleaved
        with httpx.Client(timeout=30) as client:
            import concurrent.futures as cf

            with cf.ThreadPoolExecutor(4) as pool:
                futs = [pool.submit(client.post, f"{srv.url}/v1/threads/{tid}/messages",
                                    json={"content": f"note {i}"}, headers=hu)
                        for i, srv in enumerate([a, b, a, b])]
                codes = [f.result().status_code for f in futs]
        assert all(c in (200, 409) for c in codes) and 200 in codes, codes
        view = httpx.get(f"{b.url}/v1/threads/{tid}", headers=hu).json()
        msgs = view["messages"]
        tail = msgs[-2 * codes.count(200):]
        for i in range(0, len(tail), 2):
            assert tail[i]["role"] == "user"
            assert tail[i + 1]["content"] == f"Sure. You said: {tail[i]['content']}"
    finally:
        a.stop()
        b.stop()
