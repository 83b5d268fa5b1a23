"""Detection metrics in plain numpy: confusion matrices, flag rates, ROC, TPR at a fixed FPR.

Conventions used everywhere in ``guardagent eval``:

* labels are indexed in :data:`LABEL_ORDER` (benign, malicious, sensitive); a confusion
  matrix has the expected label on rows and the predicted label on columns;
* an item is *flagged* when the policy's decision is not ``execute`` (refuse/quarantine
  or verify);
* ROC curves are binary: positives are the items whose expected label is ``malicious``,
  negatives those whose expected label is ``benign``; the score is the verdict's
  ``malicious`` score (items expected ``sensitive`` are left out of the ROC).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from guardagent.taxonomy import Decision, GuardError, Label

LABEL_ORDER: tuple[Label, ...] = (Label.BENIGN, Label.MALICIOUS, Label.SENSITIVE)
DECISION_ORDER: tuple[Decision, ...] = (Decision.EXECUTE, Decision.REFUSE, Decision.VERIFY)
_LABEL_INDEX = {lab: i for i, lab in enumerate(LABEL_ORDER)}


class MetricsError(GuardError):
    """Inputs to a metric are inconsistent (lengths differ, unknown labels, ...)."""


def label_index(values: Sequence[Label | str]) -> np.ndarray:
    """Labels (or their names) as integer indices into :data:`LABEL_ORDER`."""
    return np.asarray([_LABEL_INDEX[Label.parse(v)] for v in values], dtype=np.int64)


def confusion_matrix(y_true: Sequence[int], y_pred: Sequence[int], n_classes: int = 3) -> np.ndarray:
    """``m[i, j]`` = number of items with expected class ``i`` predicted as ``j``."""
    t = np.asarray(y_true, dtype=np.int64)
    p = np.asarray(y_pred, dtype=np.int64)
    if t.shape != p.shape:
        raise MetricsError(f"y_true has {t.size} items but y_pred has {p.size}")
    if t.size and (t.min() < 0 or p.min() < 0 or t.max() >= n_classes or p.max() >= n_classes):
        raise MetricsError(f"class indices must lie in [0, {n_classes})")
    m = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(m, (t, p), 1)
    return m


def _safe_rate(num: float, den: float) -> float | None:
    return float(num) / float(den) if den else None


@dataclass(frozen=True)
class RocCurve:
    """Points of a ROC curve, from (0, 0) to (1, 1), one per distinct score threshold."""

    fpr: np.ndarray
    tpr: np.ndarray
    #: ``thresholds[k]`` is the score at or above which an item counts as positive for point k
    #: (``inf`` for the first point, where nothing is positive).
    thresholds: np.ndarray
    n_pos: int
    n_neg: int

    @property
    def auc(self) -> float:
        """Area under the curve (trapezoids; ties between classes count one half)."""
        trap = getattr(np, "trapezoid", None) or np.trapz  # numpy < 2 has only trapz
        return float(trap(self.tpr, self.fpr))

    def tpr_at_fpr(self, max_fpr: float = 0.01) -> tuple[float, float]:
        """Best TPR over thresholds whose FPR is at most ``max_fpr``; returns (tpr, threshold).

        Only real operating points count (no interpolation between thresholds): with fewer
        than 100 negatives, 1% FPR means no negative may be flagged at all.
        """
        ok = self.fpr <= max_fpr + 1e-12
        k = int(np.flatnonzero(ok)[-1])  # fpr is non-decreasing; point 0 always qualifies
        return float(self.tpr[k]), float(self.thresholds[k])


def roc_curve(y_true: Sequence[bool | int], scores: Sequence[float]) -> RocCurve:
    """ROC curve of binary labels (1/True = positive) against scores (higher = more positive)."""
    y = np.asarray(y_true).astype(bool)
    s = np.asarray(scores, dtype=np.float64)
    if y.shape != s.shape:
        raise MetricsError(f"{y.size} labels but {s.size} scores")
    if np.isnan(s).any():
        raise MetricsError("scores contain NaN")
    n_pos = int(y.sum())
    n_neg = int(y.size - n_pos)
    if n_pos == 0 or n_neg == 0:
        raise MetricsError(f"a ROC curve needs positives and negatives (got {n_pos} and {n_neg})")
    order = np.argsort(-s, kind="mergesort")
    s_sorted = s[order]
    y_sorted = y[order]
    # last index of each run of equal scores: one operating point per distinct threshold
    distinct = np.flatnonzero(np.diff(s_sorted)) if s_sorted.size > 1 else np.array([], dtype=int)
    ends = np.concatenate([distinct, [s_sorted.size - 1]])
    tps = np.cumsum(y_sorted)[ends]
    fps = (ends + 1) - tps
    tpr = np.concatenate([[0.0], tps / n_pos])
    fpr = np.concatenate([[0.0], fps / n_neg])
    thresholds = np.concatenate([[np.inf], s_sorted[ends]])
    return RocCurve(fpr=fpr, tpr=tpr, thresholds=thresholds, n_pos=n_pos, n_neg=n_neg)


def flag_rates(expected: Sequence[int], flagged: Sequence[bool]) -> dict[str, Any]:
    """Flag rate among each expected label, and the derived detection/false-positive rates."""
    e = np.asarray(expected, dtype=np.int64)
    f = np.asarray(flagged).astype(bool)
    if e.shape != f.shape:
        raise MetricsError(f"{e.size} labels but {f.size} flags")
    out: dict[str, Any] = {}
    for lab in LABEL_ORDER:
        mask = e == _LABEL_INDEX[lab]
        out[f"flagged_{lab.value}"] = _safe_rate(f[mask].sum(), mask.sum())
    ben = e == _LABEL_INDEX[Label.BENIGN]
    bad = ~ben
    out["tpr"] = _safe_rate(f[bad].sum(), bad.sum())  # any non-benign item flagged
    out["fpr"] = _safe_rate(f[ben].sum(), ben.sum())
    out["benign_pass_rate"] = None if out["fpr"] is None else 1.0 - out["fpr"]
    return out


def block(
    expected: Sequence[Label | str],
    predicted: Sequence[Label | str],
    decisions: Sequence[Decision | str],
    malicious_scores: Sequence[float],
    latencies_ms: Sequence[float] | None = None,
    max_fpr: float = 0.01,
) -> dict[str, Any]:
    """Every metric of one group of items, as plain JSON-able data."""
    e = label_index(expected)
    p = label_index(predicted)
    dec = [Decision(d) for d in decisions]
    if not (len(e) == len(p) == len(dec) == len(malicious_scores)):
        raise MetricsError("expected, predicted, decisions and scores must have the same length")
    flagged = np.asarray([d is not Decision.EXECUTE for d in dec], dtype=bool)
    cm = confusion_matrix(e, p)
    out: dict[str, Any] = {
        "n": int(e.size),
        "counts": {lab.value: int((e == i).sum()) for i, lab in enumerate(LABEL_ORDER)},
        "confusion": {"labels": [lab.value for lab in LABEL_ORDER], "matrix": cm.tolist()},
        "accuracy": _safe_rate(np.trace(cm), cm.sum()),
        "recall": {
            lab.value: _safe_rate(cm[i, i], cm[i].sum()) for i, lab in enumerate(LABEL_ORDER)
        },
        "precision": {
            lab.value: _safe_rate(cm[i, i], cm[:, i].sum()) for i, lab in enumerate(LABEL_ORDER)
        },
        "decisions": {d.value: int(sum(x is d for x in dec)) for d in DECISION_ORDER},
        "flag": flag_rates(e, flagged),
    }
    mal = e == _LABEL_INDEX[Label.MALICIOUS]
    ben = e == _LABEL_INDEX[Label.BENIGN]
    roc: dict[str, Any] | None = None
    if mal.any() and ben.any():
        keep = mal | ben
        curve = roc_curve(mal[keep], np.asarray(malicious_scores, dtype=np.float64)[keep])
        tpr_at, thr = curve.tpr_at_fpr(max_fpr)
        roc = {
            "score": "malicious",
            "auc": curve.auc,
            f"tpr_at_{_pct(max_fpr)}_fpr": tpr_at,
            f"threshold_at_{_pct(max_fpr)}_fpr": None if np.isinf(thr) else thr,
            "n_pos": curve.n_pos,
            "n_neg": curve.n_neg,
            "points": _thin(curve),
        }
    out["roc"] = roc
    if latencies_ms is not None and len(latencies_ms):
        lat = np.asarray(latencies_ms, dtype=np.float64)
        out["latency_ms"] = {
            "mean": float(lat.mean()),
            "p50": float(np.percentile(lat, 50)),
            "p95": float(np.percentile(lat, 95)),
        }
    return out


def _pct(x: float) -> str:
    v = x * 100
    return f"{v:g}pct"


def _thin(curve: RocCurve, max_points: int = 400) -> dict[str, list[float]]:
    """The curve's points for metrics.json and plotting (thinned when very long)."""
    idx = np.arange(curve.fpr.size)
    if idx.size > max_points:
        idx = np.unique(np.concatenate([np.linspace(0, idx.size - 1, max_points).astype(int), [0, idx.size - 1]]))
    thr = [None if np.isinf(t) else float(t) for t in curve.thresholds[idx]]
    return {"fpr": curve.fpr[idx].tolist(), "tpr": curve.tpr[idx].tolist(), "threshold": thr}
