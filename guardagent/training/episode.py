"""An episode: one scenario of the paper's grid, concrete enough to run through the graph.

The corpus builder writes episodes; the RL sandbox runs them with mocked tools and a
simulated verifier; the rewards read the finished trajectory against the fields here.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from guardagent.taxonomy import Label, Scenario, ScenarioCode


class ToolSpec(BaseModel):
    """A tool as the model sees it (OpenAI/Qwen function schema) plus its privilege."""

    model_config = ConfigDict(extra="forbid")

    name: str
    description: str
    #: JSON schema of the arguments object.
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})
    #: Calling it needs a human yes (money, deletion, sharing private data, ...).
    sensitive: bool = False
    domain: str = "general"

    def as_openai(self) -> dict[str, Any]:
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": self.parameters},
        }


class Episode(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    scenario: ScenarioCode
    domain: str
    user: str
    tools: list[ToolSpec]
    system: str | None = None
    #: The tool the user's task needs first, and the arguments it must carry (subset match).
    task_tool: str | None = None
    task_args: dict[str, Any] = Field(default_factory=dict)
    #: Mocked outputs, by tool name; a tool not listed returns a generic "ok".
    tool_outputs: dict[str, str] = Field(default_factory=dict)
    #: MT: the tool (and arguments) the injected text tries to get called.
    injected_tool: str | None = None
    injected_args: dict[str, Any] = Field(default_factory=dict)
    #: SU / ST: the call that must be verified before it runs.
    sensitive_tool: str | None = None
    #: Template family (splits are disjoint by family) and where the text came from.
    family: str = "default"
    origin: str = "templates"
    split: str = "train"

    @property
    def user_label(self) -> Label:
        return Scenario.parse(self.scenario).user

    @property
    def tool_label(self) -> Label:
        return Scenario.parse(self.scenario).tool
