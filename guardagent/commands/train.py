"""``guardagent train --config FILE --output DIR``: SFT warm start + sandboxed GRPO."""

from __future__ import annotations

import argparse
import json
from typing import Any


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "train",
        help="train the policy model: SFT on oracle trajectories, then GRPO in the sandbox",
        description=(
            "Train the policy model with an SFT warm start and GRPO (TRL + PEFT LoRA) where every rollout "
            "is an episode of the guarded graph with mocked tools and a simulated verifier. Writes the "
            "models, OUTPUT/metrics.json and OUTPUT/reward_by_step.png; rerunning with the same --output resumes."
        ),
    )
    p.add_argument("--config", required=True, help="recipe YAML, e.g. training/tiny-cpu.yaml")
    p.add_argument("--output", required=True, help="run directory (created; reused to resume)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value, e.g. --set grpo.max_steps=10 (VALUE is YAML)")
    p.add_argument("--quiet", action="store_true", help="print only the final report")
    p.set_defaults(func=run)


def _overrides(items: list[str]) -> dict[str, Any]:
    import yaml

    from guardagent.training.policy_trainer import TrainConfigError

    out: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise TrainConfigError(f"--set {item!r}: expected KEY=VALUE")
        k, v = item.split("=", 1)
        out[k.strip()] = yaml.safe_load(v)
    return out


def run(args: argparse.Namespace) -> int:
    from guardagent.training.policy_trainer import load_config, train

    cfg = load_config(args.config, _overrides(args.set))
    metrics = train(cfg, args.output, quiet=args.quiet)
    cmp_ = metrics.get("sft_vs_grpo")
    if args.quiet and cmp_:
        print(json.dumps(cmp_))
    return 0
