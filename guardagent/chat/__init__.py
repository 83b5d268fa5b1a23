"""The policy model as a LangChain chat model over transformers (Qwen2/Qwen2.5 format)."""

from guardagent.chat.engine import Engine, GenOptions, Generation
from guardagent.chat.model import (
    ChatModelError,
    Transcript,
    TransformersChatModel,
    load_model_and_tokenizer,
    load_policy_model,
)
from guardagent.chat.template import (
    GUARD_SYSTEM,
    TAGS,
    ParsedTurn,
    parse_turn,
    render_chat,
    render_continuation,
)

__all__ = [
    "ChatModelError", "Engine", "GenOptions", "Generation", "GUARD_SYSTEM", "ParsedTurn", "TAGS",
    "Transcript", "TransformersChatModel", "load_model_and_tokenizer", "load_policy_model",
    "parse_turn", "render_chat", "render_continuation",
]
