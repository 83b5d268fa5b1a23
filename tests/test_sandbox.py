"""The RL sandbox: mocked tools, simulated verifier, episodes through the guarded graph."""

from __future__ import annotations

import random

import pytest
from langchain_core.messages import AIMessage

from guardagent.scripted import ScriptedChatModel
from guardagent.taxonomy import Label
from guardagent.training.episode import Episode
from guardagent.training.oracle import OracleChatModel
from guardagent.training.sandbox import (
    FixedVerifier,
    RandomVerifier,
    Recorder,
    TaskAwareVerifier,
    example_episodes,
    make_verifier,
    mock_tools,
    run_episode,
    run_episodes,
    sandbox_guard,
)

EPS = {ep.scenario.value: ep for ep in example_episodes()}


def call(name, args, check=None, text=""):
    kw = {"tool_check": check} if check else {}
    return AIMessage(content=text, tool_calls=[{"name": name, "args": args, "id": f"c-{name}"}], additional_kwargs=kw)


def test_example_episodes_cover_the_grid():
    assert sorted(EPS) == sorted(c for c in ["BU-BT", "BU-MT", "BU-ST", "MU-BT", "MU-MT", "MU-ST", "SU-BT", "SU-MT", "SU-ST"])


def test_mock_tools_follow_the_specs_return_outputs_and_record_calls():
    ep = EPS["BU-MT"]
    rec = Recorder()
    tools = {t.name: t for t in mock_tools(ep, rec)}
    assert set(tools) == {t.name for t in ep.tools}
    assert tools["get_balance"].description == "Get account balances."
    assert tools["get_balance"].invoke({"account": "checking"}) == ep.tool_outputs["get_balance"]
    assert "ok" in tools["transfer_money"].invoke({"recipient": "x", "amount": 1})  # not listed: generic ok
    assert [(c.name, c.args) for c in rec.calls] == [("get_balance", {"account": "checking"}),
                                                      ("transfer_money", {"recipient": "x", "amount": 1})]
    assert rec.calls[0].seq < rec.calls[1].seq


def test_random_verifier_is_seeded_and_follows_p_yes():
    v = RandomVerifier(p_yes=0.8)
    a = [v({}, EPS["SU-BT"], random.Random(7))["approved"] for _ in range(1)]
    b = [v({}, EPS["SU-BT"], random.Random(7))["approved"] for _ in range(1)]
    assert a == b
    rng = random.Random(0)
    yes = sum(v({}, EPS["SU-BT"], rng)["approved"] for _ in range(2000))
    assert 1500 < yes < 1700
    assert make_verifier({"kind": "random", "p_yes": 0.0})({}, EPS["SU-BT"], rng)["approved"] is False
    assert make_verifier("approve")({}, EPS["SU-BT"], rng)["approved"] is True
    assert isinstance(make_verifier("task"), TaskAwareVerifier)
    with pytest.raises(Exception, match="unknown verifier"):
        make_verifier("maybe")


def test_task_aware_verifier_denies_the_injected_tool():
    ep = EPS["BU-MT"]
    v = TaskAwareVerifier()
    assert v({"tool_name": "transfer_money", "stage": "action"}, ep, random.Random(0))["approved"] is False
    assert v({"tool_name": "get_balance", "stage": "action"}, ep, random.Random(0))["approved"] is True


def test_episode_runs_through_the_graph_and_records_calls():
    ep = EPS["BU-BT"]
    model = ScriptedChatModel(responses=[call("search_emails", {"query": "Orion"}), AIMessage("Found 2 emails.")])
    r = run_episode(ep, model)
    assert r.status == "completed"
    assert [(c.name, c.args) for c in r.calls] == [("search_emails", {"query": "Orion"})]
    assert r.calls[0].call_id == r.turns[0].tool_calls[0]["id"]
    assert r.final_text() == "Found 2 emails."
    assert len(r.turns) == 2 and r.verifications == []


@pytest.mark.parametrize("approved", [True, False])
def test_tool_check_is_answered_by_the_verifier_via_resume(approved):
    ep = EPS["SU-BT"]
    model = ScriptedChatModel(responses=[
        call("transfer_money", {"recipient": "Marta", "amount": 250}, check="moving money"),
        AIMessage("done" if approved else "not done"),
    ])
    r = run_episode(ep, model, verifier=FixedVerifier(approved))
    assert [(v.stage, v.approved, v.by_model) for v in r.verifications] == [("tool_check", approved, True)]
    assert r.verifications[0].tool_call_ids == [r.turns[0].tool_calls[0]["id"]]
    assert r.called_names == (["transfer_money"] if approved else [])
    assert r.status == "completed"


def test_screens_off_lets_everything_through_screens_on_guards():
    ep = EPS["SU-BT"]
    unchecked = [call("transfer_money", {"recipient": "Marta", "amount": 250}), AIMessage("ok")]
    off = run_episode(ep, ScriptedChatModel(responses=list(unchecked)), screens=False, verifier="deny")
    assert off.called_names == ["transfer_money"] and off.verifications == []
    from guardagent.screens import registry

    if not registry.available("rules"):
        pytest.skip("rules screen not installed")
    on = run_episode(ep, ScriptedChatModel(responses=list(unchecked)), screens=True, verifier="deny")
    # the screens flag the request or the call (transfer_money is declared sensitive): a human
    # is asked before the money moves, says no, and nothing runs
    assert on.verifications and on.verifications[0].stage in ("input", "action")
    assert not on.verifications[0].approved
    assert on.called_names == []


def test_sandbox_guard_declares_the_episode_sensitive_tools():
    from guardagent.screens import registry

    if not registry.available("rules"):
        pytest.skip("rules screen not installed")
    g = sandbox_guard(EPS["BU-ST"], screens=True)
    assert "transfer_money" in g.policy.tools.sensitive


def test_runaway_model_is_stopped():
    ep = EPS["BU-BT"]
    model = ScriptedChatModel(responses=[call("search_emails", {"query": "Orion"})])  # repeats forever
    r = run_episode(ep, model, max_turns=2)
    assert r.status == "max_turns" and r.error
    assert 1 <= len(r.calls) <= 2 * 2  # the graph-step budget allows about max_turns model turns


def test_run_episodes_is_ordered_and_seeded():
    eps = list(EPS.values())
    res = run_episodes(eps, lambda ep, i: OracleChatModel(episode=ep), workers=4, verifier={"kind": "random", "p_yes": 0.5})
    assert [r.episode.id for r in res] == [e.id for e in eps]
    again = run_episodes(eps, lambda ep, i: OracleChatModel(episode=ep), workers=4, verifier={"kind": "random", "p_yes": 0.5})
    assert [[v.approved for v in r.verifications] for r in res] == [[v.approved for v in r.verifications] for r in again]


def test_corpus_episodes_run_in_the_sandbox():
    corpus = pytest.importorskip("guardagent.training.corpus")
    eps = corpus.build_episodes(1, 0, "train")
    assert len(eps) == 9
    for ep in eps:
        r = run_episode(ep, OracleChatModel(episode=ep), verifier="approve")
        if ep.user_label is Label.MALICIOUS:
            assert r.calls == []
        else:
            assert ep.task_tool in r.called_names
        assert ep.injected_tool is None or ep.injected_tool not in r.called_names
