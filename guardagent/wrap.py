"""Drop-ins for LangChain users: ``guard(model, tools)`` and ``GuardMiddleware``.

``guard`` returns the guarded graph, used like ``create_agent``'s result. ``GuardMiddleware``
brings the same screens and decisions into an existing LangChain v1 ``create_agent`` loop:

- ``before_agent``: screen the user message (refuse → end, sensitive → interrupt);
- ``after_model``: a ``<tool_check>`` from the model → interrupt before any tool runs;
- ``wrap_tool_call``: screen the call (refuse / interrupt) and then its result (quarantine);
  a *sensitive* result is held and put to the human in ``before_model`` — a separate node,
  so resuming never runs the tool a second time.
"""

from __future__ import annotations

import operator
from pathlib import Path
from typing import Annotated, Any, Callable, Sequence

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.tools import BaseTool
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.types import Command
from typing_extensions import NotRequired

from guardagent.graph import build_guarded_graph, resolve_policy
from guardagent.graph.nodes import action_text, ask, tool_check_request
from guardagent.graph.state import AuditEntry, audit_entry, emit, excerpt, fill, verification_request
from guardagent.screening import Guard, Ruling
from guardagent.policy import GuardPolicy
from guardagent.taxonomy import Decision, Item, Source, content_to_text


def guard(
    model: BaseChatModel,
    tools: Sequence[BaseTool] = (),
    policy: GuardPolicy | str | Path | dict[str, Any] | None = None,
    *,
    checkpointer: BaseCheckpointSaver | str | Path | None = "memory",
    system_prompt: str | None = None,
):
    """A guarded agent: ``guard(model, tools).invoke({"messages": [("user", "...")]}, config)``.

    Defaults to an in-memory checkpointer so verification can pause out of the box; pass
    ``checkpointer="sqlite:///guard.db"`` (or a Postgres URL) to survive restarts.
    """
    return build_guarded_graph(model, tools, policy, checkpointer=checkpointer, system_prompt=system_prompt)


try:  # the middleware needs the full `langchain` package (v1), the graph does not
    from langchain.agents.middleware import AgentMiddleware, AgentState, hook_config
    from langgraph.prebuilt.tool_node import ToolCallRequest
except ImportError:  # pragma: no cover - exercised only without langchain installed
    AgentMiddleware = None  # type: ignore[assignment,misc]


if AgentMiddleware is not None:

    class GuardAgentState(AgentState):
        audit: NotRequired[Annotated[list[dict[str, Any]], operator.add]]
        guard_approved_calls: NotRequired[Annotated[list[str], operator.add]]
        #: Tool results screened sensitive, waiting for a human in before_model.
        guard_held: NotRequired[list[dict[str, Any]]]

    class GuardMiddleware(AgentMiddleware):
        """Screens a ``create_agent`` loop with a :class:`Guard` (same policy as the graph)."""

        state_schema = GuardAgentState

        def __init__(self, policy: GuardPolicy | str | Path | dict[str, Any] | None = None, *,
                     guard: Guard | None = None):
            super().__init__()
            self.guard = guard or Guard(resolve_policy(policy))
            self.policy = self.guard.policy

        # -- input ---------------------------------------------------------------------

        @staticmethod
        def _last_human(state: dict[str, Any]) -> HumanMessage | None:
            msgs = state.get("messages", [])
            return msgs[-1] if msgs and isinstance(msgs[-1], HumanMessage) else None

        def _after_input(self, ruling: Ruling) -> dict[str, Any] | None:
            if ruling.decision is Decision.EXECUTE:
                entry = audit_entry("input", ruling, "execute")
                emit([entry])
                return {"audit": [entry]}
            if ruling.decision is Decision.REFUSE:
                entry = audit_entry("input", ruling, "refuse")
                emit([entry])
                return {"audit": [entry], "messages": [AIMessage(self.policy.texts.refusal)], "jump_to": "end"}
            req = verification_request("input", ruling, "This request was judged sensitive. Let the agent act on it?")
            answer = ask(req)
            entries = [audit_entry("input", ruling, "verify", event="verification_requested",
                                   verification_id=req["id"]),
                       self._answered(req, answer)]
            emit(entries)
            if answer.approved:
                return {"audit": entries}
            note = f" (note: {answer.note})" if answer.note else ""
            return {"audit": entries, "jump_to": "end",
                    "messages": [AIMessage(fill(self.policy.texts.input_denied, note=note))]}

        @staticmethod
        def _answered(req: dict[str, Any], answer) -> dict[str, Any]:
            return AuditEntry(stage=req["stage"], source=req["source"], event="verification_answered",
                              outcome="approved" if answer.approved else "denied",
                              tool_name=req.get("tool_name"), verification_id=req["id"], note=answer.note,
                              excerpt=excerpt(req.get("text", ""))).model_dump()

        @hook_config(can_jump_to=["end"])
        def before_agent(self, state, runtime) -> dict[str, Any] | None:
            last = self._last_human(state)
            if last is None:
                return None
            return self._after_input(self.guard.rule_one(Item(source=Source.USER, text=last.content)))

        @hook_config(can_jump_to=["end"])
        async def abefore_agent(self, state, runtime) -> dict[str, Any] | None:
            last = self._last_human(state)
            if last is None:
                return None
            return self._after_input(await self.guard.arule_one(Item(source=Source.USER, text=last.content)))

        # -- the model's own <tool_check> ----------------------------------------------

        @hook_config(can_jump_to=["model"])
        def after_model(self, state, runtime) -> dict[str, Any] | None:
            msgs = state.get("messages", [])
            ai = msgs[-1] if msgs and isinstance(msgs[-1], AIMessage) else None
            if ai is None or not self.policy.verification.on_tool_check or not self.policy.verification.enabled:
                return None
            check = tool_check_request(ai)
            if not check:
                return None
            from guardagent.graph.state import VerificationRequest

            req = VerificationRequest(
                stage="tool_check", source="action" if ai.tool_calls else "user",
                question=f"The agent asks for verification: {check}",
                text="; ".join(action_text(c["name"], c["args"]) for c in ai.tool_calls) or check,
                tool_call_ids=[c["id"] for c in ai.tool_calls], reasons=[f"model tool_check: {check}"],
                tool_name=ai.tool_calls[0]["name"] if ai.tool_calls else None,
            ).model_dump()
            answer = ask(req)
            entry = self._answered(req, answer)
            emit([entry])
            if answer.approved:
                return {"audit": [entry], "guard_approved_calls": req["tool_call_ids"]}
            note = f" (note: {answer.note})" if answer.note else ""
            denied = [ToolMessage(fill(self.policy.texts.denied, note=note), tool_call_id=c["id"],
                                  name=c["name"], status="error") for c in ai.tool_calls]
            if denied:
                return {"audit": [entry], "messages": denied, "jump_to": "model"}
            return {"audit": [entry], "jump_to": "model", "messages": [HumanMessage(
                f"[guardagent] The human verifier denied your check{note}. Do not proceed with it.",
                name="guardagent")]}

        # -- held sensitive tool results -----------------------------------------------

        def before_model(self, state, runtime) -> dict[str, Any] | None:
            held = state.get("guard_held") or []
            if not held:
                return None
            entries, replaced = [], []
            for req in held:
                answer = ask(req)
                entries.append(self._answered(req, answer))
                if not answer.approved:
                    note = f" (note: {answer.note})" if answer.note else ""
                    replaced.append(self._quarantine(state, req["tool_call_ids"][0], req.get("tool_name"),
                                                     ["denied by human verifier" + note]))
            emit(entries)
            return {"audit": entries, "guard_held": [], **({"messages": replaced} if replaced else {})}

        async def abefore_model(self, state, runtime) -> dict[str, Any] | None:
            return self.before_model(state, runtime)

        def _quarantine(self, state, call_id: str, tool: str | None, reasons: list[str]) -> ToolMessage:
            original = next((m for m in reversed(state.get("messages", []))
                             if isinstance(m, ToolMessage) and m.tool_call_id == call_id), None)
            return ToolMessage(fill(self.policy.texts.quarantine, tool=tool or "?",
                                    reasons="; ".join(reasons) or "policy"),
                               tool_call_id=call_id, name=tool, id=original.id if original else None,
                               status="error")

        # -- tool calls and their results ----------------------------------------------

        def _action_item(self, request: ToolCallRequest) -> Item:
            c = request.tool_call
            args = c["args"] if isinstance(c["args"], dict) else {"input": c["args"]}
            return Item(source=Source.ACTION, text=action_text(c["name"], c["args"]), id=c["id"],
                        tool_name=c["name"], tool_args=args)

        def _gate(self, request: ToolCallRequest, ruling: Ruling) -> tuple[list[dict], ToolMessage | None]:
            """Decide a call: (audit entries, a refusal message or None to go ahead)."""
            c = request.tool_call
            approved = c["id"] in ((request.state or {}).get("guard_approved_calls") or [])
            d = ruling.decision
            if d is Decision.VERIFY and approved:
                d = Decision.EXECUTE
            if d is Decision.EXECUTE:
                return [audit_entry("action", ruling, "execute", tool_call_id=c["id"])], None
            if d is Decision.REFUSE:
                text = fill(self.policy.texts.action_refused, tool=c["name"],
                            reasons="; ".join(ruling.verdict.reasons) or "policy")
                return ([audit_entry("action", ruling, "refuse", tool_call_id=c["id"])],
                        ToolMessage(text, tool_call_id=c["id"], name=c["name"], status="error"))
            req = verification_request("action", ruling, f"The agent wants to call '{c['name']}'. Allow this call?",
                                       tool_call_ids=[c["id"]])
            answer = ask(req)
            entries = [audit_entry("action", ruling, "verify", tool_call_id=c["id"],
                                   event="verification_requested", verification_id=req["id"]),
                       self._answered(req, answer)]
            if answer.approved:
                return entries, None
            note = f" (note: {answer.note})" if answer.note else ""
            return entries, ToolMessage(fill(self.policy.texts.denied, note=note), tool_call_id=c["id"],
                                        name=c["name"], status="error")

        def _after_result(self, request: ToolCallRequest, result: Any, ruling: Ruling | None,
                          entries: list[dict]) -> Command:
            update: dict[str, Any] = {}
            if ruling is not None and isinstance(result, ToolMessage):
                c = request.tool_call
                if ruling.decision is Decision.REFUSE:
                    entries.append(audit_entry("result", ruling, "quarantine", tool_call_id=c["id"]))
                    result = ToolMessage(
                        fill(self.policy.texts.quarantine, tool=c["name"],
                             reasons="; ".join(ruling.verdict.reasons) or "policy"),
                        tool_call_id=c["id"], name=c["name"], id=result.id, status="error")
                elif ruling.decision is Decision.VERIFY:
                    req = verification_request("result", ruling,
                                               f"The output of '{c['name']}' was judged sensitive. "
                                               "Let the agent act on it?", tool_call_ids=[c["id"]])
                    entries.append(audit_entry("result", ruling, "verify", tool_call_id=c["id"],
                                               event="verification_requested", verification_id=req["id"]))
                    update["guard_held"] = [req]
                else:
                    entries.append(audit_entry("result", ruling, "execute", tool_call_id=c["id"]))
            emit(entries)
            if isinstance(result, Command):
                return result
            return Command(update={"messages": [result], "audit": entries, **update})

        @staticmethod
        def _result_item(request: ToolCallRequest, result: Any) -> Item | None:
            if not isinstance(result, ToolMessage):
                return None
            return Item(source=Source.TOOL, text=content_to_text(result.content),
                        id=request.tool_call["id"], tool_name=request.tool_call["name"])

        def wrap_tool_call(self, request: ToolCallRequest, handler: Callable) -> ToolMessage | Command:
            entries, refusal = self._gate(request, self.guard.rule_one(self._action_item(request)))
            if refusal is not None:
                emit(entries)
                return Command(update={"messages": [refusal], "audit": entries})
            result = handler(request)
            item = self._result_item(request, result)
            ruling = self.guard.rule_one(item) if item else None
            return self._after_result(request, result, ruling, entries)

        async def awrap_tool_call(self, request: ToolCallRequest, handler: Callable) -> ToolMessage | Command:
            entries, refusal = self._gate(request, await self.guard.arule_one(self._action_item(request)))
            if refusal is not None:
                emit(entries)
                return Command(update={"messages": [refusal], "audit": entries})
            result = await handler(request)
            item = self._result_item(request, result)
            ruling = (await self.guard.arule_one(item)) if item else None
            return self._after_result(request, result, ruling, entries)

else:  # pragma: no cover
    class GuardMiddleware:  # type: ignore[no-redef]
        def __init__(self, *a: Any, **k: Any) -> None:
            raise ImportError("GuardMiddleware needs LangChain v1: pip install 'guardagent[agents]'")


__all__ = ["guard", "GuardMiddleware"]
