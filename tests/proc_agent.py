"""A guarded agent run as its own process, so tests can pause in one and resume in another.

usage: python tests/proc_agent.py start|resume DB THREAD [approved]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import conftest  # noqa: E402,F401  (registers the "kw" screen)
from langchain_core.messages import AIMessage, ToolMessage  # noqa: E402
from langchain_core.tools import tool  # noqa: E402
from langgraph.types import Command  # noqa: E402

from guardagent.graph import build_guarded_graph, pending_verifications  # noqa: E402
from guardagent.policy import GuardPolicy  # noqa: E402
from guardagent.scripted import ScriptedChatModel, tool_call  # noqa: E402

LOG = Path(sys.argv[2] + ".calls") if len(sys.argv) > 2 and "://" not in sys.argv[2] else None


@tool
def pay(to: str, amount: str) -> str:
    """Pay someone."""
    if LOG:
        with LOG.open("a") as f:
            f.write(f"pay {to} {amount}\n")
    return "paid"


def script(messages):
    if isinstance(messages[-1], ToolMessage):
        return AIMessage(f"result: {messages[-1].content}")
    return AIMessage("", tool_calls=[tool_call("pay", to="bob", amount="7")])


def main() -> None:
    cmd, db, thread = sys.argv[1:4]
    policy = GuardPolicy.from_dict({"sources": {s: {"screens": ["kw"]} for s in ("user", "action", "tool")}})
    graph = build_guarded_graph(ScriptedChatModel(script=script), [pay], policy, checkpointer=db)
    cfg = {"configurable": {"thread_id": thread}}
    if cmd == "start":
        out = graph.invoke({"messages": [("user", "pay bob 7")]}, cfg)
    else:
        out = graph.invoke(Command(resume={"approved": sys.argv[4] == "yes"}), cfg)
    print(json.dumps({"status": out.get("status"), "pending": pending_verifications(out),
                      "last": out["messages"][-1].content}))


if __name__ == "__main__":
    main()
