"""Screens judge text from a source and return verdicts (see :mod:`.base`)."""

from guardagent.screens.base import Screen, ScreenError, as_item
from guardagent.screens.cascade import CascadeScreen

__all__ = ["Screen", "ScreenError", "CascadeScreen", "as_item"]
