"""The Guard: a policy plus its screens, turning items into rulings (verdict + decision).

This is the one place where screening happens; the graph, the LangChain middleware,
``guardagent scan`` and the HTTP service all call it. Screens are built once per Guard.
"""

from __future__ import annotations

import time
from typing import Any, Iterable, Sequence

from pydantic import BaseModel

from guardagent._sync import run_sync
from guardagent.policy import GuardPolicy
from guardagent.screens.base import Screen, as_item
from guardagent.screens.cascade import for_source
from guardagent.taxonomy import Decision, Item, Label, Source, Verdict


class Ruling(BaseModel):
    """A verdict and what the policy decided about it."""

    item: Item
    verdict: Verdict
    decision: Decision
    #: The label implied by the policy's thresholds (may differ from the screen's argmax).
    label: Label

    def as_record(self) -> dict[str, Any]:
        """The flat JSON shape of ``guardagent scan`` and ``POST /v1/screen``."""
        return {
            "id": self.item.id,
            "source": self.item.source.value,
            "label": self.label.value,
            "decision": self.decision.value,
            "scores": self.verdict.scores.model_dump(),
            "reasons": list(self.verdict.reasons),
            "screen": self.verdict.screen,
            "latency_ms": round(self.verdict.latency_ms, 3),
        }


class Guard:
    """Screens items under a :class:`GuardPolicy`. Thread- and task-safe after construction."""

    def __init__(
        self,
        policy: GuardPolicy | None = None,
        screens: dict[Source | str, Screen] | None = None,
    ):
        self.policy = policy or GuardPolicy.default()
        self._screens: dict[Source, Screen] = {}
        for src, scr in (screens or {}).items():
            self._screens[Source.parse(src)] = scr

    def screen_for(self, source: Source) -> Screen:
        if source not in self._screens:
            self._screens[source] = for_source(self.policy, source)
        return self._screens[source]

    def warm(self) -> "Guard":
        """Build every source's screen now (load models at start-up, not on first request)."""
        for s in Source:
            self.screen_for(s)
        return self

    async def arule(self, items: Sequence[Item | dict[str, Any]]) -> list[Ruling]:
        """Screen ``items`` (batched per source) and decide each; order is preserved."""
        parsed = [as_item(i) for i in items]
        out: list[Ruling | None] = [None] * len(parsed)
        by_source: dict[Source, list[int]] = {}
        for idx, it in enumerate(parsed):
            by_source.setdefault(it.source, []).append(idx)
        for src, idxs in by_source.items():
            t0 = time.perf_counter()
            verdicts = await self.screen_for(src).ascreen_batch([parsed[i] for i in idxs])
            per_item = (time.perf_counter() - t0) * 1000.0 / max(len(idxs), 1)
            for i, v in zip(idxs, verdicts):
                if not v.latency_ms:
                    v = v.model_copy(update={"latency_ms": per_item})
                out[i] = Ruling(
                    item=parsed[i],
                    verdict=v,
                    decision=self.policy.decide(v),
                    label=self.policy.label_for(v),
                )
        return [r for r in out if r is not None]

    async def arule_one(self, item: Item | dict[str, Any]) -> Ruling:
        return (await self.arule([item]))[0]

    def rule(self, items: Iterable[Item | dict[str, Any]]) -> list[Ruling]:
        return run_sync(self.arule(list(items)))

    def rule_one(self, item: Item | dict[str, Any]) -> Ruling:
        return run_sync(self.arule_one(item))
