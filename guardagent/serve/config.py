"""Settings of the chatbot backend (``guardagent serve --config FILE``).

A config file is YAML, TOML or JSON, validated by pydantic; an error names the file, the
key and the problem. Every key is optional: an empty config serves the scripted demo agent
with its mocked tools under the default policy, on an SQLite database.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from guardagent.policy import format_validation_error, read_mapping_file
from guardagent.taxonomy import GuardError

#: The embedded default database (relative to the working directory).
DEFAULT_DB = "sqlite:///guardagent-serve.db"
#: Environment variable that names the database when neither --db nor the config does.
DB_ENV = "GUARDAGENT_DB"


class ConfigError(GuardError):
    """The service configuration is invalid; the message names the key and the problem."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ModelConfig(_Strict):
    """Which chat model drives the agent.

    - ``scripted`` (default): the deterministic demo agent (``guardagent.scripted``), or
      ``script: "module:function"`` — a function(messages) -> AIMessage.
    - ``provider``: ``name`` is a LangChain provider string for ``init_chat_model``,
      e.g. ``"openai:gpt-4o-mini"``; ``options`` are passed as keyword arguments.
    - ``local``: a local transformers model through ``guardagent.chat``; ``path`` is a
      directory or hub id (offline), ``options`` go to its loader.
    - ``import``: ``target: "module:attr"``, a chat model object or a factory returning one.
    """

    kind: Literal["scripted", "provider", "local", "import"] = "scripted"
    name: str | None = None
    path: str | None = None
    script: str | None = None
    target: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _needs(self) -> "ModelConfig":
        need = {"provider": "name", "local": "path", "import": "target"}.get(self.kind)
        if need and not getattr(self, need):
            raise ValueError(f"model.kind={self.kind!r} needs model.{need}")
        for key in ("script", "target"):
            val = getattr(self, key)
            if val is not None and ":" not in val:
                raise ValueError(f"model.{key} must be an import path 'module:attr', got {val!r}")
        return self


class Limits(_Strict):
    #: Request bodies larger than this are answered 413.
    max_body_bytes: int = Field(1_000_000, gt=0)
    #: Longest user message accepted (characters); longer is 422.
    max_message_chars: int = Field(32_000, gt=0)
    #: Most items one POST /v1/screen may carry.
    max_screen_items: int = Field(64, gt=0)
    #: LangGraph recursion limit per run.
    recursion_limit: int = Field(40, gt=0)
    #: A run (one message, or one resumed verification) is cancelled after this long.
    run_timeout_s: float = Field(300.0, gt=0)
    #: How long a request waits for another run on the same thread before answering 409.
    lock_wait_s: float = Field(10.0, ge=0)
    #: Seconds a database call waits for a locked SQLite file before answering 503.
    db_timeout_s: float = Field(5.0, gt=0)


class ServeConfig(_Strict):
    """Everything ``guardagent serve`` needs; CLI flags override ``host``, ``port``, ``db``."""

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    #: ``sqlite:///relative.db``, ``sqlite:////abs/path.db`` or ``postgresql://...``.
    db: str | None = None
    model: ModelConfig = Field(default_factory=ModelConfig)
    #: Path to a policy file (YAML/TOML/JSON), or an inline policy mapping. None: the demo
    #: policy (demo tool privileges) for the demo tools, the default policy otherwise.
    policy: str | dict[str, Any] | None = None
    #: ``["demo"]`` (the mocked demo tools) and/or ``"module:attr"`` paths, each a tool,
    #: a function (made into a tool) or a list of them.
    tools: list[str] = Field(default_factory=lambda: ["demo"])
    system_prompt: str | None = None
    #: Modules imported at start-up, e.g. ones that register custom screens.
    imports: list[str] = Field(default_factory=list)
    limits: Limits = Field(default_factory=Limits)
    #: Postgres connections in the service's own pool (the checkpointer has its own pool of 8).
    pool_size: int = Field(4, gt=0)
    log_level: Literal["critical", "error", "warning", "info", "debug"] = "info"

    @field_validator("tools")
    @classmethod
    def _tool_specs(cls, v: list[str]) -> list[str]:
        for i, spec in enumerate(v):
            if spec != "demo" and ":" not in spec:
                raise ValueError(f"item {i}: {spec!r} is neither 'demo' nor an import path 'module:attr'")
        return v

    @field_validator("db")
    @classmethod
    def _db(cls, v: str | None) -> str | None:
        if v is None:
            return v
        from guardagent.serve.db import parse_db_url

        parse_db_url(v)  # raises with a clear message
        return v

    def database_url(self) -> str:
        return self.db or os.environ.get(DB_ENV) or DEFAULT_DB

    @classmethod
    def from_dict(cls, data: Any, *, origin: str = "config") -> "ServeConfig":
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise ConfigError(f"{origin}: top level must be a mapping, got {type(data).__name__}")
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise ConfigError(f"{origin}: invalid serve config\n{format_validation_error(exc)}") from None
        except GuardError as exc:
            raise ConfigError(f"{origin}: {exc}") from None

    @classmethod
    def load(cls, path: str | Path) -> "ServeConfig":
        p = Path(path)
        data = read_mapping_file(p, ConfigError, "config")
        cfg = cls.from_dict(data, origin=str(p))
        # a relative policy path is relative to the config file
        if isinstance(cfg.policy, str) and not Path(cfg.policy).is_absolute():
            cfg = cfg.model_copy(update={"policy": str((p.parent / cfg.policy).resolve())})
        return cfg
