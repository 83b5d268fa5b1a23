"""Evaluation: benchmark adapters (corpus test split, BIPIA, AgentDojo, extra sets), numpy
metrics, and the report (metrics.json, report.md, ROC PNGs) behind ``guardagent eval``."""

from guardagent.eval.metrics import RocCurve, block, confusion_matrix, flag_rates, roc_curve
from guardagent.eval.samples import EvalDataError, EvalSample, EvalSet

__all__ = [
    "EvalDataError", "EvalSample", "EvalSet", "RocCurve", "block", "confusion_matrix",
    "evaluate", "flag_rates", "roc_curve",
]


def __getattr__(name: str):  # keep `import guardagent.eval` light
    if name == "evaluate":
        from guardagent.eval.runner import evaluate

        return evaluate
    raise AttributeError(name)
