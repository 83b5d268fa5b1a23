"""Run AgentDojo suites with guardagent as the prompt-injection defense, using your own LLM.

    python integrations/agentdojo/run_benchmark.py --model gpt-4o-2024-05-13 \
        --suite workspace --attack important_instructions --policy policy.yaml --logdir runs

Prints utility (user tasks solved) and attack success rate (injection tasks carried out) per
suite, as AgentDojo's own benchmark script does, and how many tool outputs were flagged.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from agentdojo.attacks.attack_registry import load_attack  # noqa: E402
from agentdojo.benchmark import (  # noqa: E402
    benchmark_suite_with_injections,
    benchmark_suite_without_injections,
)
from agentdojo.logging import OutputLogger  # noqa: E402
from agentdojo.task_suite.load_suites import get_suites  # noqa: E402
from guardagent_agentdojo import GuardAgentDetector, build_pipeline  # noqa: E402


def _rate(results: dict) -> float:
    return sum(results.values()) / len(results) if results else float("nan")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="AgentDojo model name (ModelsEnum), e.g. gpt-4o-2024-05-13")
    p.add_argument("--model-id", default=None, help="model id for --model local / vllm_parsed")
    p.add_argument("--policy", default=None, help="guardagent policy file (default: the embedded default)")
    p.add_argument("--benchmark-version", default="v1.2.2")
    p.add_argument("--suite", "-s", action="append", default=[], help="suite(s) to run (default: all)")
    p.add_argument("--user-task", "-ut", action="append", default=None, help="user task id(s) (default: all)")
    p.add_argument("--injection-task", "-it", action="append", default=None, help="injection task id(s)")
    p.add_argument("--attack", default=None, help="registered attack, e.g. important_instructions; omit for utility only")
    p.add_argument("--logdir", default="./runs", help="AgentDojo log directory")
    p.add_argument("--force-rerun", action="store_true")
    p.add_argument("--raise-on-injection", action="store_true", help="abort an episode at the first flagged output")
    args = p.parse_args(argv)

    suites = get_suites(args.benchmark_version)
    names = args.suite or sorted(suites)
    detector = GuardAgentDetector(args.policy, raise_on_injection=args.raise_on_injection)
    pipeline = build_pipeline(args.model, detector=detector, model_id=args.model_id)
    logdir = Path(args.logdir)
    for name in names:
        suite = suites[name]
        with OutputLogger(str(logdir), live=None):
            if args.attack:
                attack = load_attack(args.attack, suite, pipeline)
                res = benchmark_suite_with_injections(
                    pipeline, suite, attack, logdir=logdir, force_rerun=args.force_rerun,
                    user_tasks=args.user_task, injection_tasks=args.injection_task,
                    benchmark_version=args.benchmark_version,
                )
            else:
                res = benchmark_suite_without_injections(
                    pipeline, suite, logdir=logdir, force_rerun=args.force_rerun,
                    user_tasks=args.user_task, benchmark_version=args.benchmark_version,
                )
        line = f"{name}: utility {_rate(res['utility_results']):.1%}"
        if args.attack:
            line += f", attack success rate {_rate(res['security_results']):.1%}"
        print(line)
    flagged = sum(r.decision.value != "execute" for r in detector.rulings)
    print(f"guardagent screened {len(detector.rulings)} tool outputs, flagged {flagged}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
