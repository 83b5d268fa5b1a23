"""Guard overhead per agent turn: the same scripted agent and tools, with and without guardagent.

Prints a table (p50/p95 ms per turn, turns/s) and ratios against the unguarded
``create_agent`` loop, all in one process on the same inputs. The model is scripted, so the
figures are the guard's own cost (screens + graph bookkeeping), not an LLM's.

    python bench/graph.py [--turns 200] [--screens rules|default]
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid

from langchain.agents import create_agent
from langgraph.checkpoint.memory import InMemorySaver

from guardagent import GuardMiddleware, GuardPolicy
from guardagent.demo import demo_policy
from guardagent.graph import build_guarded_graph
from guardagent.scripted import DemoToolbox, demo_model
from guardagent.screening import Guard

REQUESTS = [
    "Summarize the latest emails in my inbox.",
    "Search the web for what's new in Python 3.13.",
    "Read notes.txt and tell me the key points.",
    "What's my balance?",
]


def timed(run, turns: int) -> list[float]:
    for i in range(5):  # warm-up: first calls build screens, compile regexes, load weights
        run(REQUESTS[i % len(REQUESTS)])
    out = []
    for i in range(turns):
        t0 = time.perf_counter()
        run(REQUESTS[i % len(REQUESTS)])
        out.append((time.perf_counter() - t0) * 1000)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--turns", type=int, default=200)
    ap.add_argument("--screens", choices=["rules", "default"], default="default",
                    help="rules: the rules screen only; default: the embedded default (rules + encoder)")
    args = ap.parse_args()

    base = GuardPolicy.default() if args.screens == "default" else GuardPolicy()
    policy = demo_policy(base)
    guard = Guard(policy).warm()
    tools = DemoToolbox().tools
    saver = InMemorySaver()

    def cfg():
        return {"configurable": {"thread_id": uuid.uuid4().hex}}

    plain = create_agent(demo_model(), tools, checkpointer=saver)
    mw = create_agent(demo_model(), tools, middleware=[GuardMiddleware(guard=guard)], checkpointer=saver)
    graph = build_guarded_graph(demo_model(), tools, guard=guard, checkpointer=saver)

    rows = []
    for name, agent in [("create_agent (no guard)", plain), ("create_agent + GuardMiddleware", mw),
                        ("guarded graph", graph)]:
        ms = timed(lambda text, a=agent: a.invoke({"messages": [("user", text)]}, cfg()), args.turns)
        rows.append((name, statistics.median(ms), statistics.quantiles(ms, n=20)[18], 1000 / statistics.mean(ms)))

    screens = ", ".join(f"{s.value}={'+'.join(sp.screens)}" for s, sp in policy.sources.items())
    print(f"guard overhead per turn ({args.turns} turns, scripted agent, one tool call per turn; screens: {screens})")
    print(f"{'setup':34} {'p50 ms':>8} {'p95 ms':>8} {'turns/s':>8} {'p50 vs plain':>13}")
    for name, p50, p95, tps in rows:
        print(f"{name:34} {p50:8.2f} {p95:8.2f} {tps:8.1f} {p50 / rows[0][1]:12.2f}x")


if __name__ == "__main__":
    main()
