"""The chatbot backend: a guarded LangGraph agent behind an HTTP API (``guardagent serve``).

Needs the ``[serve]`` extra (FastAPI, uvicorn, prometheus-client, the Postgres checkpointer).
"""

from guardagent.serve.config import ConfigError, ServeConfig

__all__ = ["ConfigError", "ServeConfig", "Service", "create_app"]


def __getattr__(name: str):
    if name == "create_app":
        from guardagent.serve.app import create_app

        return create_app
    if name == "Service":
        from guardagent.serve.service import Service

        return Service
    raise AttributeError(name)
