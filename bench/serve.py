"""Load test of ``guardagent serve`` on loopback: N concurrent clients for a bounded time.

Starts the real server (scripted demo agent, demo tools, rules screen) once per backend —
SQLite, and Postgres where a server answers — drives it with N clients over 127.0.0.1, and
prints requests/s and p50/p99 latency side by side.

Each client owns a thread and sends benign messages that make the agent call a tool (screened
input, action and result); every ``--verify-every``-th message asks for a money transfer, which
pauses at verification and is then approved by an approver key (two requests). Threads are
replaced every ``--turns`` messages so histories stay short.

    python bench/serve.py --clients 8 --duration 15
    python bench/serve.py --backends postgres --processes 2 --pg postgresql://postgres@127.0.0.1/test
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BENIGN = ["what is my balance?", "hello, how are you?", "search the news about python", "read the file notes.txt"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pg_reason(dsn: str) -> str | None:
    try:
        import psycopg

        with psycopg.connect(dsn, connect_timeout=3):
            return None
    except Exception as exc:
        return str(exc).strip().splitlines()[0]


class Backend:
    def __init__(self, name: str, db: str, cleanup=None):
        self.name, self.db, self.cleanup = name, db, cleanup


def sqlite_backend(tmp: Path) -> Backend:
    return Backend("sqlite", f"sqlite:///{tmp / 'bench.db'}")


def postgres_backend(dsn: str) -> Backend:
    import psycopg

    schema = f"ga_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')

    def drop() -> None:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("SET lock_timeout = '20s'")
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')

    sep = "&" if "?" in dsn else "?"
    return Backend("postgres", f"{dsn}{sep}options=-csearch_path%3D{schema}", drop)


def make_keys(db: str) -> tuple[str, str]:
    from guardagent.serve.db import make_database
    from guardagent.serve.store import Store

    async def go():
        d = make_database(db, pool_size=2)
        await d.open()
        try:
            s = Store(d)
            await s.setup()
            return (await s.create_key("user", "bench"))[0], (await s.create_key("approver", "bench"))[0]
        finally:
            await d.close()

    return asyncio.run(go())


def start_servers(backend: Backend, n: int, tmp: Path, policy: str | None) -> list[tuple[subprocess.Popen, str]]:
    cfg: dict = {"db": backend.db, "log_level": "warning", "host": "127.0.0.1",
                 "limits": {"lock_wait_s": 30, "run_timeout_s": 60}}
    cfg["policy"] = policy or {
        "sources": {s: {"screens": ["rules"]} for s in ("user", "action", "tool")},
        "tools": {"sensitive": ["send_money", "delete_file", "send_email"], "forbidden": ["run_shell"]},
    }
    procs = []
    for i in range(n):
        port = free_port()
        path = tmp / f"{backend.name}-{i}.json"
        path.write_text(json.dumps({**cfg, "port": port}))
        log = (tmp / f"{backend.name}-{i}.log").open("wb")
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
        p = subprocess.Popen([sys.executable, "-m", "guardagent.cli", "serve", "--config", str(path)],
                             stdout=log, stderr=subprocess.STDOUT, env=env)
        procs.append((p, f"http://127.0.0.1:{port}"))
    deadline = time.monotonic() + 90
    try:
        for p, url in procs:
            while True:
                if p.poll() is not None:
                    raise SystemExit(f"server for {backend.name} exited ({p.returncode}):\n{_tail(tmp, backend)}")
                try:
                    if httpx.get(url + "/readyz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit(f"server for {backend.name} did not start in 90 s:\n{_tail(tmp, backend)}")
                time.sleep(0.1)
    except BaseException:
        stop_servers(procs)
        raise
    return procs


def _tail(tmp: Path, backend: Backend) -> str:
    return "\n".join(p.read_text(errors="replace")[-1500:] for p in sorted(tmp.glob(f"{backend.name}-*.log")))


def stop_servers(procs) -> None:
    for p, _ in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p, _ in procs:
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()


async def drive(urls: list[str], user: str, approver: str, clients: int, duration: float, turns: int,
                verify_every: int) -> dict:
    lat: list[float] = []
    errors: dict[str, int] = {}
    statuses: dict[str, int] = {}
    samples: dict[str, str] = {}
    hu = {"Authorization": f"Bearer {user}"}
    ha = {"Authorization": f"Bearer {approver}"}
    stop_at = time.monotonic() + duration

    async def timed(c: httpx.AsyncClient, method: str, url: str, **kw) -> httpx.Response | None:
        t0 = time.perf_counter()
        try:
            r = await c.request(method, url, **kw)
        except httpx.HTTPError as exc:
            errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
            return None
        lat.append(time.perf_counter() - t0)
        if r.status_code >= 400:
            errors[str(r.status_code)] = errors.get(str(r.status_code), 0) + 1
            samples.setdefault(str(r.status_code), r.text[:300])
        return r

    async def client(i: int) -> None:
        base = urls[i % len(urls)]
        async with httpx.AsyncClient(base_url=base, timeout=60) as c:
            n = 0
            tid = None
            while time.monotonic() < stop_at:
                if tid is None or n % turns == 0:
                    r = await timed(c, "POST", "/v1/threads", headers=hu)
                    if r is None or r.status_code != 201:
                        continue
                    tid = r.json()["thread_id"]
                n += 1
                if verify_every and n % verify_every == 0:
                    r = await timed(c, "POST", f"/v1/threads/{tid}/messages",
                                    json={"content": f"transfer {n} EUR to Bob"}, headers=hu)
                    if r is not None and r.status_code == 200 and r.json().get("verification"):
                        vid = r.json()["verification"]["id"]
                        r = await timed(c, "POST", f"/v1/verifications/{vid}", json={"approved": True}, headers=ha)
                else:
                    r = await timed(c, "POST", f"/v1/threads/{tid}/messages",
                                    json={"content": BENIGN[n % len(BENIGN)]}, headers=hu)
                if r is not None and r.status_code == 200:
                    s = r.json().get("status", "?")
                    statuses[s] = statuses.get(s, 0) + 1

    t0 = time.monotonic()
    await asyncio.gather(*[client(i) for i in range(clients)])
    wall = time.monotonic() - t0
    lat.sort()

    def pct(p: float) -> float:
        return lat[min(len(lat) - 1, int(p * len(lat)))] * 1000 if lat else float("nan")

    return {"requests": len(lat), "rps": len(lat) / wall, "p50_ms": pct(0.50), "p99_ms": pct(0.99),
            "errors": errors, "error_samples": samples, "statuses": statuses, "wall_s": wall}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--duration", type=float, default=10.0, help="seconds per backend (bounded)")
    ap.add_argument("--backends", default="sqlite,postgres")
    ap.add_argument("--processes", type=int, default=1, help="server processes per backend (clients spread)")
    ap.add_argument("--pg", default=os.environ.get("GUARDAGENT_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test"))
    ap.add_argument("--turns", type=int, default=10, help="messages per thread before a new thread")
    ap.add_argument("--verify-every", type=int, default=10, help="every k-th message pauses for approval (0: never)")
    ap.add_argument("--policy", default=None, help="policy file for the server (default: rules screen, demo privileges)")
    ap.add_argument("--json", action="store_true", help="print the results as JSON too")
    args = ap.parse_args(argv)
    if args.duration > 600:
        ap.error("--duration is capped at 600 s")

    rows = []
    for name in [b.strip() for b in args.backends.split(",") if b.strip()]:
        with tempfile.TemporaryDirectory(prefix=f"ga-bench-{name}-") as td:
            tmp = Path(td)
            if name == "sqlite":
                backend = sqlite_backend(tmp)
            elif name == "postgres":
                why = pg_reason(args.pg)
                if why:
                    print(f"postgres: skipped, no server answers at {args.pg}: {why}", file=sys.stderr)
                    continue
                backend = postgres_backend(args.pg)
            else:
                ap.error(f"unknown backend {name!r} (sqlite, postgres)")
            try:
                user, approver = make_keys(backend.db)
                procs = start_servers(backend, args.processes, tmp, args.policy)
                try:
                    res = asyncio.run(drive([u for _, u in procs], user, approver, args.clients, args.duration,
                                            args.turns, args.verify_every))
                finally:
                    stop_servers(procs)
            finally:
                if backend.cleanup:
                    backend.cleanup()
            rows.append({"backend": name, "processes": args.processes, "clients": args.clients, **res})

    print(f"\nguardagent serve, scripted demo agent, {args.clients} clients, {args.duration:g}s per backend, "
          f"{args.processes} server process(es), loopback")
    print(f"{'backend':<10}{'requests':>10}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}  errors / outcomes")
    for r in rows:
        errs = ", ".join(f"{k}:{v}" for k, v in sorted(r["errors"].items())) or "none"
        outs = ", ".join(f"{k}:{v}" for k, v in sorted(r["statuses"].items()))
        print(f"{r['backend']:<10}{r['requests']:>10}{r['rps']:>10.1f}{r['p50_ms']:>10.1f}{r['p99_ms']:>10.1f}"
              f"  {errs} / {outs}")
    if args.json:
        print(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
