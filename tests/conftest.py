"""Shared fixtures: a transparent keyword screen so graph tests do not depend on
the rules or learned screens' judgement (those have their own tests)."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest

from guardagent.policy import GuardPolicy
from guardagent.screens import registry
from guardagent.screens.base import Screen
from guardagent.taxonomy import Label, Scores, Verdict


class KeywordScreen(Screen):
    """MALICIOUS/SENSITIVE in the text (or a tool named in ``sensitive_tools``) set the label."""

    name = "kw"

    def __init__(self, sensitive_tools=("pay",)):
        self.sensitive_tools = set(sensitive_tools)
        self.seen: list[str] = []

    async def ascreen_batch(self, items):
        out = []
        for it in items:
            self.seen.append(it.text)
            if "MALICIOUS" in it.text:
                lab = Label.MALICIOUS
            elif "SENSITIVE" in it.text or (it.source.value == "action" and it.tool_name in self.sensitive_tools):
                lab = Label.SENSITIVE
            else:
                lab = Label.BENIGN
            out.append(Verdict(label=lab, scores=Scores.one_hot(lab, 0.96), source=it.source, screen=self.name,
                               reasons=[] if lab is Label.BENIGN else [f"keyword {lab.value}"]))
        return out


registry.register("kw", lambda policy, options: KeywordScreen(**options))


@pytest.fixture
def kw_policy() -> GuardPolicy:
    return GuardPolicy.from_dict({"sources": {s: {"screens": ["kw"]} for s in ("user", "action", "tool")}})
