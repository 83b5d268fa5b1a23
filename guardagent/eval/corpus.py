"""The project's own screen corpus, held-out test split, as an evaluation set.

Rows follow the screen-dataset contract (docs/dev/CONTRACTS.md): ``id, text, source, label,
scenario, family, origin, domain, tool_name, split``. They come from
``guardagent.training.corpus.build_screen_dataset`` (``--build-corpus``) or from a saved
dataset: a ``datasets.save_to_disk`` directory, a JSONL/JSON file, or a directory of JSONL
files (``test.jsonl``, or files whose rows carry ``split``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

from guardagent.eval.samples import EvalDataError, EvalSample, EvalSet, cap_per_stratum
from guardagent.taxonomy import GuardError, Label, Source

REQUIRED = ("text", "source", "label")
TEST_SPLIT = "test"


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    rows = []
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise EvalDataError(f"{path}:{lineno}: invalid JSON ({exc.msg})") from None
            if not isinstance(row, dict):
                raise EvalDataError(f"{path}:{lineno}: expected a JSON object")
            row.setdefault("_where", f"{path}:{lineno}")
            rows.append(row)
    return rows


def _is_hf_dataset_dir(d: Path) -> bool:
    return (d / "dataset_dict.json").is_file() or (d / "state.json").is_file()


def _rows_from_hf(obj: Any, origin: str) -> list[dict[str, Any]]:
    """Rows of a ``datasets`` Dataset/DatasetDict (test split only for a dict)."""
    if isinstance(obj, dict):  # DatasetDict is a dict subclass
        keys = list(obj.keys())
        if TEST_SPLIT not in keys:
            raise EvalDataError(f"{origin}: no '{TEST_SPLIT}' split (splits: {keys})")
        rows = [dict(r) for r in obj[TEST_SPLIT]]
        for r in rows:
            r.setdefault("split", TEST_SPLIT)
        return rows
    if hasattr(obj, "column_names"):
        return [dict(r) for r in obj]
    if isinstance(obj, list):
        return [dict(r) for r in obj]
    raise EvalDataError(f"{origin}: unsupported dataset object {type(obj).__name__}")


def load_rows(path: str | Path) -> list[dict[str, Any]]:
    """All rows of a saved corpus (any split), with clear errors for a missing or bad path."""
    p = Path(path)
    if not p.exists():
        raise EvalDataError(f"corpus not found: {p}")
    if p.is_file():
        if p.suffix == ".jsonl":
            return _read_jsonl(p)
        if p.suffix == ".json":
            try:
                data = json.loads(p.read_text(encoding="utf-8"))
            except json.JSONDecodeError as exc:
                raise EvalDataError(f"{p}: invalid JSON at line {exc.lineno} ({exc.msg})") from None
            if not isinstance(data, list):
                raise EvalDataError(f"{p}: expected a JSON list of rows")
            return [dict(r) for r in data]
        raise EvalDataError(f"{p}: unsupported corpus file (use .jsonl, .json or a dataset directory)")
    if _is_hf_dataset_dir(p):
        try:
            from datasets import load_from_disk
        except ImportError as exc:  # pragma: no cover - datasets is in the train extra
            raise EvalDataError(f"{p} is a saved HF dataset but `datasets` is missing ({exc})") from None
        return _rows_from_hf(load_from_disk(str(p)), str(p))
    test_file = p / f"{TEST_SPLIT}.jsonl"
    if test_file.is_file():
        rows = _read_jsonl(test_file)
        for r in rows:
            r.setdefault("split", TEST_SPLIT)
        return rows
    files = sorted(p.glob("*.jsonl"))
    if not files:
        raise EvalDataError(
            f"{p}: not a corpus (expected a saved dataset, {TEST_SPLIT}.jsonl, or *.jsonl files)"
        )
    rows = []
    for f in files:
        rows.extend(_read_jsonl(f))
    return rows


def build_rows(**kwargs: Any) -> list[dict[str, Any]]:
    """Rows from ``guardagent.training.corpus.build_screen_dataset`` (built in memory)."""
    try:
        from guardagent.training.corpus import build_screen_dataset
    except ImportError as exc:
        raise EvalDataError(
            f"cannot build the corpus: guardagent.training.corpus is not available ({exc})"
        ) from None
    return _rows_from_hf(build_screen_dataset(**kwargs), "build_screen_dataset()")


def _sample(row: dict[str, Any], n: int) -> EvalSample:
    where = row.get("_where") or f"row {n}"
    missing = [k for k in REQUIRED if row.get(k) in (None, "")]
    if missing:
        raise EvalDataError(f"corpus {where}: missing field(s) {missing}")
    try:
        source = Source.parse(row["source"])
        label = Label.parse(row["label"])
    except GuardError as exc:
        raise EvalDataError(f"corpus {where}: {exc}") from None
    args = row.get("tool_args")
    if isinstance(args, str) and args.strip():
        try:
            args = json.loads(args)
        except json.JSONDecodeError:
            args = None
    if not isinstance(args, dict):
        args = None
    scenario = str(row.get("scenario") or "")
    return EvalSample(
        id=str(row.get("id") or f"corpus-{n}"),
        text=str(row["text"]),
        source=source,
        label=label,
        scenario=scenario,
        group=str(row.get("family") or ""),
        tool_name=row.get("tool_name") or None,
        tool_args=args,
        meta={
            "scenario": scenario or "none",
            "family": str(row.get("family") or "none"),
            "origin": str(row.get("origin") or "none"),
        },
    )


def corpus_test_set(
    rows: Iterable[dict[str, Any]],
    *,
    origin: str,
    limit: int | None = None,
    seed: int = 0,
) -> EvalSet:
    """The test-split rows as samples; ``limit`` caps each (source, label) stratum."""
    rows = list(rows)
    if not rows:
        raise EvalDataError(f"{origin}: the corpus is empty")
    if any("split" in r for r in rows):
        test = [r for r in rows if str(r.get("split", "")).lower() == TEST_SPLIT]
        if not test:
            splits = sorted({str(r.get("split")) for r in rows})
            raise EvalDataError(f"{origin}: no rows in the '{TEST_SPLIT}' split (splits: {splits})")
    else:
        raise EvalDataError(f"{origin}: rows have no 'split' field; cannot find the held-out test split")
    samples = [_sample(r, i) for i, r in enumerate(test)]
    samples, capped = cap_per_stratum(samples, limit, key=lambda s: (s.source.value, s.label.value), seed=seed)
    notes = [f"{k}: {limit} kept of {v} (limit {limit})" for k, v in capped.items()] if capped else []
    return EvalSet(
        name="corpus",
        samples=samples,
        notes=notes,
        info={
            "origin": origin,
            "split": TEST_SPLIT,
            "rows_total": len(rows),
            "rows_test": len(test),
            "limit": limit,
            "breakdowns": ["scenario", "family", "origin"],
        },
    )
