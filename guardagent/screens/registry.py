"""Screens by name, so a policy file can say ``screens: [rules, encoder]``.

Factories are imported lazily: the core install does not need torch for the rules screen,
and a screen's heavy state (model weights) is built once per process by its own module.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Callable

from guardagent.screens.base import Screen, ScreenError

if TYPE_CHECKING:
    from guardagent.policy import GuardPolicy
    from guardagent.taxonomy import Source

#: name -> "module:callable"; the callable takes (policy, options) and returns a Screen.
_BUILTIN: dict[str, str] = {
    "rules": "guardagent.screens.rules:from_policy",
    "encoder": "guardagent.screens.encoder:from_policy",
    "judge": "guardagent.screens.judge:from_policy",
}
_CUSTOM: dict[str, Callable[..., Screen]] = {}


def register(name: str, factory: Callable[["GuardPolicy", dict[str, Any]], Screen]) -> None:
    """Make a custom screen usable by name in policies."""
    _CUSTOM[name] = factory


def known() -> set[str]:
    return set(_BUILTIN) | set(_CUSTOM)


def _factory(name: str) -> Callable[..., Screen]:
    if name in _CUSTOM:
        return _CUSTOM[name]
    if name not in _BUILTIN:
        raise ScreenError(f"unknown screen {name!r} (known: {sorted(known())})")
    mod_name, attr = _BUILTIN[name].split(":")
    try:
        module = importlib.import_module(mod_name)
    except ImportError as exc:
        raise ScreenError(
            f"screen {name!r} is not installed ({exc}); "
            f"install the extra it needs, e.g. pip install 'guardagent[encoder]'"
        ) from exc
    return getattr(module, attr)


def available(name: str) -> bool:
    """True when ``name`` can be built here (its dependencies and weights are present)."""
    if name in _CUSTOM:
        return True
    try:
        mod_name, _ = _BUILTIN[name].split(":")
        module = importlib.import_module(mod_name)
    except (KeyError, ImportError):
        return False
    check = getattr(module, "available", None)
    return bool(check()) if callable(check) else True


def build(name: str, policy: "GuardPolicy", source: "Source | None" = None) -> Screen:
    """Screen ``name`` with its options for ``source`` (the policy's, overridden per source).

    A screen that cannot judge ``source`` (e.g. encoder weights trained on tool results only)
    is refused here, when the policy is put to use, rather than on the first item.
    """
    screen = _factory(name)(policy, policy.options_for(name, source))
    if source is not None and source not in screen.sources:
        judged = ", ".join(sorted(s.value for s in screen.sources)) or "nothing"
        raise ScreenError(
            f"sources.{source.value}.screens: {name!r} judges only {judged} items, not {source.value} "
            f"({screen!r}); give {source.value} another screen or other options"
        )
    return screen
