"""Compare trained screens on one corpus split, each at its own calibrated thresholds.

    python bench/compare_screens.py --dataset DIR guardagent/assets/encoder /tmp/run1 [...]

``DIR`` is a dataset written by ``guardagent corpus build``. For every screen directory (what
``guardagent train-screen`` writes) it prints per-source accuracy, benign passed, malicious
flagged / refused and sensitive recall, then per origin (``--by-origin``) and per family group
(``--by-family``: ``tool.mt.enc``, ``tool.st.gdpr_request``...; a held-out split holds few
families, so one family can move a source's figure by points), then how often clean
and injected tool results are flagged by the number of windows they span: long clean results
are where most false positives come from, and the card's per-source table hides them. Last, a
threshold-free table per source (ROC AUC and TPR at a fixed false-positive rate, flagged =
1 - p(benign) and malicious = p(malicious) against benign rows), which tells a better ranking
from a luckier calibration. This is how retrains are judged against the shipped screen on the
same rows (docs/screen.md). First of all it prints how far each screen's trained weights lie
from the first screen's: a rebuild of the shipped recipe on another CPU kind is not bit-identical
(other float kernels), and this says by how much.
"""

from __future__ import annotations

import argparse
import functools
import json
from pathlib import Path


def _score(rt, rows, batch: int = 64):
    import numpy as np

    scores, windows = [], []
    for i in range(0, len(rows), batch):
        s, info = rt.predict([(r["source"], r["text"]) for r in rows[i : i + batch]])
        scores.append(s)
        windows += [n for n, *_ in info]
    return np.concatenate(scores), windows


@functools.lru_cache(maxsize=None)
def _weights(directory: Path):
    """A screen's trained tensors, read and SHA-checked once per run (the first screen is every
    comparison's reference)."""
    from guardagent.screens.encoder import ScreenError
    from guardagent.screens.encoder.model import read_weights

    try:
        return read_weights(directory)
    except ScreenError as exc:  # missing, corrupt or unlisted: say which, without a traceback
        raise SystemExit(str(exc)) from None


def weights_diff(first: Path, other: Path) -> tuple[int, int, float, str] | None:
    """(identical tensors, tensors, largest max|a - b| / max|a| over tensors, its name), or None
    when the two hold other tensors (another LoRA rank, a soup): then there is nothing to compare."""
    a, b = _weights(first), _weights(other)
    if a.keys() != b.keys() or any(a[k].shape != b[k].shape for k in a):
        return None
    same, worst, name = 0, 0.0, ""
    for k in sorted(a):
        diff = float((a[k].double() - b[k].double()).abs().max())
        same += diff == 0.0
        rel = diff / max(float(a[k].abs().max()), 1e-12)
        if rel > worst:
            worst, name = rel, k
    return same, len(a), worst, name


def _pct(v) -> str:
    return "–" if v is None else f"{100 * v:.1f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("screens", nargs="+", type=Path, help="screen directories (weights + screen.json)")
    ap.add_argument("--dataset", required=True, type=Path)
    ap.add_argument("--split", default="test")
    ap.add_argument("--backend", default="onnx-int8", choices=("onnx-int8", "onnx", "torch"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--by-origin", action="store_true", help="also break the figures down by row origin")
    ap.add_argument("--by-family", action="store_true",
                    help="also print, per family group (first three parts of the family), the share predicted as labelled")
    args = ap.parse_args(argv)

    import datasets

    from guardagent.screens.encoder import Runtime
    from guardagent.training.screen_trainer import _rows, metrics_for, predict_labels

    split = datasets.load_from_disk(str(args.dataset))[args.split]
    rows = _rows(split)
    for r, origin in zip(rows, split["origin"]):
        r["origin"] = origin
    groups = {"all rows": list(range(len(rows)))}
    if args.by_origin:
        for origin in sorted({r["origin"] for r in rows}):
            groups[origin] = [i for i, r in enumerate(rows) if r["origin"] == origin]

    if len(args.screens) > 1:
        print(f"| screen | tensors identical to {args.screens[0]}'s | largest relative difference (tensor) |")
        print("|---|---:|---|")
        for d in args.screens[1:]:
            diff = weights_diff(args.screens[0], d)
            if diff is None:
                print(f"| {d} | – (other tensors) | – |")
                continue
            same, n, worst, name = diff
            print(f"| {d} | {same} / {n} | {worst:.2e} ({name or '–'}) |")
        print()
    print(f"# {len(rows)} rows of {args.dataset} [{args.split}], {args.backend} backend, each screen at its own thresholds")
    print("| screen | rows | source | n | accuracy | benign passed | malicious flagged | malicious refused | sensitive recall |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|")
    by_windows = []
    ranking = []
    families: dict[tuple[str, str, str], dict[Path, tuple[int, int]]] = {}
    for d in args.screens:
        rt = Runtime(d, backend=args.backend, threads=args.threads)
        thresholds = json.loads((d / "screen.json").read_text(encoding="utf-8"))["thresholds"]
        scores, windows = _score(rt, rows)
        preds = predict_labels(scores, [r["source"] for r in rows], thresholds)
        for name, idx in groups.items():
            m = metrics_for([rows[i] for i in idx], [preds[i] for i in idx])
            for src, v in m.items():
                if src == "all":
                    continue
                print(f"| {d} | {name} | {src} | {v['n']} | {_pct(v['accuracy'])} | {_pct(v.get('benign_passed'))} | "
                      f"{_pct(v.get('malicious_flagged'))} | {_pct(v.get('malicious_refused'))} | {_pct(v.get('sensitive_recall'))} |")
        ranking += [(d, *row) for row in _ranking(rows, scores)]
        if args.by_family:
            for key, hits in _by_family(rows, split["family"], preds).items():
                families.setdefault(key, {})[d] = hits
        for label in ("benign", "malicious"):
            for multi in (False, True):
                idx = [i for i, r in enumerate(rows)
                       if r["source"] == "tool" and r["label"] == label and (windows[i] > 1) == multi]
                flagged = sum(preds[i] != "benign" for i in idx)
                by_windows.append((d, label, "2+" if multi else "1", flagged, len(idx)))
    print("\n| screen | tool results | windows | flagged |")
    print("|---|---|---|---:|")
    for d, label, w, flagged, n in by_windows:
        share = f"{100 * flagged / n:.1f}% ({flagged} / {n})" if n else "–"
        print(f"| {d} | {'clean' if label == 'benign' else 'injected'} | {w} | {share} |")
    if families:
        names = " | ".join(str(d) for d in args.screens)
        print(f"\n| source | label | family group | n | as labelled: {names} |")
        print("|---|---|---|---:|" + "---:|" * len(args.screens))
        for (src, label, fam), per in sorted(families.items()):
            n = per[args.screens[0]][1]
            cells = " | ".join(f"{100 * per[d][0] / n:.1f}" for d in args.screens)
            print(f"| {src} | {label} | {fam} | {n} | {cells} |")
    print("\n| screen | source | flagged vs benign: AUC | TPR@1%FPR | TPR@3%FPR | malicious vs benign: AUC | TPR@2%FPR |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for d, src, auc, t1, t3, mauc, m2 in ranking:
        print(f"| {d} | {src} | {auc:.4f} | {_pct(t1)} | {_pct(t3)} | {mauc:.4f} | {_pct(m2)} |")
    return 0


def _by_family(rows, family, preds) -> dict[tuple[str, str, str], tuple[int, int]]:
    """(source, label, family group) -> (rows predicted as labelled, rows)."""
    out: dict[tuple[str, str, str], tuple[int, int]] = {}
    for r, fam, pred in zip(rows, family, preds):
        key = (r["source"], r["label"], ".".join(fam.split(".")[:3]))
        hit, n = out.get(key, (0, 0))
        out[key] = (hit + (pred == r["label"]), n + 1)
    return out


def _ranking(rows, scores):
    """Per source: (source, AUC, TPR@1%, TPR@3% of 1 - p(benign); AUC, TPR@2% of p(malicious))."""
    from guardagent.eval.metrics import roc_curve

    out = []
    for src in ("user", "action", "tool"):
        idx = [i for i, r in enumerate(rows) if r["source"] == src]
        labels = [rows[i]["label"] for i in idx]
        if "benign" not in labels or set(labels) == {"benign"}:
            continue
        flag = roc_curve([lab != "benign" for lab in labels], [1.0 - float(scores[i][0]) for i in idx])
        mal_idx = [i for i, lab in zip(idx, labels) if lab in ("benign", "malicious")]
        if "malicious" in labels:
            mal = roc_curve([rows[i]["label"] == "malicious" for i in mal_idx], [float(scores[i][1]) for i in mal_idx])
            mauc, m2 = mal.auc, mal.tpr_at_fpr(0.02)[0]
        else:
            mauc, m2 = float("nan"), None
        out.append((src, flag.auc, flag.tpr_at_fpr(0.01)[0], flag.tpr_at_fpr(0.03)[0], mauc, m2))
    return out


if __name__ == "__main__":
    raise SystemExit(main())
