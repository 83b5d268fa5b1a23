"""Corpus filters (as in the paper): exact and near dedupe, injection patterns in benign
items, and label consistency.

* exact: rows whose *normalised* text (case, whitespace, punctuation, digits folded) was
  already seen for the same source are dropped (first one kept);
* near: MinHash (64 hash functions over character 5-gram shingles of the normalised text, LSH
  with 16 bands x 4 rows) finds candidate pairs; a pair whose exact shingle Jaccard is
  >= ``NEAR_THRESHOLD`` (0.8) *with the same source and label* is a duplicate and the later row is
  dropped (a benign document and its injected copy are a contrastive pair, both kept);
* injected benign: a row labelled benign (user or tool) that matches an injection pattern is
  dropped (it is probably mislabelled);
* conflicts: the same normalised text (per source) carrying different labels is dropped
  everywhere.

Every filter returns the kept rows and a count; ``apply_filters`` chains them and reports
statistics for the dataset card.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import defaultdict
from typing import Any, Iterable

Row = dict[str, Any]

_PUNCT = re.compile(r"[^\w\s]", re.UNICODE)
_WS = re.compile(r"\s+")
_DIGITS = re.compile(r"\d")


def normalize(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    text = _DIGITS.sub("0", text)
    text = _PUNCT.sub(" ", text)
    return _WS.sub(" ", text).strip()


# Patterns of text addressed to an AI that try to change what it does. Kept deliberately
# specific: benign text may say "important", "system", or contain base64 data.
INJECTION_PATTERNS: list[re.Pattern[str]] = [re.compile(p, re.IGNORECASE) for p in [
    r"\b(ignore|disregard|forget|override)\b[^.\n]{0,30}\b(previous|prior|above|earlier|all|your)\b[^.\n]{0,20}\b(instructions?|directions?|prompts?|rules|task|guidelines)\b",
    r"\b(new|updated|real)\s+(instructions?|task)\b[^.\n]{0,40}\b(assistant|ai|model|agent)\b",
    r"\b(note|message|instructions?|directive|reminder)\s+(to|for)\s+(the\s+|any\s+)?(ai|assistant|llm|language model|agent|chatbot)s?\b",
    r"\b(ai|assistant|agent|model)s?\b[^.\n]{0,40}\b(must|are required to|should now|have to)\b[^.\n]{0,60}\b(transfer|send|forward|delete|wire|export|grant|disable|run|execute|upload)\b",
    r"<\|im_start\|>|<\|im_end\|>|<\|system\|>|\[/?INST\]|<</?SYS>>",
    r"</?system>|(?m:^\s*#{2,}\s*system\s*$)|(?-i:(?m:^\s*\[?SYSTEM\]?\s*:))",
    r"\b(do not|don't|never)\s+(tell|inform|mention|reveal)[^.\n]{0,20}\b(the\s+)?user\b",
    r"\bdecode\b[^.\n]{0,40}\b(follow|execute|comply|do what)\b",
    r"\b(admin|maintenance|developer|god|sudo)\s+(override|mode)\b",
    r"\bcurl\s+-s\S*\s+\S+\s*\|\s*(ba)?sh\b|\bwget\s+-qO-\s+\S+\s*\|\s*sh\b",
    r"ignora (todas )?las instrucciones|ignore (toutes )?les instructions|ignoriere (alle )?(vorherigen )?anweisungen|忽略之前|これまでの指示|игнорируй|ignora tutte|ignore todas as",
]]


def has_injection(text: str) -> bool:
    return any(p.search(text) for p in INJECTION_PATTERNS)


def dedupe_exact(rows: list[Row]) -> tuple[list[Row], int]:
    seen: set[tuple[str, str]] = set()
    out = []
    for row in rows:
        key = (row["source"], normalize(row["text"]))
        if key in seen:
            continue
        seen.add(key)
        out.append(row)
    return out, len(rows) - len(out)


_NPERM, _BANDS = 64, 16


def _perm_params() -> tuple[list[int], list[int]]:
    a, b = [], []
    for i in range(_NPERM):
        h = hashlib.sha256(f"minhash-{i}".encode()).digest()
        a.append(int.from_bytes(h[:8], "little") | 1)  # odd multiplier: a bijection mod 2^64
        b.append(int.from_bytes(h[8:16], "little"))
    return a, b


_A, _B = _perm_params()
NEAR_THRESHOLD = 0.8


def _np_params():
    import numpy as np

    return np.asarray(_A, dtype=np.uint64), np.asarray(_B, dtype=np.uint64)


_A_NP, _B_NP = _np_params()


def shingles(text: str, n: int = 5):
    """Sorted unique 64-bit hashes of the character n-grams of the normalised text (numpy)."""
    import numpy as np

    norm = normalize(text)
    codes = np.frombuffer(norm.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    if len(codes) < n:
        codes = np.concatenate([codes, np.zeros(n - len(codes), dtype=np.uint64)])
    m = len(codes) - n + 1
    h = np.zeros(m, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for k in range(n):  # polynomial hash, wrapping mod 2^64, then a final mix
            h = h * np.uint64(1000003) + codes[k:k + m]
        h ^= h >> np.uint64(29)
        h *= np.uint64(0xBF58476D1CE4E5B9)
        h ^= h >> np.uint64(32)
    return np.unique(h)


def minhash(sh) -> tuple[int, ...]:
    """MinHash signature: min over shingles of (a*x + b) mod 2^64 for 64 fixed (a, b)."""
    import numpy as np

    if len(sh) == 0:
        return tuple([0] * _NPERM)
    with np.errstate(over="ignore"):
        v = sh[:, None] * _A_NP[None, :] + _B_NP[None, :]
    return tuple(v.min(axis=0).tolist())


def jaccard(a, b) -> float:
    import numpy as np

    inter = len(np.intersect1d(a, b, assume_unique=True))
    union = len(a) + len(b) - inter
    return inter / union if union else 1.0


def dedupe_near(rows: list[Row], threshold: float = NEAR_THRESHOLD) -> tuple[list[Row], int]:
    """Drop rows whose character-5-gram Jaccard with an earlier kept row (same source and label)
    is >= threshold."""
    rows_per = _NPERM // _BANDS
    buckets: dict[tuple, list[int]] = defaultdict(list)
    kept_sh: list = []
    out: list[Row] = []
    dropped = 0
    for row in rows:
        sh = shingles(row["text"])
        sig = minhash(sh)
        # per (source, label): a near-copy with another label is a contrastive pair, not a duplicate
        keys = [(row["source"], row["label"], b, sig[b * rows_per:(b + 1) * rows_per]) for b in range(_BANDS)]
        cands: set[int] = set()
        for k in keys:
            cands.update(buckets.get(k, ()))
        if any(jaccard(sh, kept_sh[c]) >= threshold for c in sorted(cands)):
            dropped += 1
            continue
        idx = len(out)
        out.append(row)
        kept_sh.append(sh)
        for k in keys:
            buckets[k].append(idx)
    return out, dropped


def drop_injected_benign(rows: list[Row]) -> tuple[list[Row], int]:
    out = [r for r in rows if not (r["label"] == "benign" and r["source"] in ("tool", "user") and has_injection(r["text"]))]
    return out, len(rows) - len(out)


def drop_label_conflicts(rows: list[Row]) -> tuple[list[Row], int]:
    labels: dict[tuple[str, str], set[str]] = defaultdict(set)
    for r in rows:
        labels[(r["source"], normalize(r["text"]))].add(r["label"])
    bad = {k for k, v in labels.items() if len(v) > 1}
    out = [r for r in rows if (r["source"], normalize(r["text"])) not in bad]
    return out, len(rows) - len(out)


def drop_empty(rows: Iterable[Row], min_chars: int = 8) -> tuple[list[Row], int]:
    rows = list(rows)
    out = [r for r in rows if len(r["text"].strip()) >= min_chars]
    return out, len(rows) - len(out)


def apply_filters(rows: list[Row], near_threshold: float = NEAR_THRESHOLD) -> tuple[list[Row], dict[str, int]]:
    stats: dict[str, int] = {"input": len(rows)}
    rows, stats["empty"] = drop_empty(rows)
    # conflicts first: a text carrying two labels is dropped everywhere, before dedupe keeps one
    rows, stats["label_conflict"] = drop_label_conflicts(rows)
    rows, stats["injected_benign"] = drop_injected_benign(rows)
    rows, stats["exact_duplicate"] = dedupe_exact(rows)
    rows, stats["near_duplicate"] = dedupe_near(rows, near_threshold)
    stats["output"] = len(rows)
    return rows, stats
