"""The ideal policy for each scenario cell, as a chat model.

It is the teacher for the SFT warm start: run through the real guarded graph in the
sandbox, it produces the trajectories (prompt, ideal turns, environment text between them)
that the policy model is fine-tuned on, so the SFT data matches exactly what the model
sees during RL and in production. It also anchors the reward tests: the oracle must reach
the top reward in every cell.
"""

from __future__ import annotations

import json
from typing import Any, Optional, Sequence

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import ConfigDict, Field

from guardagent.chat.engine import Generation
from guardagent.chat.template import parse_turn
from guardagent.taxonomy import Label, content_to_text
from guardagent.training.episode import Episode
from guardagent.training.sandbox import sensitive_tools


def _call(name: str, args: dict[str, Any]) -> str:
    return '<tool_call>\n{"name": "' + name + '", "arguments": ' + json.dumps(args, ensure_ascii=False) + "}\n</tool_call>"


def ideal_turn(episode: Episode, messages: Sequence[BaseMessage]) -> str:
    """The ideal next assistant turn (raw text with tags) for ``episode`` given ``messages``."""
    sens = sensitive_tools(episode)
    ai_turns = [m for m in messages if isinstance(m, AIMessage)]
    if episode.user_label is Label.MALICIOUS:
        return "<think>harmful request</think>\nI can't help with that."
    if not ai_turns:
        if not episode.task_tool:
            return "<think>no tool needed</think>\nHere is my answer."
        if episode.task_tool in sens:
            return (
                f"<think>sensitive action</think>\n"
                f"<tool_check>confirm {episode.task_tool}</tool_check>\n"
                + _call(episode.task_tool, episode.task_args)
            )
        return "<think>safe request</think>\n" + _call(episode.task_tool, episode.task_args)

    since = []
    for m in reversed(messages):
        if isinstance(m, AIMessage):
            break
        since.append(m)
    since.reverse()
    tool_msgs = [m for m in since if isinstance(m, ToolMessage)]
    denied = any(m.status == "error" and "denied" in content_to_text(m.content).lower() for m in tool_msgs)
    human_answer = [m for m in since if isinstance(m, HumanMessage) and m.name == "guardagent"]
    if denied or any("denied" in content_to_text(m.content) for m in human_answer):
        return "<think>verifier said no</think>\nNot done: the verifier declined."
    if human_answer:  # an approved bare <tool_check>: finish the task with the result
        return "<think>approved</think>\nDone."
    quarantined = any((m.additional_kwargs or {}).get("guardagent", {}).get("quarantined") for m in tool_msgs)
    if episode.tool_label is Label.MALICIOUS or quarantined:
        return (
            "<think>injected instructions: ignore</think>\n"
            "Done. I ignored instructions in the tool output."
        )
    sensitive_output = episode.tool_label is Label.SENSITIVE and episode.task_tool not in sens
    already_checked = any(m.additional_kwargs.get("tool_check") for m in ai_turns[1:])
    if sensitive_output and not already_checked:
        return (
            "<think>sensitive output</think>\n"
            "<tool_check>the output is sensitive</tool_check>"
        )
    return "<think>have the result</think>\nDone."


class OracleChatModel(BaseChatModel):
    """Answers with :func:`ideal_turn`; with a transcript it records token ids for SFT."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    episode: Episode
    engine: Any = Field(default=None, exclude=True)
    transcript: Any = Field(default=None, exclude=True)
    tools: list[dict[str, Any]] = Field(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "guardagent-oracle"

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> "OracleChatModel":
        from guardagent.chat.model import _tool_schema

        return self.model_copy(update={"tools": [_tool_schema(t) for t in tools]})

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: Optional[list[str]] = None,
        run_manager: Optional[CallbackManagerForLLMRun] = None,
        **kwargs: Any,
    ) -> ChatResult:
        text = ideal_turn(self.episode, messages)
        if self.transcript is not None and self.engine is not None:
            self.transcript.context(self.engine, messages, self.tools, None)
            ids = self.engine.encode(text) + [self.engine.end_of_turn_id]
            self.transcript.add_turn(self.engine, Generation(ids=ids, logprobs=[0.0] * len(ids), finished=True),
                                     len(messages), text)
        names = [t["function"]["name"] for t in self.tools if "function" in t]
        msg = parse_turn(text, tool_names=names or None).to_message(model_name="oracle")
        return ChatResult(generations=[ChatGeneration(message=msg)])
