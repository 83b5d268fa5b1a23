"""What every evaluation adapter produces: labelled items to screen, grouped into sets."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from guardagent.taxonomy import GuardError, Item, Label, Source


class EvalDataError(GuardError):
    """A benchmark or corpus is missing or malformed; the message names the file and problem."""


@dataclass
class EvalSample:
    """One text with the label the guard should give it."""

    id: str
    text: str
    source: Source
    label: Label
    #: Paper scenario code of the row (corpus), or "" for external benchmarks.
    scenario: str = ""
    #: Finer group for per-group metrics (BIPIA task, AgentDojo suite, corpus family...).
    group: str = ""
    tool_name: str | None = None
    tool_args: dict[str, Any] | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def item(self) -> Item:
        return Item(
            source=self.source,
            text=self.text,
            id=self.id,
            tool_name=self.tool_name,
            tool_args=self.tool_args,
        )


@dataclass
class EvalSet:
    """A named collection of samples (one benchmark, or the corpus test split)."""

    name: str
    samples: list[EvalSample]
    #: Human-readable notes for the report (how it was built, what was capped or skipped).
    notes: list[str] = field(default_factory=list)
    #: What the set was built from (paths, versions, limits), copied into metrics.json.
    info: dict[str, Any] = field(default_factory=dict)


def cap_per_stratum(
    samples: Iterable[EvalSample],
    limit: int | None,
    key: Callable[[EvalSample], Any],
    seed: int = 0,
) -> tuple[list[EvalSample], dict[str, int]]:
    """Keep at most ``limit`` samples per stratum (a seeded random subset, original order).

    Returns the kept samples and, per capped stratum, how many it had before capping.
    """
    samples = list(samples)
    if not limit or limit <= 0:
        return samples, {}
    by: dict[Any, list[int]] = {}
    for i, s in enumerate(samples):
        by.setdefault(key(s), []).append(i)
    keep: set[int] = set()
    capped: dict[str, int] = {}
    rng = random.Random(seed)
    for k in sorted(by, key=str):
        idx = by[k]
        if len(idx) > limit:
            capped[str(k)] = len(idx)
            idx = rng.sample(idx, limit)
        keep.update(idx)
    return [s for i, s in enumerate(samples) if i in keep], capped
