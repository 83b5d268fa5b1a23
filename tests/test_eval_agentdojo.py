"""AgentDojo adapter: ground-truth tool outputs, clean and with registered attacks injected."""

from __future__ import annotations

from collections import Counter

import pytest

pytest.importorskip("agentdojo")

from guardagent.eval.agentdojo import load_agentdojo, registered_attacks  # noqa: E402
from guardagent.eval.samples import EvalDataError  # noqa: E402
from guardagent.taxonomy import Label, Source  # noqa: E402


def test_registered_attacks_exclude_manual():
    names = registered_attacks()
    assert "important_instructions" in names and "tool_knowledge" in names
    assert "manual" not in names


def test_banking_clean_and_injected_outputs():
    es = load_agentdojo(suite_names=["banking"], attacks=["important_instructions", "direct"], limit=6, seed=0)
    c = Counter(s.label for s in es.samples)
    assert c[Label.MALICIOUS] == 6 and 0 < c[Label.BENIGN] <= 6
    assert all(s.source is Source.TOOL and s.tool_name for s in es.samples)
    for s in es.samples:
        if s.label is Label.MALICIOUS:
            marker = "<INFORMATION>" if s.meta["attack"] == "important_instructions" else "TODO:"
            assert marker in s.text, s.id
            assert s.meta["attack"] in {"important_instructions", "direct"}
        else:
            assert "<INFORMATION>" not in s.text and "TODO:" not in s.text
    assert es.info["suites"]["banking"]["ground_truth_runs"] >= 1
    again = load_agentdojo(suite_names=["banking"], attacks=["important_instructions", "direct"], limit=6, seed=0)
    assert [s.id for s in again.samples] == [s.id for s in es.samples]


def test_unknown_suite_or_attack_is_a_clear_error():
    with pytest.raises(EvalDataError, match="unknown AgentDojo suite"):
        load_agentdojo(suite_names=["nope"], limit=1)
    with pytest.raises(EvalDataError, match="unsupported AgentDojo attack"):
        load_agentdojo(suite_names=["banking"], attacks=["manual"], limit=1)
