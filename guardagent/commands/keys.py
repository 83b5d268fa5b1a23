"""``guardagent keys``: create, list and revoke the service's API keys.

A key is printed once, at creation; only its SHA-256 hash is stored.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("keys", help="manage API keys of the chatbot backend")
    sub = p.add_subparsers(dest="keys_command", metavar="ACTION")

    def db_arg(q: argparse.ArgumentParser) -> None:
        q.add_argument("--db", default=None,
                       help="the service database (default: the config's, $GUARDAGENT_DB, "
                            "or sqlite:///guardagent-serve.db)")
        q.add_argument("--config", default=None, help="service config whose 'db' to use")

    c = sub.add_parser("create", help="create a key and print it (shown only once)")
    c.add_argument("--role", required=True, choices=["user", "approver", "admin"])
    c.add_argument("--name", default=None, help="a label, e.g. who holds the key")
    c.add_argument("--json", action="store_true", help="print {key, key_id, role, name} as JSON")
    db_arg(c)
    c.set_defaults(func=_create)

    ls = sub.add_parser("list", help="list keys (ids, roles, names; never the keys)")
    db_arg(ls)
    ls.set_defaults(func=_list)

    r = sub.add_parser("revoke", help="revoke a key by its id")
    r.add_argument("key_id")
    db_arg(r)
    r.set_defaults(func=_revoke)

    p.set_defaults(func=lambda a: (p.print_help(), 2)[1])


def _db_url(args: argparse.Namespace) -> str:
    from guardagent.serve.config import ServeConfig

    cfg = ServeConfig.load(args.config) if args.config else ServeConfig()
    if args.db:
        cfg = ServeConfig.from_dict({**cfg.model_dump(), "db": args.db}, origin="command line")
    return cfg.database_url()


async def _with_store(url: str, fn):
    from guardagent.serve.db import make_database
    from guardagent.serve.store import Store

    db = make_database(url, pool_size=1)
    await db.open()
    try:
        store = Store(db)
        await store.setup()
        return await fn(store)
    finally:
        await db.close()


def _create(args: argparse.Namespace) -> int:
    key, who = asyncio.run(_with_store(_db_url(args), lambda s: s.create_key(args.role, args.name)))
    if args.json:
        print(json.dumps({"key": key, "key_id": who.key_id, "role": who.role, "name": who.name}))
    else:
        print(key)
        print(f"(key id {who.key_id}, role {who.role}; store it now: it is not shown again)", file=sys.stderr)
    return 0


def _list(args: argparse.Namespace) -> int:
    rows = asyncio.run(_with_store(_db_url(args), lambda s: s.list_keys()))
    if not rows:
        print("no keys", file=sys.stderr)
    for r in rows:
        created = dt.datetime.fromtimestamp(r["created_at"], dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")
        state = "revoked" if r["revoked_at"] else "active"
        print(f"{r['key_id']}\t{r['role']}\t{state}\t{created}\t{r['name'] or ''}")
    return 0


def _revoke(args: argparse.Namespace) -> int:
    ok = asyncio.run(_with_store(_db_url(args), lambda s: s.revoke_key(args.key_id)))
    if not ok:
        print(f"guardagent keys: no active key with id {args.key_id!r}", file=sys.stderr)
        return 1
    print(f"revoked {args.key_id}", file=sys.stderr)
    return 0
