"""The one screen protocol: async and batched at the core, with sync wrappers.

Every screen (rules, the learned encoder, an LLM judge, a cascade of them) implements
``ascreen_batch``; everything else derives from it so there is one code path to test.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from typing import Any, Iterable, Sequence

from guardagent._sync import run_sync
from guardagent.taxonomy import GuardError, Item, Source, Verdict


class ScreenError(GuardError):
    """A screen could not produce a verdict (bad model output, missing weights, ...)."""


class Screen(ABC):
    """Judges items and returns one :class:`Verdict` per item, in order."""

    #: Registry name, e.g. ``"rules"``; also written into each verdict.
    name: str = "screen"
    #: Sources this screen knows how to judge; others get ``None`` from :meth:`applies`.
    sources: frozenset[Source] = frozenset(Source)

    def applies(self, item: Item) -> bool:
        return item.source in self.sources

    @abstractmethod
    async def ascreen_batch(self, items: Sequence[Item]) -> list[Verdict]:
        """Judge ``items``; must return exactly ``len(items)`` verdicts in the same order."""

    async def ascreen(self, item: Item | dict[str, Any]) -> Verdict:
        return (await self.ascreen_batch([as_item(item)]))[0]

    def screen(self, item: Item | dict[str, Any]) -> Verdict:
        return run_sync(self.ascreen(item))

    def screen_batch(self, items: Iterable[Item | dict[str, Any]]) -> list[Verdict]:
        return run_sync(self.ascreen_batch([as_item(i) for i in items]))

    def __repr__(self) -> str:  # pragma: no cover - trivial
        return f"{type(self).__name__}(name={self.name!r})"


def as_item(value: Item | dict[str, Any]) -> Item:
    if isinstance(value, Item):
        return value
    if isinstance(value, dict):
        return Item.model_validate(value)
    raise GuardError(f"cannot screen {type(value).__name__}: expected Item or dict")


class Timer:
    """Milliseconds since construction; screens stamp ``latency_ms`` with it."""

    def __init__(self) -> None:
        self._t0 = time.perf_counter()

    def ms(self) -> float:
        return (time.perf_counter() - self._t0) * 1000.0
