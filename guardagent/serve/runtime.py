"""Build the agent the service serves: model, tools and policy from a :class:`ServeConfig`.

Heavy or optional dependencies are imported only when the config asks for them: ``langchain``
for provider models, ``guardagent.chat`` (transformers) for a local model.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any, Callable

from langchain_core.language_models import BaseChatModel
from langchain_core.tools import BaseTool

from guardagent.policy import GuardPolicy, ToolPrivileges
from guardagent.serve.config import ConfigError, ServeConfig


def import_object(spec: str, *, what: str) -> Any:
    """Resolve ``"package.module:attr.sub"``; errors say which config key was wrong."""
    mod_name, _, attr = spec.partition(":")
    if not mod_name or not attr:
        raise ConfigError(f"{what}: {spec!r} is not an import path 'module:attr'")
    try:
        obj: Any = importlib.import_module(mod_name)
    except Exception as exc:
        raise ConfigError(f"{what}: cannot import module {mod_name!r} ({type(exc).__name__}: {exc})") from None
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ConfigError(f"{what}: module {mod_name!r} has no attribute {attr!r}") from None
    return obj


def build_model(config: ServeConfig) -> BaseChatModel:
    m = config.model
    if m.kind == "scripted":
        from guardagent.scripted import ScriptedChatModel, demo_agent

        script: Callable[..., Any] = demo_agent
        if m.script:
            script = import_object(m.script, what="model.script")
            if not callable(script):
                raise ConfigError(f"model.script: {m.script!r} is not callable")
        return ScriptedChatModel(script=script)
    if m.kind == "provider":
        try:
            from langchain.chat_models import init_chat_model
        except ImportError as exc:
            raise ConfigError(f"model.kind=provider needs the 'langchain' package ({exc})") from None
        try:
            return init_chat_model(m.name, **m.options)
        except Exception as exc:
            raise ConfigError(f"model.name: cannot build chat model {m.name!r}: {type(exc).__name__}: {exc}") from None
    if m.kind == "local":
        try:
            from guardagent.chat import load_policy_model
        except ImportError as exc:
            raise ConfigError(
                f"model.kind=local needs guardagent.chat and its extras ({exc}): pip install 'guardagent[train]'"
            ) from None
        try:
            # a `guardagent train` run directory, a PEFT adapter or a plain model directory
            return load_policy_model(m.path, **m.options)
        except Exception as exc:
            raise ConfigError(f"model.path: cannot load local model {m.path!r}: {exc}") from None
    # kind == "import"
    obj = import_object(m.target, what="model.target")  # type: ignore[arg-type]
    if not isinstance(obj, BaseChatModel) and callable(obj):
        obj = obj(**m.options)
    if not isinstance(obj, BaseChatModel):
        raise ConfigError(f"model.target: {m.target!r} is not a chat model (got {type(obj).__name__})")
    return obj


def _as_tools(obj: Any, spec: str) -> list[BaseTool]:
    from langchain_core.tools import tool as make_tool

    if isinstance(obj, BaseTool):
        return [obj]
    if isinstance(obj, (list, tuple)):
        out: list[BaseTool] = []
        for x in obj:
            out.extend(_as_tools(x, spec))
        return out
    if callable(obj):
        try:
            return [make_tool(obj)]
        except Exception as exc:
            raise ConfigError(f"tools: cannot make a tool of {spec!r}: {exc}") from None
    raise ConfigError(f"tools: {spec!r} is not a tool, a function or a list of them")


def build_tools(config: ServeConfig) -> list[BaseTool]:
    tools: list[BaseTool] = []
    for spec in config.tools:
        if spec == "demo":
            from guardagent.scripted import DemoToolbox

            tools.extend(DemoToolbox().tools)
        else:
            tools.extend(_as_tools(import_object(spec, what="tools"), spec))
    names = [t.name for t in tools]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ConfigError(f"tools: several tools are named {dup}")
    return tools


def demo_policy() -> GuardPolicy:
    """The default policy plus the demo tools' privileges (money, deletion, mail need a human)."""
    from guardagent.scripted import DEMO_FORBIDDEN, DEMO_SENSITIVE

    base = GuardPolicy.default()
    return base.model_copy(update={"tools": ToolPrivileges(sensitive=list(DEMO_SENSITIVE),
                                                           forbidden=list(DEMO_FORBIDDEN))})


def build_policy(config: ServeConfig) -> GuardPolicy:
    p = config.policy
    if p is None:
        return demo_policy() if "demo" in config.tools else GuardPolicy.default()
    if isinstance(p, dict):
        return GuardPolicy.from_dict(p, origin="config policy")
    return GuardPolicy.load(Path(p))


def run_imports(config: ServeConfig) -> None:
    for i, name in enumerate(config.imports):
        try:
            importlib.import_module(name)
        except Exception as exc:
            raise ConfigError(f"imports.{i}: cannot import {name!r} ({type(exc).__name__}: {exc})") from None
