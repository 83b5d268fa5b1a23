"""The AgentDojo defense (integrations/agentdojo) inside AgentDojo's own task runner.

No LLM: a stand-in model replays the user task's ground-truth tool calls (as AgentDojo's
GroundTruthPipeline does) through AgentDojo's ToolsExecutionLoop, with GuardAgentDetector
between the tool executor and the model.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

pytest.importorskip("agentdojo")

from agentdojo.agent_pipeline import (  # noqa: E402
    AgentPipeline,
    BasePipelineElement,
    InitQuery,
    SystemMessage,
    ToolsExecutionLoop,
    ToolsExecutor,
)
from agentdojo.attacks.attack_registry import load_attack  # noqa: E402
from agentdojo.functions_runtime import FunctionsRuntime  # noqa: E402
from agentdojo.task_suite.load_suites import get_suite  # noqa: E402
from agentdojo.types import ChatAssistantMessage, get_text_content_as_str, text_content_block_from_string  # noqa: E402

from guardagent.policy import GuardPolicy  # noqa: E402
from guardagent.screens import registry  # noqa: E402
from guardagent.screens.base import Screen  # noqa: E402
from guardagent.taxonomy import Label, Scores, Verdict  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integrations" / "agentdojo"))
from guardagent_agentdojo import GuardAgentDetector, build_pipeline  # noqa: E402

OMITTED = "<Data omitted because a prompt injection was detected>"


class InformationTagScreen(Screen):
    """Flags text carrying AgentDojo's <INFORMATION> injection block (test stand-in)."""

    name = "infotag"

    def __init__(self):
        self.seen: list[tuple[str | None, str]] = []

    async def ascreen_batch(self, items):
        out = []
        for it in items:
            self.seen.append((it.tool_name, it.text))
            bad = "<INFORMATION>" in it.text
            lab = Label.MALICIOUS if bad else Label.BENIGN
            out.append(Verdict(label=lab, scores=Scores.one_hot(lab, 0.97), source=it.source, screen=self.name))
        return out


registry.register("infotag", lambda policy, options: InformationTagScreen())


class GroundTruthModel(BasePipelineElement):
    """Emits the task's ground-truth tool calls one at a time, then its ground-truth answer.

    With ``gullible=injection_task`` it behaves like a model that obeys injections: once a
    tool output it sees carries an <INFORMATION> block, it first runs the injection task's
    ground-truth calls.
    """

    name = "gpt-4o-2024-05-13"

    def __init__(self, task, gullible=None):
        self.task = task
        self.gullible = gullible
        self.calls = None
        self.obeyed = False

    def query(self, query, runtime, env=None, messages=(), extra_args=None):
        if self.calls is None:
            self.calls = list(self.task.ground_truth(env))
        seen = " ".join(get_text_content_as_str(m["content"]) or "" for m in messages if m["role"] == "tool")
        if self.gullible is not None and not self.obeyed and "<INFORMATION>" in seen:
            self.obeyed = True
            self.calls = list(self.gullible.ground_truth(env)) + self.calls
        if self.calls:
            call = self.calls.pop(0)
            msg = ChatAssistantMessage(role="assistant", content=[text_content_block_from_string("")], tool_calls=[call])
        else:
            msg = ChatAssistantMessage(
                role="assistant", content=[text_content_block_from_string(self.task.GROUND_TRUTH_OUTPUT)], tool_calls=None
            )
        return query, runtime, env, [*messages, msg], extra_args or {}


def _pipeline(task, detector, gullible=None):
    model = GroundTruthModel(task, gullible)
    loop = [ToolsExecutor(), detector, model] if detector is not None else [ToolsExecutor(), model]
    p = AgentPipeline([SystemMessage("You are a helpful assistant."), InitQuery(), model, ToolsExecutionLoop(loop)])
    p.name = model.name
    return p


@pytest.fixture
def policy():
    return GuardPolicy.from_dict({"sources": {"tool": {"screens": ["infotag"]}}})


def _run(suite, user_task, detector, injections):
    env = user_task.init_environment(suite.load_and_inject_default_environment(injections))
    _, _, _, messages, _ = _pipeline(user_task, detector).query(user_task.PROMPT, FunctionsRuntime(suite.tools), env)
    return [m for m in messages if m["role"] == "tool"]


@pytest.mark.parametrize("suite_name, task_id", [("banking", "user_task_0"), ("slack", "user_task_1")])
def test_detector_flags_injected_output_in_ground_truth_run(policy, suite_name, task_id):
    suite = get_suite("v1.2.2", suite_name)
    user_task = suite.get_user_task_by_id(task_id)
    injection_task = next(iter(suite.injection_tasks.values()))
    attack = load_attack("important_instructions", suite, _pipeline(user_task, None))
    injections = attack.attack(user_task, injection_task)
    assert injections

    clean_det = GuardAgentDetector(policy)
    clean_tools = _run(suite, user_task, clean_det, {})
    assert clean_det.rulings, "the detector was never called"
    assert len(clean_det.rulings) == len(clean_tools)
    assert all(r.decision.value == "execute" for r in clean_det.rulings)
    assert all(get_text_content_as_str(m["content"]) != OMITTED for m in clean_tools)

    det = GuardAgentDetector(policy)
    tools = _run(suite, user_task, det, injections)
    flagged = [r for r in det.rulings if r.decision.value != "execute"]
    assert flagged, "the injected tool output was not flagged"
    assert all(r.item.tool_name for r in det.rulings)  # screened with the tool's name
    texts = [get_text_content_as_str(m["content"]) for m in tools]
    assert OMITTED in texts  # AgentDojo redacted the flagged output before the model saw it
    assert not any("<INFORMATION>" in t for t in texts)
    assert det.detect("plain text") == (False, pytest.approx(0.015))


def test_defense_stops_a_gullible_model_in_agentdojo_task_runner(policy):
    """AgentDojo's run_task_with_pipeline decides utility and attack success."""
    suite = get_suite("v1.2.2", "banking")
    user_task = suite.get_user_task_by_id("user_task_0")
    injection_task = suite.get_injection_task_by_id("injection_task_0")
    injections = load_attack("important_instructions", suite, _pipeline(user_task, None)).attack(user_task, injection_task)

    undefended = _pipeline(user_task, None, gullible=injection_task)
    _, attacked = suite.run_task_with_pipeline(undefended, user_task, injection_task, injections)
    assert attacked is True  # without the defense the injection task is carried out

    det = GuardAgentDetector(policy)
    defended = _pipeline(user_task, det, gullible=injection_task)
    utility, attacked = suite.run_task_with_pipeline(defended, user_task, injection_task, injections)
    assert attacked is False
    assert utility is True  # the user's task still succeeds
    assert any(r.decision.value != "execute" for r in det.rulings)

    aborting = GuardAgentDetector(policy, raise_on_injection=True)
    _, attacked = suite.run_task_with_pipeline(
        _pipeline(user_task, aborting, gullible=injection_task), user_task, injection_task, injections
    )
    assert attacked is False


def test_build_pipeline_names_the_model(policy):
    det = GuardAgentDetector(policy)
    model = GroundTruthModel(None)
    p = build_pipeline(model, detector=det)
    assert p.name == "gpt-4o-2024-05-13-guardagent"
    loop = p.elements[-1]
    assert isinstance(loop, ToolsExecutionLoop) and det in loop.elements
