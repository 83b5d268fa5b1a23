"""A deterministic chat model for tests, the demo, the service's default agent and benchmarks.

``ScriptedChatModel`` replays a list of responses or calls a function of the conversation.
``DemoAgent`` is such a function: a keyword planner over the demo tools that is deliberately
*naive* — it follows instructions it finds in tool output — so the demo shows what the guard
stops, not what a careful model would have avoided anyway.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any, Callable, Iterator, Sequence

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.tools import BaseTool, StructuredTool
from pydantic import ConfigDict, Field

from guardagent.taxonomy import GuardError, content_to_text

Script = Callable[[Sequence[BaseMessage]], AIMessage]


class ScriptedChatModel(BaseChatModel):
    """Answers from ``responses`` in order (then repeats the last), or from ``script(messages)``."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    responses: list[AIMessage] = Field(default_factory=list)
    script: Script | None = None
    calls: int = 0

    @property
    def _llm_type(self) -> str:
        return "guardagent-scripted"

    def bind_tools(self, tools: Any, **kwargs: Any) -> "ScriptedChatModel":
        return self  # the script already knows its tools

    def _next(self, messages: Sequence[BaseMessage]) -> AIMessage:
        self.calls += 1
        if self.script is not None:
            msg = self.script(messages)
        elif self.responses:
            msg = self.responses[min(self.calls - 1, len(self.responses) - 1)]
        else:
            raise GuardError("ScriptedChatModel has neither responses nor a script")
        if not isinstance(msg, AIMessage):
            msg = AIMessage(content=str(msg))
        # fresh ids so replayed responses never replace earlier messages in the state
        calls = [dict(tc, id=f"call_{uuid.uuid4().hex[:12]}") for tc in msg.tool_calls]
        return AIMessage(content=msg.content, tool_calls=calls, additional_kwargs=dict(msg.additional_kwargs),
                         id=f"ai_{uuid.uuid4().hex[:12]}")

    def _generate(self, messages, stop=None, run_manager: CallbackManagerForLLMRun | None = None, **kw) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=self._next(messages))])

    def _stream(self, messages, stop=None, run_manager: CallbackManagerForLLMRun | None = None, **kw
                ) -> Iterator[ChatGenerationChunk]:
        msg = self._next(messages)
        text = content_to_text(msg.content)
        pieces = re.findall(r"\S+\s*", text) or [""]
        for i, piece in enumerate(pieces):
            last = i == len(pieces) - 1
            chunk = AIMessageChunk(
                content=piece,
                id=msg.id,
                additional_kwargs=msg.additional_kwargs if last else {},
                tool_call_chunks=[
                    {"name": tc["name"], "args": json.dumps(tc["args"]), "id": tc["id"], "index": j,
                     "type": "tool_call_chunk"}
                    for j, tc in enumerate(msg.tool_calls)
                ] if last else [],
            )
            if run_manager and piece:
                run_manager.on_llm_new_token(piece, chunk=ChatGenerationChunk(message=chunk))
            yield ChatGenerationChunk(message=chunk)


def tool_call(name: str, **args: Any) -> dict[str, Any]:
    return {"name": name, "args": args, "id": f"call_{uuid.uuid4().hex[:12]}", "type": "tool_call"}


# ---------------------------------------------------------------------------------------
# The demo's mocked tools and naive agent
# ---------------------------------------------------------------------------------------

#: name -> (description, argument names); all take string arguments.
DEMO_TOOLS: dict[str, tuple[str, tuple[str, ...]]] = {
    "read_inbox": ("Read the latest emails in the user's inbox.", ("folder",)),
    "send_email": ("Send an email.", ("to", "subject", "body")),
    "read_file": ("Read a file from the user's drive.", ("path",)),
    "delete_file": ("Delete a file from the user's drive.", ("path",)),
    "web_search": ("Search the web.", ("query",)),
    "send_money": ("Transfer money from the user's account.", ("recipient", "amount")),
    "get_balance": ("Get the user's account balance.", ("account",)),
    "run_shell": ("Run a shell command on the user's machine.", ("command",)),
}

#: The demo policy's privileges for these tools.
DEMO_SENSITIVE = ["send_money", "delete_file", "send_email"]
DEMO_FORBIDDEN = ["run_shell"]

_DEFAULT_OUTPUTS = {
    "read_inbox": "From: alice@example.com\nSubject: Lunch\nAre we still on for Thursday at noon?",
    "send_email": "Email sent.",
    "read_file": "Quarterly plan: ship v2 in March, hire two engineers.",
    "delete_file": "File deleted.",
    "web_search": "1. Python 3.13 released - python.org\n2. What's new in Python 3.13 - docs.python.org",
    "send_money": "Transfer completed.",
    "get_balance": "Balance: 2,431.17 EUR",
    "run_shell": "ok",
}


class DemoToolbox:
    """Mocked tools whose outputs a scenario sets; every call is recorded."""

    def __init__(self, outputs: dict[str, Any] | None = None, raises: dict[str, Exception] | None = None):
        self.outputs = {**_DEFAULT_OUTPUTS, **(outputs or {})}
        self.raises = dict(raises or {})
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def _make(self, name: str, description: str, params: tuple[str, ...]) -> BaseTool:
        def run(**kwargs: Any) -> Any:
            self.calls.append((name, kwargs))
            if name in self.raises:
                raise self.raises[name]
            return self.outputs[name]

        schema = {
            "type": "object",
            "properties": {p: {"type": "string"} for p in params},
            "required": [],
        }
        return StructuredTool.from_function(func=run, name=name, description=description, args_schema=schema)

    @property
    def tools(self) -> list[BaseTool]:
        return [self._make(n, d, p) for n, (d, p) in DEMO_TOOLS.items()]

    def called(self, name: str) -> bool:
        return any(n == name for n, _ in self.calls)


_AMOUNT = re.compile(r"(?:\$|€|EUR\s?|USD\s?)?\s?(\d[\d,]*(?:\.\d+)?)\s?(?:\$|€|EUR|USD|dollars|euros)?", re.I)
_RECIPIENT = re.compile(r"\bto\s+(?:account\s+)?([A-Z]{2}\d{2}[A-Z0-9]{4,}|[\w.+-]+@[\w.-]+|ACC-\d+|[A-Z][a-z]+)")
_PATH = re.compile(r"([\w./-]+\.(?:txt|md|pdf|csv|docx|json|log))")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")


def _plan(text: str) -> dict[str, Any] | None:
    """Which demo tool a request (or an instruction found in a tool result) asks for."""
    t = text.lower()
    if any(k in t for k in ("transfer", "wire", "send money", "pay ", "payment")):
        amount = _AMOUNT.search(text.split(" to ")[0] if " to " in text else text)
        rec = _RECIPIENT.search(text)
        return tool_call("send_money", recipient=rec.group(1) if rec else "unknown",
                         amount=amount.group(1) if amount else "0")
    if any(k in t for k in ("delete", "remove", "erase")) and _PATH.search(text):
        return tool_call("delete_file", path=_PATH.search(text).group(1))
    if any(k in t for k in ("forward", "send an email", "send email", "email to", "mail to")) and _EMAIL.search(text):
        return tool_call("send_email", to=_EMAIL.search(text).group(0), subject="Fwd", body=text[:200])
    if any(k in t for k in ("run the command", "execute the command", "shell", "terminal")):
        m = re.search(r"`([^`]+)`", text)
        return tool_call("run_shell", command=m.group(1) if m else text[:80])
    if any(k in t for k in ("inbox", "email", "mail")):
        return tool_call("read_inbox", folder="inbox")
    if "balance" in t:
        return tool_call("get_balance", account="main")
    if any(k in t for k in ("file", "document", "report", "notes")) or _PATH.search(text):
        m = _PATH.search(text)
        return tool_call("read_file", path=m.group(1) if m else "notes.txt")
    if any(k in t for k in ("search", "look up", "find out", "news")):
        return tool_call("web_search", query=text[:100])
    return None


def demo_agent(messages: Sequence[BaseMessage]) -> AIMessage:
    """Naive scripted agent: plan a tool from the request; obey instructions in tool output."""
    last = messages[-1] if messages else HumanMessage("")
    if isinstance(last, ToolMessage):
        body = content_to_text(last.content)
        if body.startswith("[guardagent]"):
            return AIMessage(content=f"I could not complete that step: {body[len('[guardagent] '):][:300]}")
        already = {m.name for m in messages if isinstance(m, ToolMessage)}
        follow = _plan(body)
        # naive: an instruction inside the tool output becomes the next action
        if follow and follow["name"] not in already and follow["name"] not in ("read_inbox", "read_file", "web_search"):
            return AIMessage(content="", tool_calls=[follow])
        return AIMessage(content=f"Done. Here is what I found: {body[:300]}")
    text = content_to_text(last.content)
    if text.startswith("[guardagent]"):
        return AIMessage(content="Understood: " + text[len("[guardagent] "):][:300])
    planned = _plan(text)
    if planned is None:
        return AIMessage(content=f"Sure. You said: {text[:200]}" if text.strip() else "How can I help?")
    return AIMessage(content="", tool_calls=[planned])


def demo_model() -> ScriptedChatModel:
    return ScriptedChatModel(script=demo_agent)
