"""guardagent as an AgentDojo defense: a ``PromptInjectionDetector`` over a guardagent Guard.

Every tool output the agent receives is screened as a tool result (``source=tool``) under a
guardagent policy; an output whose decision is not ``execute`` (quarantine or verify) counts
as an injection, and AgentDojo replaces it with its "data omitted" notice (or aborts the run
with ``raise_on_injection=True``). ``detect`` returns ``(flagged, malicious score)``.

    from guardagent_agentdojo import GuardAgentDetector, build_pipeline
    pipeline = build_pipeline("gpt-4o-2024-05-13", policy="policy.yaml")

``run_benchmark.py`` beside this file runs AgentDojo suites with it (see README.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from agentdojo.agent_pipeline import (
    AgentPipeline,
    BasePipelineElement,
    InitQuery,
    PromptInjectionDetector,
    SystemMessage,
    ToolsExecutionLoop,
    ToolsExecutor,
)
from agentdojo.functions_runtime import EmptyEnv, Env, FunctionsRuntime
from agentdojo.types import ChatMessage, get_text_content_as_str

from guardagent.policy import GuardPolicy
from guardagent.screening import Guard, Ruling
from guardagent.taxonomy import Decision, Item, Source

DEFENSE_NAME = "guardagent"


def _policy(policy: GuardPolicy | str | Path | None) -> GuardPolicy:
    if policy is None:
        return GuardPolicy.default()
    if isinstance(policy, GuardPolicy):
        return policy
    return GuardPolicy.load(policy)


class GuardAgentDetector(PromptInjectionDetector):
    """Flags tool outputs that a guardagent policy would not pass to the model.

    Args:
        policy: a GuardPolicy, a policy file path, or None for the embedded default.
        guard: an existing Guard (overrides ``policy``).
        mode: AgentDojo's detector mode, ``"message"`` (each tool output) or
            ``"full_conversation"`` (the conversation up to the output, as one text).
        raise_on_injection: abort the episode instead of redacting the output.
    """

    def __init__(
        self,
        policy: GuardPolicy | str | Path | None = None,
        *,
        guard: Guard | None = None,
        mode: Literal["message", "full_conversation"] = "message",
        raise_on_injection: bool = False,
    ) -> None:
        super().__init__(mode=mode, raise_on_injection=raise_on_injection)
        self.guard = guard or Guard(_policy(policy))
        self.guard.screen_for(Source.TOOL)  # build the screen now, not on the first output
        #: Every ruling made, in order (text, ruling): for audits and tests.
        self.rulings: list[Ruling] = []
        self._prescreened: dict[str, Ruling] = {}

    def _rule(self, items: list[Item]) -> list[Ruling]:
        rulings = self.guard.rule(items)
        self.rulings.extend(rulings)
        return rulings

    def query(
        self,
        query: str,
        runtime: FunctionsRuntime,
        env: Env = EmptyEnv(),
        messages: Sequence[ChatMessage] = [],
        extra_args: dict = {},
    ) -> tuple[str, FunctionsRuntime, Env, Sequence[ChatMessage], dict]:
        # Screen the trailing tool outputs in one batch, with their tool names, before
        # AgentDojo calls detect() on each of them.
        self._prescreened = {}
        if self.mode == "message":
            items = []
            for m in reversed(list(messages)):
                if m["role"] != "tool":
                    break
                call = m.get("tool_call")
                items.append(
                    Item(
                        source=Source.TOOL,
                        text=get_text_content_as_str(m["content"]) or "",
                        tool_name=getattr(call, "function", None),
                    )
                )
            if items:
                for it, r in zip(items, self._rule(items)):
                    self._prescreened.setdefault(it.text, r)
        try:
            return super().query(query, runtime, env, messages, extra_args)
        finally:
            self._prescreened = {}

    def ruling(self, tool_output: str) -> Ruling:
        pre = self._prescreened.get(tool_output)
        if pre is not None:
            return pre
        return self._rule([Item(source=Source.TOOL, text=tool_output)])[0]

    def detect(self, tool_output: str) -> tuple[bool, float]:
        r = self.ruling(tool_output)
        return r.decision is not Decision.EXECUTE, float(r.verdict.scores.malicious)


def build_pipeline(
    llm: str | BasePipelineElement,
    *,
    policy: GuardPolicy | str | Path | None = None,
    detector: GuardAgentDetector | None = None,
    system_message: str | None = None,
    model_id: str | None = None,
) -> AgentPipeline:
    """AgentDojo's standard tool-calling pipeline with the guardagent detector after each tool run.

    ``llm`` is a model name AgentDojo knows (``ModelsEnum``, e.g. ``gpt-4o-2024-05-13``; its
    API key comes from the usual environment variable) or any LLM pipeline element.
    The pipeline is named ``<model>-guardagent`` so AgentDojo's attacks can address the model.
    """
    from agentdojo.agent_pipeline.agent_pipeline import get_llm, load_system_message
    from agentdojo.models import MODEL_PROVIDERS, ModelsEnum

    if isinstance(llm, str):
        name = llm
        llm_element = get_llm(MODEL_PROVIDERS[ModelsEnum(llm)], llm, model_id, "tool")
    else:
        llm_element = llm
        name = llm.name or "custom"
    det = detector or GuardAgentDetector(policy)
    pipeline = AgentPipeline(
        [
            SystemMessage(system_message or load_system_message(None)),
            InitQuery(),
            llm_element,
            ToolsExecutionLoop([ToolsExecutor(), det, llm_element]),
        ]
    )
    pipeline.name = f"{name}-{DEFENSE_NAME}"
    return pipeline


__all__ = ["DEFENSE_NAME", "GuardAgentDetector", "build_pipeline"]

