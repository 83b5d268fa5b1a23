"""``TransformersChatModel``: a LangChain chat model over a local transformers causal LM.

It renders the conversation with the Qwen2/Qwen2.5 tool-calling chat format, generates, and
parses the turn: ``<tool_call>{json}</tool_call>`` becomes ``tool_calls``,
``<tool_check>reason</tool_check>`` becomes ``additional_kwargs["tool_check"]`` (the guarded
graph routes it to human verification) and ``<think>`` blocks go to
``additional_kwargs["reasoning"]``, never into ``content``. It drops into
``build_guarded_graph`` like any chat model.

With a :class:`Transcript` attached (the RL sandbox does this), the model keeps one token
sequence per episode: the prompt, each generated turn (trainable) and the environment's
text between turns (masked), exactly the ids GRPO needs.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Optional, Sequence

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import ConfigDict, Field

from guardagent.chat.engine import Engine, GenOptions, Generation
from guardagent.chat.template import (
    GUARD_SYSTEM,
    parse_turn,
    render_chat,
    render_continuation,
)
from guardagent.taxonomy import GuardError


class ChatModelError(GuardError):
    """A policy model could not be loaded or run; the message names the path and the problem."""


class Transcript:
    """One episode's token sequence: prompt ids, then generated (mask 1) and environment
    (mask 0) segments. ``text_segments`` keeps the same split as text for inspection."""

    def __init__(self) -> None:
        self.prompt_ids: list[int] = []
        self.completion_ids: list[int] = []
        self.mask: list[int] = []
        self.logprobs: list[float] = []
        self.turns: list[dict[str, Any]] = []
        self.text_segments: list[tuple[str, int]] = []
        self._n_seen = 0
        self._truncated = False

    @property
    def started(self) -> bool:
        return bool(self.prompt_ids)

    def context(self, engine: Engine, messages: Sequence[BaseMessage], tools: Sequence[dict], system: str | None) -> list[int]:
        """Ids to generate from, appending what the environment added since the last turn."""
        if not self.started:
            text = render_chat(messages, tools, system=system)
            self.prompt_ids = engine.encode(text)
            self.text_segments.append((text, 0))
        else:
            new = self._new_messages(messages)
            text = render_continuation(new, truncated=self._truncated)
            ids = engine.encode(text)
            self.completion_ids += ids
            self.mask += [0] * len(ids)
            self.logprobs += [0.0] * len(ids)
            self.text_segments.append((text, 0))
        return self.prompt_ids + self.completion_ids

    def _new_messages(self, messages: Sequence[BaseMessage]) -> list[BaseMessage]:
        msgs = list(messages)
        k = self._n_seen
        if 0 < k <= len(msgs) and isinstance(msgs[k - 1], AIMessage):
            return msgs[k:]
        # the graph rewrote history: fall back to what follows the last assistant turn
        for i in range(len(msgs) - 1, -1, -1):
            if isinstance(msgs[i], AIMessage):
                return msgs[i + 1 :]
        return msgs

    def add_turn(self, engine: Engine, gen: Generation, n_messages_in: int, parsed_text: str) -> None:
        ids = list(gen.ids)
        self.completion_ids += ids
        self.mask += [1] * len(ids)
        self.logprobs += list(gen.logprobs)
        self.text_segments.append((engine.decode(ids), 1))
        self._n_seen = n_messages_in + 1
        self._truncated = not gen.finished
        self.turns.append({"text": parsed_text, "finished": gen.finished, "n_tokens": len(ids)})


class TransformersChatModel(BaseChatModel):
    """A local causal LM (Qwen2/Qwen2.5 chat format) as a LangChain chat model."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    engine: Any = Field(exclude=True)
    model_name: str = "local"
    max_new_tokens: int = 256
    temperature: float = 0.0
    top_p: float = 1.0
    #: Used when the conversation has no system message.
    system_prompt: Optional[str] = GUARD_SYSTEM
    #: Tools bound with :meth:`bind_tools` (OpenAI function schemas).
    tools: list[dict[str, Any]] = Field(default_factory=list)
    #: When set, every call appends to this token transcript (RL rollouts, SFT rendering).
    transcript: Any = Field(default=None, exclude=True)

    @property
    def _llm_type(self) -> str:
        return "guardagent-transformers"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": self.model_name, "temperature": self.temperature, "max_new_tokens": self.max_new_tokens}

    # -- LangChain API ---------------------------------------------------------------

    def bind_tools(self, tools: Sequence[Any], *, tool_choice: Any = None, **kwargs: Any) -> "TransformersChatModel":
        """Return a copy that renders ``tools`` into the system prompt (Qwen ``# Tools`` block)."""
        schemas = [_tool_schema(t) for t in tools]
        return self.model_copy(update={"tools": schemas})

    def with_options(self, **updates: Any) -> "TransformersChatModel":
        return self.model_copy(update=updates)

    def _options(self, kwargs: dict[str, Any]) -> GenOptions:
        return GenOptions(
            max_new_tokens=int(kwargs.get("max_new_tokens", self.max_new_tokens)),
            temperature=float(kwargs.get("temperature", self.temperature)),
            top_p=float(kwargs.get("top_p", self.top_p)),
        )

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: Optional[list[str]] = None,
        run_manager: Optional[CallbackManagerForLLMRun] = None,
        **kwargs: Any,
    ) -> ChatResult:
        tools = [_tool_schema(t) for t in kwargs["tools"]] if kwargs.get("tools") else self.tools
        opts = self._options(kwargs)
        system = None if _has_system(messages) else self.system_prompt
        if self.transcript is not None:
            ids = self.transcript.context(self.engine, messages, tools, system)
        else:
            ids = self.engine.encode(render_chat(messages, tools, system=system))
        gen = self.engine.submit(ids, opts)
        msg = self._to_message(gen, tools, prompt_tokens=len(ids))
        if self.transcript is not None:
            self.transcript.add_turn(self.engine, gen, len(messages), msg.response_metadata["raw_text"])
        return ChatResult(generations=[ChatGeneration(message=msg)])

    def _to_message(self, gen: Generation, tools: Sequence[dict], prompt_tokens: int) -> AIMessage:
        text = self.engine.tokenizer.decode(gen.ids, skip_special_tokens=True)
        names = [t["function"]["name"] for t in tools if "function" in t]
        parsed = parse_turn(text, tool_names=names if tools else None)
        if not gen.finished:
            parsed.problems.append("turn cut at max_new_tokens")
        msg = parsed.to_message(
            finish_reason="stop" if gen.finished else "length",
            model_name=self.model_name,
        )
        msg.usage_metadata = {
            "input_tokens": prompt_tokens,
            "output_tokens": len(gen.ids),
            "total_tokens": prompt_tokens + len(gen.ids),
        }
        return msg

    def batch(self, inputs: list[Any], config: Any = None, *, return_exceptions: bool = False, **kwargs: Any) -> list[Any]:
        """Run ``inputs`` concurrently so the engine generates them as one padded batch."""
        if not inputs:
            return []
        from langchain_core.runnables.config import get_config_list

        configs = get_config_list(config, len(inputs))
        configs = [{**c, "max_concurrency": len(inputs)} for c in configs]
        prev = self.engine.expected
        self.engine.expected = len(inputs)
        try:
            return super().batch(inputs, configs, return_exceptions=return_exceptions, **kwargs)
        finally:
            self.engine.expected = prev

    # -- construction ----------------------------------------------------------------

    @classmethod
    def from_model(cls, model: Any, tokenizer: Any, **kwargs: Any) -> "TransformersChatModel":
        return cls(engine=Engine(model, tokenizer), **kwargs)

    @classmethod
    def from_pretrained(
        cls,
        path_or_id: str | os.PathLike,
        adapter: str | os.PathLike | None = None,
        *,
        device: str | None = None,
        dtype: str | None = None,
        trust_remote_code: bool = False,
        **kwargs: Any,
    ) -> "TransformersChatModel":
        """Load a base model (a local directory or, where the hub is reachable, a hub id) and
        an optional PEFT/LoRA adapter directory. Errors name the path and what is wrong."""
        model, tok = load_model_and_tokenizer(
            path_or_id, adapter, device=device, dtype=dtype, trust_remote_code=trust_remote_code
        )
        name = str(adapter or path_or_id)
        return cls(engine=Engine(model, tok), model_name=kwargs.pop("model_name", name), **kwargs)


def _has_system(messages: Sequence[BaseMessage]) -> bool:
    return bool(messages) and messages[0].type == "system"


def _tool_schema(tool: Any) -> dict[str, Any]:
    if isinstance(tool, dict) and tool.get("type") == "function" and "function" in tool:
        return tool
    if hasattr(tool, "as_openai"):
        return tool.as_openai()
    return convert_to_openai_tool(tool)


# -- loading -----------------------------------------------------------------------------


def _looks_local(p: str) -> bool:
    return os.path.isabs(p) or p.startswith((".", "~")) or os.sep in p and not _hub_id_like(p) or Path(p).exists()


def _hub_id_like(p: str) -> bool:
    parts = p.split("/")
    return len(parts) == 2 and all(parts) and not Path(p).exists()


def _check_model_dir(path: Path, what: str) -> None:
    if not path.exists():
        raise ChatModelError(f"{what} not found: {path} does not exist")
    if not path.is_dir():
        raise ChatModelError(f"{what} {path} is not a directory")
    if not (path / "config.json").is_file():
        raise ChatModelError(f"{what} {path} has no config.json: not a transformers model directory")
    try:
        json.loads((path / "config.json").read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ChatModelError(f"{what} {path}: config.json is not valid JSON ({exc})") from None
    if not any(path.glob("*.safetensors")) and not any(path.glob("*.bin")):
        raise ChatModelError(f"{what} {path} has no weights (*.safetensors or *.bin)")


def load_model_and_tokenizer(
    path_or_id: str | os.PathLike,
    adapter: str | os.PathLike | None = None,
    *,
    device: str | None = None,
    dtype: str | None = None,
    trust_remote_code: bool = False,
) -> tuple[Any, Any]:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ChatModelError(f"loading a policy model needs torch and transformers ({exc}); pip install 'guardagent[train]'") from exc

    src = str(path_or_id)
    local = _looks_local(src)
    if local:
        _check_model_dir(Path(src).expanduser(), "model")
    tok_src = src
    if adapter is not None:
        apath = Path(adapter).expanduser()
        if not apath.is_dir():
            raise ChatModelError(f"adapter not found: {apath} is not a directory")
        if not (apath / "adapter_config.json").is_file():
            raise ChatModelError(f"adapter {apath} has no adapter_config.json: not a PEFT adapter directory")
        if (apath / "tokenizer_config.json").is_file():
            tok_src = str(apath)
    torch_dtype = getattr(torch, dtype) if isinstance(dtype, str) and dtype != "auto" else (dtype or "auto")
    try:
        tok = AutoTokenizer.from_pretrained(tok_src, trust_remote_code=trust_remote_code)
    except Exception as exc:
        raise ChatModelError(f"cannot load the tokenizer from {tok_src}: {type(exc).__name__}: {exc}") from None
    try:
        model = AutoModelForCausalLM.from_pretrained(src, dtype=torch_dtype, trust_remote_code=trust_remote_code)
    except Exception as exc:
        hint = "" if local else " (no hub downloads here: pass a local directory)"
        raise ChatModelError(f"cannot load the model from {src}: {type(exc).__name__}: {exc}{hint}") from None
    if adapter is not None:
        try:
            from peft import PeftModel

            model = PeftModel.from_pretrained(model, str(adapter))
        except Exception as exc:
            raise ChatModelError(f"cannot load the adapter {adapter} onto {src}: {type(exc).__name__}: {exc}") from None
    if device:
        model.to(device)
    elif torch.cuda.is_available():
        model.to("cuda")
    model.eval()
    return model, tok


def load_policy_model(path: str | os.PathLike, **kwargs: Any) -> TransformersChatModel:
    """Load a trained policy: a ``guardagent train`` run directory (reads its
    ``policy.json``), an adapter directory, or a plain model directory."""
    p = Path(path).expanduser()
    if not p.exists():
        raise ChatModelError(f"policy model not found: {p} does not exist")
    manifest = p / "policy.json"
    if manifest.is_file():
        try:
            info = json.loads(manifest.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise ChatModelError(f"{manifest} is not valid JSON ({exc})") from None
        base = _resolve(p, info.get("base"))
        adapter = _resolve(p, info.get("adapter")) if info.get("adapter") else None
        kwargs.setdefault("max_new_tokens", int(info.get("max_new_tokens", 256)))
        if "system_prompt" in info:
            kwargs.setdefault("system_prompt", info["system_prompt"])
        return TransformersChatModel.from_pretrained(base, adapter, model_name=str(p), **kwargs)
    if (p / "adapter_config.json").is_file():
        try:
            cfg = json.loads((p / "adapter_config.json").read_text(encoding="utf-8"))
        except ValueError as exc:
            raise ChatModelError(f"{p / 'adapter_config.json'} is not valid JSON ({exc})") from None
        base = cfg.get("base_model_name_or_path")
        if not base:
            raise ChatModelError(f"adapter {p} does not name its base model (base_model_name_or_path)")
        return TransformersChatModel.from_pretrained(base, p, **kwargs)
    if (p / "config.json").is_file():
        return TransformersChatModel.from_pretrained(p, **kwargs)
    raise ChatModelError(
        f"{p} is not a policy model: expected a run directory with policy.json, a PEFT adapter "
        "(adapter_config.json) or a model directory (config.json)"
    )


def _resolve(root: Path, value: str | None) -> str:
    if not value:
        raise ChatModelError(f"{root / 'policy.json'} does not name a base model")
    cand = root / value
    return str(cand) if cand.exists() else value
