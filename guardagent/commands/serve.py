"""``guardagent serve``: the chatbot backend (FastAPI + uvicorn) around the guarded graph."""

from __future__ import annotations

import argparse
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "serve",
        help="run the chatbot backend (HTTP API with approvals, auth, streaming)",
        description="Serve a guarded agent over HTTP. Create an API key first: "
                    "guardagent keys create --role user --db DB. See docs/serve.md.",
    )
    p.add_argument("--host", default=None, help="interface to bind (default 127.0.0.1, or the config's host)")
    p.add_argument("--port", type=int, default=None, help="port (default 8000, or the config's port)")
    p.add_argument("--db", default=None,
                   help="sqlite:///PATH.db (default sqlite:///guardagent-serve.db, or $GUARDAGENT_DB) "
                        "or postgresql://USER@HOST/DB to share threads between processes")
    p.add_argument("--config", default=None, help="YAML/TOML/JSON service config (model, policy, tools, limits)")
    p.add_argument("--log-level", default=None, choices=["critical", "error", "warning", "info", "debug"])
    p.set_defaults(func=run)


def load_config(args: argparse.Namespace):
    from guardagent.serve.config import ServeConfig

    cfg = ServeConfig.load(args.config) if args.config else ServeConfig()
    update = {k: v for k, v in (("host", args.host), ("port", args.port), ("db", getattr(args, "db", None)),
                                ("log_level", getattr(args, "log_level", None))) if v is not None}
    if update:
        cfg = ServeConfig.from_dict({**cfg.model_dump(), **update}, origin="command line")
    return cfg


def run(args: argparse.Namespace) -> int:
    try:
        import uvicorn
    except ImportError as exc:
        print(f"guardagent serve: uvicorn is missing ({exc}); pip install 'guardagent[serve]'", file=sys.stderr)
        return 2
    import asyncio

    from guardagent.serve.app import create_app
    from guardagent.serve.db import parse_db_url
    from guardagent.serve.service import Service

    cfg = load_config(args)
    url = parse_db_url(cfg.database_url())

    async def main() -> bool:
        service = Service(cfg)
        await service.start()  # errors (bad config, locked or unreachable DB) surface here, clearly
        try:
            app = create_app(cfg, service=service, manage_lifespan=False)
            print(f"guardagent serve: http://{cfg.host}:{cfg.port}  database={url.redacted()}  "
                  f"model={cfg.model.kind}", file=sys.stderr, flush=True)
            server = uvicorn.Server(uvicorn.Config(app, host=cfg.host, port=cfg.port, log_level=cfg.log_level,
                                                   lifespan="off", timeout_graceful_shutdown=15))
            await server.serve()
            return bool(server.started)
        finally:
            await service.stop()

    return 0 if asyncio.run(main()) else 1
