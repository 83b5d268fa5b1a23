"""Which operating points a trained screen can reach: calibrate on validation, read off on test.

    python bench/operating_points.py --dataset DIR guardagent/assets/encoder /tmp/run1 [...]

``guardagent train-screen`` calibrates each source's thresholds on the validation split to a
false-positive budget per label (``screen_trainer.TARGET_FPR``: user/action malicious 2 %,
tool malicious 1 %, sensitive 3 %). A benign row counts as flagged when *either* label fires,
so those budgets add up: a user budget of 2 % + 3 % allows up to 5 % of benign requests flagged,
more than the ≥ 97 % benign-passed target leaves. This script scores the validation and test
splits once per screen (int8, the shipped inference code; ``--cache`` keeps the scores), then
for each budget pair on a grid calibrates with the trainer's own ``calibrate_thresholds`` and
prints, per source, what the test split gets: benign passed, malicious flagged (malicious or
sensitive), malicious refused and sensitive recall. Thresholds only ever come from validation.
"""

from __future__ import annotations

import argparse
from pathlib import Path

#: (malicious, sensitive) false-positive budgets on benign validation rows, per source.
GRID = [(0.02, 0.03), (0.02, 0.01), (0.015, 0.015), (0.01, 0.02), (0.01, 0.01), (0.0075, 0.0075), (0.005, 0.01)]


def _scores(directory: Path, rows, backend: str, threads: int, cache: Path | None, split: str):
    import numpy as np

    from guardagent.screens.encoder import Runtime
    from guardagent.training.screen_trainer import _score_split

    path = cache / f"{directory.name}-{split}.npy" if cache else None
    if path and path.exists():
        return np.load(path)
    s = _score_split(Runtime(directory, backend=backend, threads=threads), rows)
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, s)
    return s


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("screens", nargs="+", type=Path, help="screen directories (weights + screen.json)")
    ap.add_argument("--dataset", required=True, type=Path, help="a dataset written by guardagent corpus build")
    ap.add_argument("--sources", nargs="+", default=["user", "tool"], choices=["user", "action", "tool"])
    ap.add_argument("--backend", default="onnx-int8", choices=("onnx-int8", "onnx", "torch"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--cache", type=Path, default=None, help="folder to keep each screen's scores in (reused if there)")
    args = ap.parse_args(argv)

    import datasets

    from guardagent.training.screen_trainer import TARGET_FPR, _rows, calibrate_thresholds, metrics_for, predict_labels

    data = datasets.load_from_disk(str(args.dataset))
    val, test = _rows(data["validation"]), _rows(data["test"])
    print(f"# thresholds calibrated on {len(val)} validation rows, figures on {len(test)} test rows of {args.dataset}")
    print("| screen | source | budget mal. / sens. | thresholds mal. / sens. | validation benign passed | "
          "test benign passed | test malicious flagged | test malicious refused | test sensitive recall |")
    print("|---|---|---|---|---:|---:|---:|---:|---:|")
    for d in args.screens:
        vs = _scores(d, val, args.backend, args.threads, args.cache, "validation")
        ts = _scores(d, test, args.backend, args.threads, args.cache, "test")
        for mal, sens in GRID:
            target = {src: dict(TARGET_FPR[src]) for src in TARGET_FPR}
            for src in args.sources:
                target[src] = {"malicious": mal, "sensitive": sens}
            th = calibrate_thresholds(val, vs, target, 0.5)
            mv = metrics_for(val, predict_labels(vs, [r["source"] for r in val], th))
            mt = metrics_for(test, predict_labels(ts, [r["source"] for r in test], th))
            for src in args.sources:
                v, t = mv.get(src, {}), mt.get(src, {})
                print(f"| {d} | {src} | {100 * mal:.2g} / {100 * sens:.2g} % | {th[src]['malicious']:.3f} / "
                      f"{th[src]['sensitive']:.3f} | {_pct(v.get('benign_passed'))} | {_pct(t.get('benign_passed'))} | "
                      f"{_pct(t.get('malicious_flagged'))} | {_pct(t.get('malicious_refused'))} | "
                      f"{_pct(t.get('sensitive_recall'))} |")
    return 0


def _pct(v) -> str:
    return "–" if v is None else f"{100 * v:.1f}"


if __name__ == "__main__":
    raise SystemExit(main())
