"""Metrics against hand-computed values (ROC, AUC, TPR at 1% FPR, confusion, flag rates)."""

from __future__ import annotations

import numpy as np
import pytest

from guardagent.eval import metrics as M
from guardagent.taxonomy import Label


def test_confusion_matrix_hand_computed():
    e = M.label_index(["benign", "benign", "malicious", "malicious", "sensitive", "sensitive"])
    p = M.label_index(["benign", "malicious", "malicious", "benign", "sensitive", "malicious"])
    m = M.confusion_matrix(e, p)
    assert m.tolist() == [[1, 1, 0], [1, 1, 0], [0, 1, 1]]


def test_confusion_matrix_rejects_bad_input():
    with pytest.raises(M.MetricsError):
        M.confusion_matrix([0, 1], [0])
    with pytest.raises(M.MetricsError):
        M.confusion_matrix([0, 3], [0, 1])


def test_roc_curve_points_auc_and_tpr_at_fpr():
    # positives 0.9 0.8 0.4, negatives 0.7 0.3 0.2 0.1
    y = [1, 1, 1, 0, 0, 0, 0]
    s = [0.9, 0.8, 0.4, 0.7, 0.3, 0.2, 0.1]
    c = M.roc_curve(y, s)
    assert c.fpr.tolist() == pytest.approx([0, 0, 0, 0.25, 0.25, 0.5, 0.75, 1.0])
    assert c.tpr.tolist() == pytest.approx([0, 1 / 3, 2 / 3, 2 / 3, 1, 1, 1, 1])
    assert c.auc == pytest.approx(11 / 12)  # 11 of 12 (pos, neg) pairs ranked right
    tpr, thr = c.tpr_at_fpr(0.01)
    assert tpr == pytest.approx(2 / 3) and thr == pytest.approx(0.8)
    tpr, thr = c.tpr_at_fpr(0.25)
    assert tpr == pytest.approx(1.0) and thr == pytest.approx(0.4)


def test_roc_ties_count_half_and_no_free_operating_point():
    # a negative tied with every positive: no threshold separates them
    c = M.roc_curve([1, 1, 0, 0], [0.5, 0.5, 0.5, 0.1])
    assert c.auc == pytest.approx(0.75)
    tpr, thr = c.tpr_at_fpr(0.01)
    assert tpr == 0.0 and np.isinf(thr)


def test_tpr_at_1pct_fpr_with_many_negatives():
    # 200 negatives: 1% FPR allows exactly 2 of them at or above the threshold; at 0.6 the
    # third (0.7) would make it 1.5%, so the operating point is 0.8 (3 of 4 positives)
    neg = np.linspace(0.0, 0.5, 197).tolist() + [0.95, 0.85, 0.7]
    pos = [0.99, 0.9, 0.8, 0.6]
    c = M.roc_curve([1] * 4 + [0] * 200, pos + neg)
    tpr, thr = c.tpr_at_fpr(0.01)
    assert thr == pytest.approx(0.8)
    assert tpr == pytest.approx(3 / 4)


def test_roc_matches_sklearn_on_random_scores():
    sk = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 300)
    s = np.round(rng.random(300) + 0.4 * y, 2)  # rounded: plenty of ties
    assert M.roc_curve(y, s).auc == pytest.approx(sk.roc_auc_score(y, s))


def test_roc_needs_both_classes():
    with pytest.raises(M.MetricsError):
        M.roc_curve([1, 1], [0.2, 0.3])


def test_block_flag_rates_and_roc():
    expected = ["benign", "benign", "benign", "benign", "malicious", "malicious", "sensitive"]
    predicted = ["benign", "benign", "benign", "sensitive", "malicious", "benign", "sensitive"]
    decisions = ["execute", "execute", "execute", "verify", "refuse", "execute", "verify"]
    mal = [0.1, 0.2, 0.1, 0.3, 0.95, 0.25, 0.0]
    b = M.block(expected, predicted, decisions, mal, latencies_ms=[1, 2, 3, 4, 5, 6, 7])
    assert b["n"] == 7
    assert b["counts"] == {"benign": 4, "malicious": 2, "sensitive": 1}
    assert b["confusion"]["matrix"] == [[3, 0, 1], [1, 1, 0], [0, 0, 1]]
    assert b["accuracy"] == pytest.approx(5 / 7)
    f = b["flag"]
    assert f["flagged_benign"] == pytest.approx(1 / 4)
    assert f["flagged_malicious"] == pytest.approx(1 / 2)
    assert f["flagged_sensitive"] == pytest.approx(1.0)
    assert f["tpr"] == pytest.approx(2 / 3)  # any non-benign flagged
    assert f["benign_pass_rate"] == pytest.approx(3 / 4)
    assert b["decisions"] == {"execute": 4, "refuse": 1, "verify": 2}
    # ROC over malicious vs benign only: 0.95 beats all, 0.25 beats 0.1, 0.2, 0.1 but not 0.3
    assert b["roc"]["auc"] == pytest.approx((4 + 3) / 8)
    assert b["roc"]["tpr_at_1pct_fpr"] == pytest.approx(0.5)
    assert b["latency_ms"]["p50"] == pytest.approx(4.0)


def test_block_without_both_classes_has_no_roc():
    b = M.block([Label.MALICIOUS], [Label.BENIGN], ["execute"], [0.4])
    assert b["roc"] is None
    assert b["flag"]["flagged_malicious"] == 0.0
    assert b["flag"]["fpr"] is None


def test_block_rejects_mismatched_lengths():
    with pytest.raises(M.MetricsError):
        M.block(["benign"], ["benign", "benign"], ["execute"], [0.1])
