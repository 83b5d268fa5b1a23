"""The nodes of the guarded graph: screen_input → agent → screen_action → tools →
screen_result → agent …, with verify (a LangGraph interrupt) and refuse on the side.

Screening nodes decide and route; only ``verify`` calls ``interrupt``. That split matters:
LangGraph re-runs an interrupted node from its start on resume, so the node that pauses
must be cheap and deterministic — the screens ran before and their verdicts are in state.
"""

from __future__ import annotations

import json
import re
from typing import Any, Sequence

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool
from langgraph.graph import END
from langgraph.types import Command, interrupt

from guardagent.graph.state import (
    AuditEntry,
    audit_entry,
    emit,
    fill,
    verification_request,
    GuardState,
    VerificationAnswer,
    VerificationRequest,
    excerpt,
)
from guardagent.screening import Guard
from guardagent.taxonomy import (
    TOOL_CHECK_TAG,
    Decision,
    GuardError,
    Item,
    Source,
    content_to_text,
)

_TOOL_CHECK_RE = re.compile(rf"<{TOOL_CHECK_TAG}>(.*?)(?:</{TOOL_CHECK_TAG}>|$)", re.S)


def tool_check_request(msg: AIMessage) -> str | None:
    """The model's own request for verification, if it made one (tag or kwarg)."""
    kw = msg.additional_kwargs.get(TOOL_CHECK_TAG)
    if kw:
        return kw if isinstance(kw, str) else json.dumps(kw, default=str)
    m = _TOOL_CHECK_RE.search(content_to_text(msg.content))
    if m:
        return m.group(1).strip() or "the model asked for verification"
    return None


def action_text(name: str, args: Any) -> str:
    """How a tool call is shown to the screens: ``name({json args})``."""
    try:
        rendered = json.dumps(args, ensure_ascii=False, sort_keys=True, default=str)
    except (TypeError, ValueError):
        rendered = str(args)
    return f"{name}({rendered})"


def parse_answer(value: Any) -> VerificationAnswer:
    """Accept ``{"approved": bool, "note"?}``, a bool, or yes/no; anything else is an error."""
    if isinstance(value, VerificationAnswer):
        return value
    if isinstance(value, bool):
        return VerificationAnswer(approved=value)
    if isinstance(value, str) and value.strip().lower() in ("y", "yes", "approve", "approved", "true"):
        return VerificationAnswer(approved=True)
    if isinstance(value, str) and value.strip().lower() in ("n", "no", "deny", "denied", "false"):
        return VerificationAnswer(approved=False)
    if isinstance(value, dict) and isinstance(value.get("approved"), bool):
        note = value.get("note")
        return VerificationAnswer(approved=value["approved"], note=None if note is None else str(note))
    raise GuardError(
        f"invalid verification answer {value!r}: resume with "
        'Command(resume={"approved": true|false, "note": "..."})'
    )


def ask(req: dict[str, Any]) -> VerificationAnswer:
    """Pause for a human (``interrupt``) until a well-formed answer comes back.

    A malformed resume value cannot be rejected before LangGraph records it, so instead of
    raising (which would leave that bad value to be replayed forever) the thread pauses
    again with the same request and an ``error`` that names the problem.
    """
    payload = req
    while True:
        try:
            return parse_answer(interrupt(payload))
        except GuardError as exc:
            payload = {**req, "error": str(exc)}


class GuardNodes:
    """Holds the model, tools and guard; its methods are the graph's nodes."""

    def __init__(
        self,
        model: BaseChatModel,
        tools: Sequence[BaseTool],
        guard: Guard,
        system_prompt: str | None = None,
    ):
        self.tools = {t.name: t for t in tools}
        self.model = model.bind_tools(list(tools)) if tools else model
        self.guard = guard
        self.policy = guard.policy
        self.system_prompt = system_prompt if system_prompt is not None else self.policy.system_prompt

    # -- helpers -----------------------------------------------------------------------

    @staticmethod
    def _last_ai(state: GuardState) -> AIMessage | None:
        for m in reversed(state.get("messages", [])):
            if isinstance(m, AIMessage):
                return m
        return None

    # -- screen_input ----------------------------------------------------------------

    async def screen_input(self, state: GuardState) -> Command:
        messages = state.get("messages", [])
        last = messages[-1] if messages else None
        if not isinstance(last, HumanMessage):
            raise GuardError(
                "a guarded run starts from a user message: pass {'messages': [('user', text)]}"
            )
        ruling = await self.guard.arule_one(Item(source=Source.USER, text=last.content, id=last.id))
        if ruling.decision is Decision.EXECUTE:
            entry = audit_entry("input", ruling, "execute")
            emit([entry])
            return Command(goto="agent", update={"audit": [entry], "status": "running", "pending": []})
        if ruling.decision is Decision.REFUSE:
            entry = audit_entry("input", ruling, "refuse")
            emit([entry])
            text = self.policy.texts.refusal
            return Command(
                goto="refuse",
                update={"audit": [entry], "pending": [], "messages": [self._refusal(text)]},
            )
        req = verification_request("input", ruling, "This request was judged sensitive. Let the agent act on it?")
        entry = audit_entry("input", ruling, "verify", event="verification_requested", verification_id=req["id"])
        emit([entry])
        return Command(
            goto="verify",
            update={"audit": [entry], "pending": [req], "status": "awaiting_verification"},
        )

    @staticmethod
    def _refusal(text: str) -> AIMessage:
        return AIMessage(content=text, additional_kwargs={"guardagent": {"refusal": True}})

    # -- agent -------------------------------------------------------------------------

    async def agent(self, state: GuardState, config: RunnableConfig) -> Command:
        messages: list[BaseMessage] = list(state.get("messages", []))
        if self.system_prompt:
            messages = [SystemMessage(self.system_prompt), *messages]
        response = await self.model.ainvoke(messages, config)
        if not isinstance(response, AIMessage):
            response = AIMessage(content=content_to_text(getattr(response, "content", response)))
        check = tool_check_request(response) if self.policy.verification.on_tool_check else None
        if check and self.policy.verification.enabled:
            req = VerificationRequest(
                stage="tool_check",
                source=Source.ACTION.value if response.tool_calls else Source.USER.value,
                question=f"The agent asks for verification: {check}",
                text=excerpt(
                    "; ".join(action_text(c["name"], c["args"]) for c in response.tool_calls) or check, 2000
                ),
                tool_name=response.tool_calls[0]["name"] if response.tool_calls else None,
                tool_args=response.tool_calls[0]["args"] if response.tool_calls else None,
                tool_call_ids=[c["id"] for c in response.tool_calls],
                reasons=[f"model tool_check: {check}"],
            ).model_dump()
            entry = AuditEntry(
                stage="tool_check", source=req["source"], event="verification_requested",
                outcome="verify", decision=Decision.VERIFY.value, reasons=req["reasons"],
                tool_name=req["tool_name"], verification_id=req["id"], excerpt=req["text"][:500],
            ).model_dump()
            emit([entry])
            return Command(
                goto="verify",
                update={"messages": [response], "audit": [entry], "pending": [req],
                        "status": "awaiting_verification"},
            )
        if response.tool_calls:
            return Command(goto="screen_action", update={"messages": [response]})
        return Command(goto=END, update={"messages": [response], "status": "completed"})

    # -- screen_action -----------------------------------------------------------------

    async def screen_action(self, state: GuardState) -> Command:
        ai = self._last_ai(state)
        calls = list(ai.tool_calls) if ai else []
        approved = set(state.get("approved_calls", []))
        decisions: dict[str, str] = {}
        notes: dict[str, str] = {}
        entries: list[dict[str, Any]] = []
        pending: list[dict[str, Any]] = []
        known = [c for c in calls if c["name"] in self.tools]
        for c in calls:
            if c["name"] not in self.tools:
                decisions[c["id"]] = "refuse"
                notes[c["id"]] = f"[guardagent] There is no tool named '{c['name']}'. Available: {sorted(self.tools)}."
                entries.append(AuditEntry(
                    stage="action", source="action", outcome="refuse", decision="refuse",
                    reasons=[f"unknown tool {c['name']!r}"], tool_name=c["name"], tool_call_id=c["id"],
                    excerpt=excerpt(action_text(c["name"], c["args"])),
                ).model_dump())
        rulings = await self.guard.arule([
            Item(source=Source.ACTION, text=action_text(c["name"], c["args"]), id=c["id"],
                 tool_name=c["name"], tool_args=c["args"] if isinstance(c["args"], dict) else {"input": c["args"]})
            for c in known
        ]) if known else []
        for c, r in zip(known, rulings):
            d = r.decision
            if d is Decision.VERIFY and c["id"] in approved:
                d = Decision.EXECUTE  # the human already said yes to this exact call
            if d is Decision.EXECUTE:
                decisions[c["id"]] = "execute"
                entries.append(audit_entry("action", r, "execute", tool_call_id=c["id"]))
            elif d is Decision.REFUSE:
                decisions[c["id"]] = "refuse"
                notes[c["id"]] = fill(
                    self.policy.texts.action_refused, tool=c["name"], reasons="; ".join(r.verdict.reasons) or "policy"
                )
                entries.append(audit_entry("action", r, "refuse", tool_call_id=c["id"]))
            else:
                decisions[c["id"]] = "verify"
                req = verification_request(
                    "action", r, f"The agent wants to call '{c['name']}'. Allow this call?", tool_call_ids=[c["id"]]
                )
                pending.append(req)
                entries.append(audit_entry("action", r, "verify", tool_call_id=c["id"],
                                           event="verification_requested", verification_id=req["id"]))
        emit(entries)
        update: dict[str, Any] = {"audit": entries, "call_decisions": decisions, "call_notes": notes,
                                  "pending": pending}
        if pending:
            update["status"] = "awaiting_verification"
            return Command(goto="verify", update=update)
        return Command(goto="tools", update=update)

    # -- verify (the only node that pauses) ---------------------------------------------

    def verify(self, state: GuardState) -> Command:
        pending = list(state.get("pending", []))
        decisions = dict(state.get("call_decisions", {}))
        notes = dict(state.get("call_notes", {}))
        approved_calls = list(state.get("approved_calls", []))
        entries: list[dict[str, Any]] = []
        new_messages: list[BaseMessage] = []
        goto: str = "agent"
        for req in pending:
            answer = ask(req)
            note_txt = f" (note: {answer.note})" if answer.note else ""
            entries.append(AuditEntry(
                stage=req["stage"], source=req["source"], event="verification_answered",
                outcome="approved" if answer.approved else "denied", tool_name=req.get("tool_name"),
                verification_id=req["id"], note=answer.note, reasons=req.get("reasons", []),
                excerpt=excerpt(req.get("text", "")),
            ).model_dump())
            stage = req["stage"]
            if stage == "input":
                if answer.approved:
                    goto = "agent"
                else:
                    new_messages.append(self._refusal(fill(self.policy.texts.input_denied, note=note_txt)))
                    goto = "refuse"
            elif stage == "action":
                for cid in req["tool_call_ids"]:
                    if answer.approved:
                        decisions[cid] = "execute"
                    else:
                        decisions[cid] = "refuse"
                        notes[cid] = fill(self.policy.texts.denied, note=note_txt)
                goto = "tools"
            elif stage == "tool_check":
                if req["tool_call_ids"]:
                    if answer.approved:
                        approved_calls.extend(req["tool_call_ids"])
                        goto = "screen_action"
                    else:
                        for cid in req["tool_call_ids"]:
                            decisions[cid] = "refuse"
                            notes[cid] = fill(self.policy.texts.denied, note=note_txt)
                        goto = "tools"
                else:
                    verdict = "approved" if answer.approved else "denied"
                    new_messages.append(HumanMessage(
                        content=f"[guardagent] The human verifier {verdict} your check{note_txt}."
                                + ("" if answer.approved else " Do not proceed with it."),
                        name="guardagent",
                    ))
                    goto = "agent"
            elif stage == "result":
                if not answer.approved:
                    for cid in req["tool_call_ids"]:
                        new_messages.append(self._quarantined(state, cid, req.get("tool_name"),
                                                              ["denied by human verifier" + note_txt]))
                goto = "agent"
        emit(entries)
        update: dict[str, Any] = {"audit": entries, "pending": [], "call_decisions": decisions,
                                  "call_notes": notes, "approved_calls": approved_calls, "status": "running"}
        if new_messages:
            update["messages"] = new_messages
        return Command(goto=goto, update=update)

    # -- tools -------------------------------------------------------------------------

    async def tools_node(self, state: GuardState, config: RunnableConfig) -> Command:
        ai = self._last_ai(state)
        decisions = state.get("call_decisions", {})
        notes = state.get("call_notes", {})
        out: list[ToolMessage] = []
        executed: list[str] = []
        for c in (ai.tool_calls if ai else []):
            if decisions.get(c["id"]) != "execute":
                out.append(ToolMessage(
                    content=notes.get(c["id"]) or fill(self.policy.texts.action_refused,
                                                               tool=c["name"], reasons="policy"),
                    tool_call_id=c["id"], name=c["name"], status="error",
                ))
                continue
            out.append(await self._run_tool(c, config))
            executed.append(c["id"])
        return Command(goto="screen_result" if executed else "agent",
                       update={"messages": out, "to_screen": executed, "call_decisions": {}})

    async def _run_tool(self, call: dict[str, Any], config: RunnableConfig) -> ToolMessage:
        tool = self.tools[call["name"]]
        try:
            result = await tool.ainvoke({**call, "type": "tool_call"}, config)
        except Exception as exc:  # a failing tool is an answer the agent can handle
            return ToolMessage(
                content=f"Tool '{call['name']}' failed: {type(exc).__name__}: {exc}",
                tool_call_id=call["id"], name=call["name"], status="error",
            )
        if isinstance(result, ToolMessage):
            msg = result
        else:
            msg = ToolMessage(content=content_to_text(result), tool_call_id=call["id"], name=call["name"])
        if not isinstance(msg.content, (str, list)):
            msg = msg.model_copy(update={"content": content_to_text(msg.content)})
        return msg

    # -- screen_result -----------------------------------------------------------------

    def _tool_message(self, state: GuardState, call_id: str) -> ToolMessage | None:
        for m in reversed(state.get("messages", [])):
            if isinstance(m, ToolMessage) and m.tool_call_id == call_id:
                return m
        return None

    def _quarantined(self, state: GuardState, call_id: str, tool: str | None, reasons: list[str]) -> ToolMessage:
        original = self._tool_message(state, call_id)
        text = fill(self.policy.texts.quarantine, tool=tool or "?", reasons="; ".join(reasons) or "policy")
        return ToolMessage(
            content=text,
            tool_call_id=call_id,
            name=tool,
            id=original.id if original else None,  # same id: add_messages replaces the original
            status="error",
            additional_kwargs={"guardagent": {"quarantined": True}},
        )

    async def screen_result(self, state: GuardState) -> Command:
        ids = list(state.get("to_screen", []))
        msgs = [m for m in (self._tool_message(state, i) for i in ids) if m is not None]
        rulings = await self.guard.arule([
            Item(source=Source.TOOL, text=content_to_text(m.content), id=m.tool_call_id, tool_name=m.name)
            for m in msgs
        ]) if msgs else []
        entries, pending, replaced = [], [], []
        limit = self.policy.max_tool_result_chars
        for m, r in zip(msgs, rulings):
            if r.decision is Decision.EXECUTE:
                entries.append(audit_entry("result", r, "execute", tool_call_id=m.tool_call_id))
                text = content_to_text(m.content)
                if len(text) > limit:
                    replaced.append(m.model_copy(update={
                        "content": text[:limit] + f"\n[guardagent] output cut: {len(text) - limit} more characters"
                    }))
            elif r.decision is Decision.REFUSE:
                entries.append(audit_entry("result", r, "quarantine", tool_call_id=m.tool_call_id))
                replaced.append(self._quarantined(state, m.tool_call_id, m.name, r.verdict.reasons))
            else:
                req = verification_request(
                    "result", r,
                    f"The output of '{m.name}' was judged sensitive. Let the agent act on it?",
                    tool_call_ids=[m.tool_call_id],
                )
                pending.append(req)
                entries.append(audit_entry("result", r, "verify", tool_call_id=m.tool_call_id,
                                           event="verification_requested", verification_id=req["id"]))
        emit(entries)
        update: dict[str, Any] = {"audit": entries, "to_screen": [], "pending": pending}
        if replaced:
            update["messages"] = replaced
        if pending:
            update["status"] = "awaiting_verification"
            return Command(goto="verify", update=update)
        return Command(goto="agent", update=update)

    # -- refuse ------------------------------------------------------------------------

    def refuse(self, state: GuardState) -> dict[str, Any]:
        return {"status": "refused", "pending": []}
