"""Combine screens: cheap first, stop on a decisive verdict, escalate when unsure.

Only the items a screen left undecided go on to the next (costlier) screen, batched. The
final verdict keeps the most severe label any screen gave with confidence, so a learned
screen cannot talk a rule hit (a forbidden tool, hidden unicode) back down to benign.
"""

from __future__ import annotations

from typing import Sequence

from guardagent.screens.base import Screen, ScreenError, Timer
from guardagent.taxonomy import Item, Label, Scores, Source, Verdict


class CascadeScreen(Screen):
    def __init__(self, screens: Sequence[Screen], decisive: float = 0.9, name: str | None = None):
        if not screens:
            raise ScreenError("a cascade needs at least one screen")
        self.screens = list(screens)
        self.decisive = decisive
        self.name = name or "+".join(s.name for s in self.screens)
        self.sources = frozenset().union(*(s.sources for s in self.screens))

    def _is_decisive(self, v: Verdict) -> bool:
        return v.decisive or v.confidence >= self.decisive

    async def ascreen_batch(self, items: Sequence[Item]) -> list[Verdict]:
        timer = Timer()
        trail: list[list[Verdict]] = [[] for _ in items]
        open_idx = list(range(len(items)))
        for screen in self.screens:
            todo = [i for i in open_idx if screen.applies(items[i])]
            if not todo:
                continue
            verdicts = await screen.ascreen_batch([items[i] for i in todo])
            if len(verdicts) != len(todo):
                raise ScreenError(
                    f"screen {screen.name!r} returned {len(verdicts)} verdicts for {len(todo)} items"
                )
            for i, v in zip(todo, verdicts):
                trail[i].append(v)
            open_idx = [i for i in open_idx if not (trail[i] and self._is_decisive(trail[i][-1]))]
            if not open_idx:
                break
        ms = timer.ms()
        return [self._combine(items[i], trail[i], ms / max(len(items), 1)) for i in range(len(items))]

    def _combine(self, item: Item, trail: list[Verdict], latency_ms: float) -> Verdict:
        if not trail:
            return Verdict(
                label=Label.BENIGN,
                scores=Scores.one_hot(Label.BENIGN, 0.5),
                source=item.source,
                reasons=["no screen applies to this source"],
                screen=self.name,
                latency_ms=latency_ms,
            )
        final = trail[-1]
        # a confident, more severe earlier verdict wins (rules hit beats learned "benign")
        for v in trail[:-1]:
            if self._is_decisive(v) and v.label.severity > final.label.severity:
                final = v
        reasons: list[str] = []
        for v in trail:
            for r in v.reasons:
                tagged = f"{v.screen}: {r}"
                if tagged not in reasons:
                    reasons.append(tagged)
        return final.model_copy(
            update={
                "reasons": reasons,
                "screen": "+".join(v.screen for v in trail),
                "latency_ms": latency_ms,
                "decisive": self._is_decisive(final),
            }
        )


def for_source(policy, source: Source) -> Screen:
    """The screen a policy runs for ``source``: one screen, or a cascade of several."""
    from guardagent.screens import registry

    names = policy.sources[source].screens
    screens = [registry.build(n, policy, source) for n in names]
    if len(screens) == 1:
        return screens[0]
    return CascadeScreen(screens, decisive=policy.cascade.decisive)
