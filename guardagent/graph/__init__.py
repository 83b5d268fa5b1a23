"""The guarded LangGraph graph (see :mod:`guardagent.graph.nodes` for the nodes)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import RunnableConfig, RunnableLambda
from langchain_core.tools import BaseTool
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from guardagent._sync import run_sync
from guardagent.graph.nodes import GuardNodes, parse_answer, tool_check_request
from guardagent.graph.state import AuditEntry, GuardState, VerificationAnswer, VerificationRequest
from guardagent.screening import Guard
from guardagent.persist import open_checkpointer
from guardagent.policy import GuardPolicy


def resolve_policy(policy: GuardPolicy | str | Path | dict[str, Any] | None) -> GuardPolicy:
    if policy is None:
        return GuardPolicy.default()
    if isinstance(policy, GuardPolicy):
        return policy
    if isinstance(policy, dict):
        return GuardPolicy.from_dict(policy)
    return GuardPolicy.load(policy)


def _node(afn, *, with_config: bool, name: str) -> RunnableLambda:
    """Both sync and async entry points over one async implementation."""
    if with_config:
        def sync(state, config: RunnableConfig):
            return run_sync(afn(state, config))

        async def asyn(state, config: RunnableConfig):
            return await afn(state, config)
    else:
        def sync(state):
            return run_sync(afn(state))

        async def asyn(state):
            return await afn(state)
    return RunnableLambda(sync, afunc=asyn, name=name)


def build_guarded_graph(
    model: BaseChatModel,
    tools: Sequence[BaseTool] = (),
    policy: GuardPolicy | str | Path | dict[str, Any] | None = None,
    *,
    checkpointer: BaseCheckpointSaver | str | Path | None = None,
    guard: Guard | None = None,
    system_prompt: str | None = None,
    name: str = "guardagent",
) -> CompiledStateGraph:
    """Compile an agent graph whose every input, action and tool result is screened.

    ``checkpointer`` defaults to ``policy.checkpoint`` (if set), else none; without one a
    verification cannot pause, so the graph refuses to compile a policy that verifies.
    """
    guard = guard or Guard(resolve_policy(policy))
    pol = guard.policy
    saver = open_checkpointer(checkpointer if checkpointer is not None else pol.checkpoint)
    nodes = GuardNodes(model, tools, guard, system_prompt=system_prompt)

    g = StateGraph(GuardState)
    g.add_node("screen_input", _node(nodes.screen_input, with_config=False, name="screen_input"),
               destinations=("agent", "refuse", "verify"))
    g.add_node("agent", _node(nodes.agent, with_config=True, name="agent"),
               destinations=("screen_action", "verify", END))
    g.add_node("screen_action", _node(nodes.screen_action, with_config=False, name="screen_action"),
               destinations=("tools", "verify"))
    g.add_node("verify", nodes.verify, destinations=("agent", "tools", "screen_action", "refuse"))
    g.add_node("tools", _node(nodes.tools_node, with_config=True, name="tools"),
               destinations=("screen_result", "agent"))
    g.add_node("screen_result", _node(nodes.screen_result, with_config=False, name="screen_result"),
               destinations=("agent", "verify"))
    g.add_node("refuse", nodes.refuse)
    g.add_edge(START, "screen_input")
    g.add_edge("refuse", END)
    compiled = g.compile(checkpointer=saver, name=name)
    compiled.guard = guard  # type: ignore[attr-defined]  # handy for callers (scan, serve)
    return compiled


def pending_verifications(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The verification payloads a run paused on (``result["__interrupt__"]``)."""
    return [i.value for i in result.get("__interrupt__", []) if isinstance(i.value, dict)]


__all__ = [
    "AuditEntry", "GuardState", "VerificationAnswer", "VerificationRequest", "build_guarded_graph",
    "parse_answer", "pending_verifications", "resolve_policy", "tool_check_request",
]
