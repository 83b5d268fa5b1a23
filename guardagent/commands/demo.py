"""``guardagent demo``: the scenario grid through the guarded graph, as a table."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="run the paper's BU/MU/SU x BT/MT/ST scenario grid through the guarded graph",
        description="Runs 18 scenario cases through the guarded graph with a naive scripted agent "
                    "(it obeys instructions found in tool output) and mocked tools, on the embedded "
                    "default screens, and prints what the guard did.",
    )
    p.add_argument("--policy", help="policy file (YAML/TOML/JSON); default: the embedded default")
    p.add_argument("--interactive", action="store_true", help="answer each verification at the prompt")
    p.add_argument("--deny", action="store_true", help="deny every verification instead of approving it")
    p.add_argument("--policy-model", metavar="PATH",
                   help="use a trained policy model (a `guardagent train` output dir) as the agent")
    p.add_argument("--scenario", action="append", help="only these scenario codes (e.g. BU-MT); repeatable")
    p.add_argument("--db", default="memory", help="checkpointer: memory (default), sqlite:///PATH, postgresql://...")
    p.add_argument("--json", action="store_true", help="print results as JSON lines instead of a table")
    p.add_argument("--strict", action="store_true", help="exit 1 when a case does not go as expected")
    p.set_defaults(func=run)


def _ask(req: dict[str, Any]) -> dict[str, Any]:
    print(f"\n[verify] {req['question']}", file=sys.stderr)
    if req.get("text"):
        print(f"         {req['text'][:300]}", file=sys.stderr)
    if req.get("reasons"):
        print(f"         reasons: {'; '.join(req['reasons'])[:300]}", file=sys.stderr)
    while True:
        try:
            ans = input("         approve? [y/n] ").strip().lower()
        except EOFError:
            return {"approved": False, "note": "no answer (end of input)"}
        if ans in ("y", "yes", "n", "no"):
            return {"approved": ans.startswith("y"), "note": "answered at the prompt"}


def run(args: argparse.Namespace) -> int:
    from guardagent.demo import DEMO_CASES, format_table, run_grid
    from guardagent.policy import GuardPolicy
    from guardagent.scripted import demo_model
    from guardagent.taxonomy import Scenario

    policy = GuardPolicy.load(args.policy) if args.policy else None
    cases = DEMO_CASES
    if args.scenario:
        wanted = {Scenario.parse(s).code for s in args.scenario}
        cases = [c for c in DEMO_CASES if c.scenario in wanted]
    if args.interactive:
        answer = _ask
    elif args.deny:
        answer = lambda _req: {"approved": False, "note": "auto-denied by the demo"}  # noqa: E731
    else:
        answer = lambda _req: {"approved": True, "note": "auto-approved by the demo"}  # noqa: E731
    factory = demo_model
    if args.policy_model:
        from guardagent.chat import load_policy_model

        loaded = load_policy_model(args.policy_model)
        factory = lambda: loaded  # noqa: E731
    results = run_grid(factory, policy=policy, answer=answer, cases=cases, checkpointer=args.db)
    if args.json:
        for r in results:
            print(json.dumps(r.model_dump()))
    else:
        from guardagent.policy import GuardPolicy as _GP

        screens = (policy or _GP.default()).sources
        print("guardagent demo — screens: " + ", ".join(f"{s.value}={'+'.join(sp.screens)}" for s, sp in screens.items()))
        print(format_table(results))
    return 1 if args.strict and not all(r.ok for r in results) else 0
