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


def build(name: str, policy: "GuardPolicy") -> Screen:
    options = dict(policy.screen_options.get(name, {}))
    return _factory(name)(policy, options)
