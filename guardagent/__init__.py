"""guardagent: runtime guardrails for LLM agents with a trainable tri-modal policy.

Every user message, tool call and tool result is screened into ``benign`` / ``malicious`` /
``sensitive``; the policy executes, refuses (quarantines) or asks a human to verify.
"""

from guardagent.screening import Guard, Ruling
from guardagent.policy import GuardPolicy, PolicyError
from guardagent.taxonomy import (
    Decision,
    GuardError,
    Item,
    Label,
    Scenario,
    ScenarioCode,
    Scores,
    Source,
    Verdict,
)

__version__ = "0.1.0"

__all__ = [
    "Decision", "Guard", "GuardError", "GuardPolicy", "Item", "Label", "PolicyError", "Ruling",
    "Scenario", "ScenarioCode", "Scores", "Source", "Verdict", "build_guarded_graph", "guard",
    "GuardMiddleware",
]


def __getattr__(name: str):  # lazy: keep `import guardagent` light
    if name == "build_guarded_graph":
        from guardagent.graph import build_guarded_graph

        return build_guarded_graph
    if name == "guard":
        from guardagent.wrap import guard

        return guard
    if name == "GuardMiddleware":
        from guardagent.wrap import GuardMiddleware

        return GuardMiddleware
    raise AttributeError(name)
