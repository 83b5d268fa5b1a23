"""State of a guarded thread, and the audit entries and verification requests it carries.

The state holds only messages and plain dicts so any checkpointer can store it; the
pydantic models here are the typed view used at the boundaries (API, events, tests).
"""

from __future__ import annotations

import operator
import time
import uuid
from typing import Annotated, Any, Literal

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages
from pydantic import BaseModel, Field
from typing_extensions import TypedDict

Stage = Literal["input", "action", "result", "tool_check"]
Status = Literal["running", "completed", "refused", "awaiting_verification"]

#: Longest excerpt of a screened text kept in the audit trail and interrupt payloads.
EXCERPT_CHARS = 500


class GuardState(TypedDict, total=False):
    messages: Annotated[list[AnyMessage], add_messages]
    #: Append-only trail of every verdict, decision and human answer.
    audit: Annotated[list[dict[str, Any]], operator.add]
    #: Verification requests waiting for a human (set by screens, consumed by ``verify``).
    pending: list[dict[str, Any]]
    #: Per tool call of the last model turn: "execute" | "refuse" | "verify", and why.
    call_decisions: dict[str, str]
    call_notes: dict[str, str]
    #: Tool calls a human already approved (a ``<tool_check>``), not asked again.
    approved_calls: list[str]
    #: Tool results still to screen (tool_call ids).
    to_screen: list[str]
    status: Status


class AuditEntry(BaseModel):
    """One line of the audit trail (also streamed as a ``{"type": "guard", ...}`` event)."""

    ts: float = Field(default_factory=time.time)
    stage: Stage
    source: str
    event: Literal["screened", "verification_requested", "verification_answered"] = "screened"
    decision: str | None = None
    #: What the guard did: execute, refuse, quarantine, verify, approved, denied.
    outcome: str
    label: str | None = None
    scores: dict[str, float] | None = None
    reasons: list[str] = Field(default_factory=list)
    screen: str | None = None
    latency_ms: float | None = None
    tool_name: str | None = None
    tool_call_id: str | None = None
    verification_id: str | None = None
    note: str | None = None
    excerpt: str = ""


class VerificationRequest(BaseModel):
    """What an interrupt asks a human; ``Command(resume={"approved": bool, "note": str})``."""

    kind: Literal["verification"] = "verification"
    id: str = Field(default_factory=lambda: f"ver_{uuid.uuid4().hex[:16]}")
    stage: Stage
    source: str
    question: str
    text: str = ""
    tool_name: str | None = None
    tool_args: dict[str, Any] | None = None
    tool_call_ids: list[str] = Field(default_factory=list)
    reasons: list[str] = Field(default_factory=list)
    label: str | None = None
    scores: dict[str, float] | None = None


class VerificationAnswer(BaseModel):
    approved: bool
    note: str | None = None


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    return text if len(text) <= limit else text[:limit] + f"… [{len(text) - limit} more chars]"


# -- building records from rulings (shared by the graph and the LangChain middleware) --------


def audit_entry(stage: str, ruling: Any, outcome: str, **extra: Any) -> dict[str, Any]:
    """An audit entry (as a dict, for the state) for a screened item."""
    v = ruling.verdict
    return AuditEntry(
        stage=stage,
        source=ruling.item.source.value,
        decision=ruling.decision.value,
        outcome=outcome,
        label=ruling.label.value,
        scores=v.scores.model_dump(),
        reasons=list(v.reasons),
        screen=v.screen,
        latency_ms=round(v.latency_ms, 3),
        tool_name=ruling.item.tool_name,
        excerpt=excerpt(ruling.item.text),
        **extra,
    ).model_dump()


def verification_request(stage: str, ruling: Any, question: str, **extra: Any) -> dict[str, Any]:
    """The interrupt payload asking a human about a screened item."""
    v = ruling.verdict
    return VerificationRequest(
        stage=stage,
        source=ruling.item.source.value,
        question=question,
        text=excerpt(ruling.item.text, 2000),
        tool_name=ruling.item.tool_name,
        tool_args=ruling.item.tool_args,
        reasons=list(v.reasons),
        label=ruling.label.value,
        scores=v.scores.model_dump(),
        **extra,
    ).model_dump()


def emit(entries: list[dict[str, Any]]) -> None:
    """Stream audit entries as custom events (``stream_mode="custom"``), if streaming."""
    from langgraph.config import get_stream_writer

    try:
        writer = get_stream_writer()
    except Exception:  # outside a runnable context (a node called directly in a test)
        return
    for e in entries:
        writer({"type": "guard", **e})


def fill(template: str, **kw: Any) -> str:
    """Format a policy text; a template with unknown placeholders is used as written."""
    try:
        return template.format(**kw)
    except (KeyError, IndexError, ValueError):
        return template
