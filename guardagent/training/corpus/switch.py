"""A build option read deep inside the generators, set for the span of one build.

Why: the corpus options (other languages, people data, approval requests) change what many
generators render, several calls below ``build_rows``; threading a flag through every generator
signature would touch them all. A ``ContextVar`` scopes the option to the build (and to
``save``'s episodes), and resets it on the way out even when the build fails.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from typing import Generic, Iterator, TypeVar

T = TypeVar("T")


class Switch(Generic[T]):
    def __init__(self, name: str, default: T):
        self._var: ContextVar[T] = ContextVar(f"guardagent_corpus_{name}", default=default)

    @contextmanager
    def set(self, value: T) -> Iterator[None]:
        """Within the block the option reads ``value``."""
        token = self._var.set(value)
        try:
            yield
        finally:
            self._var.reset(token)

    def get(self) -> T:
        return self._var.get()
