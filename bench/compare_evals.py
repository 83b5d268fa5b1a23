"""Compare ``guardagent eval`` runs of several screens on the same sets, threshold-free and per group.

    python bench/compare_evals.py EVAL_DIR [EVAL_DIR ...]

Each ``EVAL_DIR`` is what ``GUARDAGENT_ENCODER_DIR=RUN guardagent eval --bipia ... --agentdojo
--build-corpus --out EVAL_DIR`` wrote. The report's targets sit at each screen's own calibrated
thresholds, which move a lot between retrains (calibration on a few held-out families), so a
retrain can look better or worse there only because its operating point moved. This prints, per
set, the ranking figures that do not depend on the thresholds, AUC of "not benign" (1 - p_benign,
injected or harmful vs clean) and the detection rate at 2 % of clean items flagged, next to the
flag rates at the shipped operating point per group (BIPIA task, AgentDojo suite). Corpus rows
are the user prompts (harmful vs benign). Evaluation sets are only ever scored here, never trained
on or tuned to.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path


def _load(eval_dir: Path) -> list[dict]:
    path = eval_dir / "predictions.jsonl"
    if not path.exists():
        raise SystemExit(f"{eval_dir}: no predictions.jsonl (run 'guardagent eval ... --out {eval_dir}' first)")
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _figures(preds: list[dict], name: str) -> dict | None:
    import numpy as np

    rows = [p for p in preds if p["set"] == name and (name != "corpus" or p["source"] == "user")]
    pos_labels = {"malicious"} if name == "corpus" else {"malicious", "sensitive"}
    clean = np.array([1 - p["scores"]["benign"] for p in rows if p["expected"] == "benign"])
    hit = np.array([1 - p["scores"]["benign"] for p in rows if p["expected"] in pos_labels])
    if not len(clean) or not len(hit):
        return None
    auc = float((hit[:, None] > clean[None, :]).mean() + 0.5 * (hit[:, None] == clean[None, :]).mean())
    tpr2 = float((hit > np.quantile(clean, 0.98)).mean())
    fp, tp = defaultdict(list), defaultdict(list)
    for p in rows:
        (fp if p["expected"] == "benign" else tp)[p["group"]].append(bool(p["flagged"]))
    return {"auc": auc, "tpr2": tpr2, "n": (len(clean), len(hit)),
            "fp": {g: sum(v) / len(v) for g, v in sorted(fp.items())}, "tp": {g: sum(v) / len(v) for g, v in sorted(tp.items())}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("evals", nargs="+", type=Path, help="directories written by 'guardagent eval --out'")
    args = ap.parse_args()
    runs = {str(d): _load(d) for d in args.evals}
    for name in ("bipia", "agentdojo", "corpus"):
        table = {run: _figures(preds, name) for run, preds in runs.items()}
        table = {run: f for run, f in table.items() if f}
        if not table:
            continue
        print(f"\n## {name}" + (" (user prompts: harmful vs benign)" if name == "corpus" else " (injected vs clean)"))
        groups = sorted({g for f in table.values() for g in f["fp"]}) if name != "corpus" else []
        head = ["run", "clean / hit", "AUC", "TPR@2%FPR"] + [f"{g} clean flagged" for g in groups] + [f"{g} caught" for g in groups]
        print("| " + " | ".join(head) + " |\n|" + "---|" * len(head))
        for run, f in table.items():
            cells = [run, f"{f['n'][0]} / {f['n'][1]}", f"{f['auc']:.4f}", f"{100 * f['tpr2']:.1f}%"]
            cells += [f"{100 * f['fp'].get(g, float('nan')):.1f}%" for g in groups]
            cells += [f"{100 * f['tp'].get(g, float('nan')):.1f}%" for g in groups]
            print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
