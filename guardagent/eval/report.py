"""Write an evaluation's results: metrics.json, report.md, ROC curves (PNG), predictions.jsonl.

matplotlib is imported here only, with the Agg backend, so the metrics path stays numpy-only.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any


def _fmt(x: Any, pct: bool = True, digits: int = 1) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    if pct:
        return f"{100 * x:.{digits}f}%"
    return f"{x:.3f}"


def plot_roc(set_name: str, set_metrics: dict[str, Any], path: Path) -> bool:
    """ROC curves (malicious vs benign, malicious score) of every source of a set; False if none."""
    curves = [
        (src, b) for src, b in set_metrics["by_source"].items() if b.get("roc") is not None
    ]
    if not curves:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.2, 4.6), dpi=110)
    for src, b in curves:
        roc = b["roc"]
        pts = roc["points"]
        line = ax.plot(
            pts["fpr"], pts["tpr"],
            label=f"{src} (AUC {roc['auc']:.3f}, n={roc['n_pos']}+{roc['n_neg']})",
        )[0]
        fl = b["flag"]
        if fl.get("flagged_benign") is not None and fl.get("flagged_malicious") is not None:
            ax.plot(
                [fl["flagged_benign"]], [fl["flagged_malicious"]], marker="o",
                color=line.get_color(), markersize=7, markeredgecolor="black",
            )
    ax.plot([0, 1], [0, 1], linestyle=":", color="grey", linewidth=0.8)
    ax.axvline(0.01, linestyle="--", color="grey", linewidth=0.8)
    ax.set_xlim(-0.01, 1.0)
    ax.set_ylim(0.0, 1.01)
    ax.set_xlabel("false-positive rate (benign flagged)")
    ax.set_ylabel("true-positive rate (malicious detected)")
    ax.set_title(f"{set_name}: ROC, malicious score\n(dot: decisions at the policy thresholds)", fontsize=10)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return True


def _confusion_md(block: dict[str, Any]) -> list[str]:
    labels = block["confusion"]["labels"]
    m = block["confusion"]["matrix"]
    lines = ["| expected \\ predicted | " + " | ".join(labels) + " |", "|---|" + "---:|" * len(labels)]
    for lab, row in zip(labels, m):
        if sum(row):
            lines.append(f"| {lab} | " + " | ".join(str(v) for v in row) + " |")
    return lines


def _source_table(by: dict[str, Any], key_name: str) -> list[str]:
    lines = [
        f"| {key_name} | n | benign / malicious / sensitive | malicious flagged | sensitive flagged "
        "| benign flagged | accuracy | AUC | TPR@1%FPR |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, b in by.items():
        c = b["counts"]
        roc = b.get("roc") or {}
        lines.append(
            f"| {name} | {b['n']} | {c['benign']} / {c['malicious']} / {c['sensitive']} "
            f"| {_fmt(b['flag']['flagged_malicious'])} | {_fmt(b['flag']['flagged_sensitive'])} "
            f"| {_fmt(b['flag']['flagged_benign'])} | {_fmt(b['accuracy'])} "
            f"| {_fmt(roc.get('auc'), pct=False)} | {_fmt(roc.get('tpr_at_1pct_fpr'))} |"
        )
    return lines


def render_markdown(metrics: dict[str, Any], figures: dict[str, str]) -> str:
    lines = ["# guardagent evaluation", ""]
    pol = metrics.get("policy", {})
    lines += [
        f"- policy: {pol.get('origin', 'default')}",
        "- screens: " + "; ".join(f"{s}: {'+'.join(v['screens'])} (malicious ≥ {v['thresholds']['malicious']}, "
                                  f"sensitive ≥ {v['thresholds']['sensitive']})" for s, v in pol.get("sources", {}).items()),
        f"- generated: {metrics.get('generated_at', '')}; screening took {metrics.get('elapsed_s', 0):.1f}s",
        "- *flagged* = decision is not `execute` (refuse/quarantine or verify); ROC and TPR@1%FPR use "
        "the verdict's malicious score, malicious vs benign items only.",
        "",
        "## Targets",
        "",
        "| target | value | required | n | status |",
        "|---|---:|---:|---:|---|",
    ]
    for t in metrics["targets"]:
        lines.append(
            f"| {t['target']} | {_fmt(t['value'], digits=2)} | {t['op']} {_fmt(t['threshold'])} "
            f"| {t['n'] if t['n'] is not None else '–'} | **{t['status']}** |"
        )
    if metrics.get("notes"):
        lines += ["", *[f"- {n}" for n in metrics["notes"]]]
    for name, sm in metrics["sets"].items():
        lines += ["", f"## {name}", "", f"{sm['n']} items."]
        for n in sm.get("notes", []):
            lines.append(f"- {n}")
        lines += ["", "### Per source", "", *_source_table(sm["by_source"], "source")]
        for src, b in sm["by_source"].items():
            lines += ["", f"Confusion matrix, source `{src}`:", "", *_confusion_md(b)]
        if sm.get("by_scenario"):
            lines += ["", "### Per scenario", "", *_source_table(sm["by_scenario"], "scenario")]
        for key, groups in sm.get("breakdowns", {}).items():
            lines += ["", f"### By {key}", "", *_source_table(groups, key)]
        if name in figures:
            lines += ["", f"![ROC {name}]({figures[name]})"]
    return "\n".join(lines) + "\n"


def write_report(out_dir: Path, metrics: dict[str, Any], predictions: dict[str, list[dict[str, Any]]]) -> dict[str, Path]:
    """Write every output file; returns their paths by kind."""
    out_dir.mkdir(parents=True, exist_ok=True)
    figures: dict[str, str] = {}
    paths: dict[str, Path] = {}
    for name, sm in metrics["sets"].items():
        png = out_dir / f"roc_{name}.png"
        if plot_roc(name, sm, png):
            figures[name] = png.name
            paths[f"roc_{name}"] = png
    metrics["figures"] = figures
    mj = out_dir / "metrics.json"
    mj.write_text(json.dumps(metrics, indent=2, default=str) + "\n", encoding="utf-8")
    paths["metrics"] = mj
    md = out_dir / "report.md"
    md.write_text(render_markdown(metrics, figures), encoding="utf-8")
    paths["report"] = md
    pj = out_dir / "predictions.jsonl"
    with pj.open("w", encoding="utf-8") as fh:
        for records in predictions.values():
            for r in records:
                fh.write(json.dumps(r, ensure_ascii=False, default=str) + "\n")
    paths["predictions"] = pj
    return paths


__all__ = ["plot_roc", "render_markdown", "write_report"]
