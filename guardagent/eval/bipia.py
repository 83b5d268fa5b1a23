"""BIPIA (indirect prompt injection in emails, tables and code) read from its native files.

A BIPIA directory holds, for one split name ``S``:

* ``email_S.jsonl``, ``table_S.jsonl``, ``code_S.jsonl`` - one external content per line
  (``context`` is a string, or a list of lines for code; ``question``, ``ideal``, ... unused);
* ``text_attack_S.json``, ``code_attack_S.json`` - attack category -> list of instructions.

As in BIPIA, a clean context is the benign counterpart and an attack is inserted at the
start, in the middle (before a randomly chosen sentence) or at the end of a context, joined
with newlines; code attacks go into code contexts, text attacks into emails and tables.
Every text is screened as a tool result. Evaluation only: never train or tune on it.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any

from guardagent.eval.samples import EvalDataError, EvalSample, EvalSet
from guardagent.taxonomy import Label, Source

TASKS: dict[str, str] = {"email": "text", "table": "text", "code": "code"}
POSITIONS: tuple[str, ...] = ("start", "middle", "end")
#: Default cap per (task, clean|injected): the full product is ~220k texts for the dev split.
DEFAULT_LIMIT = 300

_SENTENCE_END = re.compile(r"[.!?][\"')\]]*\s+(?=\S)")


def splits_in(directory: Path) -> list[str]:
    """Split names for which the directory has at least one context file and its attacks."""
    found = set()
    for p in directory.glob("*_attack_*.json"):
        m = re.fullmatch(r"(text|code)_attack_(.+)\.json", p.name)
        if m:
            found.add(m.group(2))
    return sorted(
        s for s in found if any((directory / f"{task}_{s}.jsonl").is_file() for task in TASKS)
    )


def sentence_starts(text: str) -> list[int]:
    """Offsets where sentences start (0 first): a light stand-in for BIPIA's Punkt spans."""
    starts = [0]
    starts.extend(m.end() for m in _SENTENCE_END.finditer(text))
    return starts


def insert(context: str, attack: str, position: str, rng: random.Random | None = None) -> str:
    """Insert ``attack`` into ``context`` the way BIPIA does (newline-joined)."""
    if position == "start":
        return "\n".join([attack, context])
    if position == "end":
        return "\n".join([context, attack])
    if position == "middle":
        start = (rng or random.Random(0)).choice(sentence_starts(context))
        return "\n".join([context[:start], attack, context[start:]])
    raise ValueError(f"unknown insertion position {position!r}: expected one of {POSITIONS}")


def _load_contexts(path: Path) -> list[str]:
    out: list[str] = []
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise EvalDataError(f"{path}:{lineno}: invalid JSON ({exc.msg})") from None
            if not isinstance(row, dict) or "context" not in row:
                raise EvalDataError(f"{path}:{lineno}: expected an object with a 'context' field")
            ctx = row["context"]
            if isinstance(ctx, list) and all(isinstance(x, str) for x in ctx):
                ctx = "\n".join(ctx)
            if not isinstance(ctx, str):
                raise EvalDataError(
                    f"{path}:{lineno}: 'context' must be a string or a list of strings, "
                    f"got {type(ctx).__name__}"
                )
            out.append(ctx)
    if not out:
        raise EvalDataError(f"{path}: no contexts")
    return out


def _load_attacks(path: Path) -> list[tuple[str, str]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise EvalDataError(f"{path}: invalid JSON at line {exc.lineno} ({exc.msg})") from None
    if not isinstance(data, dict) or not data:
        raise EvalDataError(f"{path}: expected a non-empty object of category -> list of instructions")
    out: list[tuple[str, str]] = []
    for cat, items in data.items():
        if not isinstance(items, list) or not all(isinstance(x, str) for x in items):
            raise EvalDataError(f"{path}: category {cat!r} must map to a list of strings")
        out.extend((str(cat), x) for x in items)
    if not out:
        raise EvalDataError(f"{path}: no attack instructions")
    return out


def load_bipia(
    directory: str | Path,
    split: str | None = None,
    limit: int | None = DEFAULT_LIMIT,
    seed: int = 0,
) -> EvalSet:
    """Clean and injected tool results from a BIPIA directory.

    ``limit`` caps each (task, clean|injected) stratum with a seeded random subset of the
    contexts and of the context x attack x position product; ``None`` or 0 keeps everything.
    """
    d = Path(directory)
    if not d.is_dir():
        raise EvalDataError(f"BIPIA directory not found: {d}")
    available = splits_in(d)
    if split is None:
        if not available:
            raise EvalDataError(
                f"{d}: no BIPIA split found (expected e.g. email_test.jsonl and text_attack_test.json)"
            )
        if len(available) > 1:
            raise EvalDataError(f"{d}: several BIPIA splits {available}; choose one with --bipia-split")
        split = available[0]
    elif split not in available:
        raise EvalDataError(f"{d}: split {split!r} not found (available: {available or 'none'})")

    samples: list[EvalSample] = []
    notes: list[str] = []
    counts: dict[str, dict[str, int]] = {}
    attacks_cache: dict[str, list[tuple[str, str]]] = {}
    for task, kind in TASKS.items():
        ctx_path = d / f"{task}_{split}.jsonl"
        if not ctx_path.is_file():
            notes.append(f"{task}: {ctx_path.name} absent, task skipped")
            continue
        att_path = d / f"{kind}_attack_{split}.json"
        if not att_path.is_file():
            raise EvalDataError(f"{d}: {ctx_path.name} needs {att_path.name}, which is missing")
        if kind not in attacks_cache:
            attacks_cache[kind] = _load_attacks(att_path)
        attacks = attacks_cache[kind]
        contexts = list(dict.fromkeys(_load_contexts(ctx_path)))  # dedupe, keep order
        rng = random.Random(f"bipia:{seed}:{task}")
        tool = f"bipia_{task}"

        clean_idx = list(range(len(contexts)))
        if limit and len(clean_idx) > limit:
            clean_idx = sorted(rng.sample(clean_idx, limit))
        for ci in clean_idx:
            samples.append(
                EvalSample(
                    id=f"bipia-{split}-{task}-{ci}-clean",
                    text=contexts[ci],
                    source=Source.TOOL,
                    label=Label.BENIGN,
                    scenario="BU-BT",
                    group=task,
                    tool_name=tool,
                    meta={"task": task, "position": "clean", "attack_category": "clean"},
                )
            )

        total = len(contexts) * len(attacks) * len(POSITIONS)
        inj_idx = range(total) if not limit or total <= limit else sorted(rng.sample(range(total), limit))
        for k in inj_idx:
            ci, rest = divmod(k, len(attacks) * len(POSITIONS))
            ai, pi = divmod(rest, len(POSITIONS))
            cat, attack = attacks[ai]
            pos = POSITIONS[pi]
            sid = f"bipia-{split}-{task}-{ci}-{ai}-{pos}"
            text = insert(contexts[ci], attack, pos, random.Random(f"{seed}:{sid}"))
            samples.append(
                EvalSample(
                    id=sid,
                    text=text,
                    source=Source.TOOL,
                    label=Label.MALICIOUS,
                    scenario="BU-MT",
                    group=task,
                    tool_name=tool,
                    meta={"task": task, "position": pos, "attack_category": cat},
                )
            )
        counts[task] = {
            "contexts": len(contexts),
            "attacks": len(attacks),
            "clean": len(clean_idx),
            "injected": len(inj_idx),
            "injected_total": total,
        }
        if limit and total > limit:
            notes.append(
                f"{task}: {len(inj_idx)} injected texts sampled (seed {seed}) from the "
                f"{total} context x attack x position combinations"
            )
    if not samples:
        raise EvalDataError(f"{d}: split {split!r} has no usable task (email, table, code)")
    info: dict[str, Any] = {
        "directory": str(d),
        "split": split,
        "limit": limit,
        "seed": seed,
        "tasks": counts,
        "breakdowns": ["task", "position", "attack_category"],
    }
    return EvalSet(name="bipia", samples=samples, notes=notes, info=info)
