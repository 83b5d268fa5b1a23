"""Would another rule for combining a long tool result's windows rank results better?

    python bench/window_rules.py --dataset DIR [--bipia ../shared/benchmarks/bipia] [--agentdojo] [SCREEN]

The screen flags a text when its most severe window crosses the threshold ("max"). A clean
text of n windows gets n chances to fire, so long clean results are flagged more often than
short ones (the per-window-count table of ``bench/compare_screens.py``). This scores every
window of the tool results of the corpus's validation and test splits (and, for reporting
only, of the benchmarks) once, then prints a threshold-free table (ROC AUC of flagged =
malicious or sensitive against clean, TPR at 1 / 2 / 5 % FPR) for rules that charge a text
for its window count:

- ``max``: the shipped rule, max over windows of max(p_malicious, p_sensitive);
- ``logit-b·ln n``: logit of that maximum minus b·ln(n), for b in 0.5, 1, 2 (for small tail
  probabilities b = 1 is a Bonferroni correction over the n windows);
- ``ecdf^n``: per label, F(max)^n, with F the empirical distribution of that label's
  probability over the windows of the *validation* split's clean tool results: the chance
  that n clean windows all score below the maximum seen, were they independent.

Rules are to be chosen on validation; the benchmark rows are printed for the record.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def window_probs(rt, texts: list[tuple[str, str]]):
    """Per text, the (n_windows, 3) probabilities the shipped inference code computes, in
    batches of 64 texts as the trainer scores them (int8 activation scales follow the batch)."""
    return [p for i in range(0, len(texts), 64) for _, p in rt.window_scores(texts[i : i + 64])]


def rules(clean_windows):
    """The aggregation rules, as functions of one text's window probabilities."""
    import numpy as np

    def logit(p):
        p = min(max(float(p), 1e-7), 1 - 1e-7)
        return float(np.log(p / (1 - p)))

    def top(p):
        return max(p[:, 1].max(), p[:, 2].max())

    sorted_m, sorted_s = np.sort(clean_windows[:, 1]), np.sort(clean_windows[:, 2])

    def ecdf(sorted_vals, x):
        return (np.searchsorted(sorted_vals, x, side="left") + 0.5) / (len(sorted_vals) + 1)

    out = {"max": top}
    for b in (0.5, 1.0, 2.0):
        out[f"logit-{b:g}·ln n"] = lambda p, b=b: logit(top(p)) - b * float(np.log(len(p)))
    out["ecdf^n"] = lambda p: max(ecdf(sorted_m, p[:, 1].max()) ** len(p), ecdf(sorted_s, p[:, 2].max()) ** len(p))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("screen", nargs="?", type=Path, default=None, help="screen directory (default: shipped)")
    ap.add_argument("--dataset", required=True, type=Path, help="a dataset from 'guardagent corpus build'")
    ap.add_argument("--bipia", type=Path, default=None, help="BIPIA directory (reported, never used to choose)")
    ap.add_argument("--agentdojo", action="store_true", help="also report AgentDojo's tool outputs")
    ap.add_argument("--backend", default="onnx-int8", choices=("onnx-int8", "onnx", "torch"))
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    if not (args.dataset / "dataset_dict.json").is_file():
        ap.error(f"--dataset {args.dataset}: not a dataset written by 'guardagent corpus build'")

    import datasets
    import numpy as np

    from guardagent.eval.metrics import roc_curve
    from guardagent.screens.encoder import Runtime, weights_dir
    from guardagent.screens.encoder.model import item_text
    from guardagent.training.screen_trainer import _rows

    rt = Runtime((args.screen or weights_dir()).resolve(), backend=args.backend, threads=args.threads)
    ds = datasets.load_from_disk(str(args.dataset))
    sets: dict[str, tuple[list, np.ndarray]] = {}
    for split in ("validation", "test"):
        rows = _rows(ds[split], ("tool",))  # the texts as the trainer scores them (tool name first)
        sets[f"corpus {split}"] = (window_probs(rt, [("tool", r["text"]) for r in rows]),
                                   np.array([r["label"] != "benign" for r in rows]))
    external = []
    if args.bipia:
        from guardagent.eval.bipia import load_bipia

        external.append(("BIPIA", load_bipia(args.bipia)))
    if args.agentdojo:
        from guardagent.eval.agentdojo import load_agentdojo

        external.append(("AgentDojo", load_agentdojo()))
    for name, es in external:
        samples = [s for s in es.samples if s.source.value == "tool"]
        texts = [("tool", item_text("tool", s.text, s.tool_name, s.tool_args)) for s in samples]
        sets[name] = (window_probs(rt, texts), np.array([s.label.value != "benign" for s in samples]))

    val_probs, val_y = sets["corpus validation"]
    clean = np.concatenate([p for p, y in zip(val_probs, val_y) if not y])
    print(f"screen: {rt.directory}; clean validation windows for ecdf^n: {len(clean)}\n")
    print("| set | rule | AUC | TPR@1%FPR | TPR@2%FPR | TPR@5%FPR |")
    print("|---|---|---|---|---|---|")
    rule_fns = rules(clean)
    for name, (probs, y) in sets.items():
        for rule, f in rule_fns.items():
            curve = roc_curve(y, [f(p) for p in probs])
            print(f"| {name} ({int(y.sum())}/{int((~y).sum())}) | {rule} | {curve.auc:.4f} | "
                  + " | ".join(f"{100 * curve.tpr_at_fpr(a)[0]:.1f} %" for a in (0.01, 0.02, 0.05)) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
