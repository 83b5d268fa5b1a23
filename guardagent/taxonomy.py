"""The tri-modal taxonomy shared by every screen, the graph and the RL sandbox.

One vocabulary for both threats: a user message, a tool call the model wants to make (an
*action*) and a tool result are each ``benign``, ``malicious`` or ``sensitive``; the policy
maps that label to a decision (execute / refuse / verify). The paper's scenario codes
(BU/MU/SU x BT/MT/ST) name the cross product of user and tool labels.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class GuardError(Exception):
    """Base class of every error guardagent raises on purpose."""


class Label(str, Enum):
    BENIGN = "benign"
    MALICIOUS = "malicious"
    SENSITIVE = "sensitive"

    @property
    def severity(self) -> int:
        """Order used when screens disagree: malicious beats sensitive beats benign."""
        return _SEVERITY[self]

    @classmethod
    def parse(cls, value: Any) -> "Label":
        """Accept a Label or its name in any case; an unknown label is a clear error."""
        if isinstance(value, Label):
            return value
        try:
            return cls(str(value).strip().lower())
        except ValueError:
            raise GuardError(
                f"unknown label {value!r}: expected one of {[m.value for m in cls]}"
            ) from None


_SEVERITY = {Label.BENIGN: 0, Label.SENSITIVE: 1, Label.MALICIOUS: 2}


class Source(str, Enum):
    """Who produced the text being judged."""

    USER = "user"  # a user message
    ACTION = "action"  # a tool call the model wants to make
    TOOL = "tool"  # a tool result coming back into the context

    @classmethod
    def parse(cls, value: Any) -> "Source":
        if isinstance(value, Source):
            return value
        try:
            return cls(str(value).strip().lower())
        except ValueError:
            raise GuardError(
                f"unknown source {value!r}: expected one of {[m.value for m in cls]}"
            ) from None


class Decision(str, Enum):
    """What the guard does. For a tool result, ``refuse`` means quarantine."""

    EXECUTE = "execute"
    REFUSE = "refuse"
    VERIFY = "verify"


LABELS: tuple[Label, ...] = (Label.BENIGN, Label.MALICIOUS, Label.SENSITIVE)

#: The tag the policy model emits to ask for human verification itself (the paper's step).
TOOL_CHECK_TAG = "tool_check"


class Scores(BaseModel):
    """Probability-like score per label (they need not sum to 1 for rule screens)."""

    model_config = ConfigDict(frozen=True)

    benign: float = Field(0.0, ge=0.0, le=1.0)
    malicious: float = Field(0.0, ge=0.0, le=1.0)
    sensitive: float = Field(0.0, ge=0.0, le=1.0)

    def __getitem__(self, label: Label | str) -> float:
        return getattr(self, Label.parse(label).value)

    def top(self) -> tuple[Label, float]:
        best = max(LABELS, key=lambda lab: (self[lab], lab.severity))
        return best, self[best]

    @classmethod
    def one_hot(cls, label: Label, confidence: float = 1.0) -> "Scores":
        """``confidence`` on ``label``, the rest shared evenly by the other two labels."""
        rest = (1.0 - confidence) / 2
        return cls(**{lab.value: (confidence if lab == label else rest) for lab in LABELS})


class Item(BaseModel):
    """One piece of text to screen, with what the screens need to know about it."""

    model_config = ConfigDict(extra="forbid")

    source: Source
    text: str
    id: str | None = None
    tool_name: str | None = None
    #: Arguments of a tool call (source ``action``); screens may match on them.
    tool_args: dict[str, Any] | None = None

    @field_validator("source", mode="before")
    @classmethod
    def _source(cls, v: Any) -> Source:
        try:
            return Source.parse(v)
        except GuardError as exc:  # pydantic reports ValueErrors with the field's location
            raise ValueError(str(exc)) from None

    @field_validator("text", mode="before")
    @classmethod
    def _text(cls, v: Any) -> str:
        if v is None:
            return ""
        if isinstance(v, str):
            return v
        return content_to_text(v)


class Verdict(BaseModel):
    """What one screen (or a cascade of them) concluded about one item."""

    label: Label
    scores: Scores
    source: Source
    reasons: list[str] = Field(default_factory=list)
    screen: str
    latency_ms: float = 0.0
    #: True when the screen is sure enough that a cascade need not ask a costlier screen.
    decisive: bool = False

    @field_validator("label", mode="before")
    @classmethod
    def _label(cls, v: Any) -> Label:
        try:
            return Label.parse(v)
        except GuardError as exc:
            raise ValueError(str(exc)) from None

    @property
    def confidence(self) -> float:
        return self.scores[self.label]


class ScenarioCode(str, Enum):
    """The paper's scenario grid: user label x tool-output label."""

    BU_BT = "BU-BT"
    BU_MT = "BU-MT"
    BU_ST = "BU-ST"
    MU_BT = "MU-BT"
    MU_MT = "MU-MT"
    MU_ST = "MU-ST"
    SU_BT = "SU-BT"
    SU_MT = "SU-MT"
    SU_ST = "SU-ST"


_USER_CODE = {Label.BENIGN: "BU", Label.MALICIOUS: "MU", Label.SENSITIVE: "SU"}
_TOOL_CODE = {Label.BENIGN: "BT", Label.MALICIOUS: "MT", Label.SENSITIVE: "ST"}


class Scenario(BaseModel):
    """A (user label, tool label) pair, e.g. ``MU-BT``."""

    model_config = ConfigDict(frozen=True)

    user: Label
    tool: Label

    @model_validator(mode="before")
    @classmethod
    def _from_code(cls, v: Any) -> Any:
        if isinstance(v, (str, ScenarioCode)):
            return cls._split(str(getattr(v, "value", v)))
        return v

    @staticmethod
    def _split(code: str) -> dict[str, Label]:
        inverse_u = {c: lab for lab, c in _USER_CODE.items()}
        inverse_t = {c: lab for lab, c in _TOOL_CODE.items()}
        parts = code.strip().upper().replace("_", "-").split("-")
        if len(parts) != 2 or parts[0] not in inverse_u or parts[1] not in inverse_t:
            raise GuardError(f"unknown scenario code {code!r}: expected e.g. 'BU-MT'")
        return {"user": inverse_u[parts[0]], "tool": inverse_t[parts[1]]}

    @classmethod
    def parse(cls, code: str | ScenarioCode) -> "Scenario":
        return cls.model_validate(code)

    @property
    def code(self) -> ScenarioCode:
        return ScenarioCode(f"{_USER_CODE[self.user]}-{_TOOL_CODE[self.tool]}")

    def __str__(self) -> str:  # pragma: no cover - trivial
        return self.code.value

    @classmethod
    def grid(cls) -> list["Scenario"]:
        return [cls(user=u, tool=t) for u in LABELS for t in LABELS]


def content_to_text(content: Any) -> str:
    """Flatten LangChain message content (str, list of blocks, dicts, anything) to text."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, bytes):
        return content.decode("utf-8", errors="replace")
    if isinstance(content, list):
        parts = []
        for block in content:
            if isinstance(block, dict):
                if "text" in block:
                    parts.append(str(block["text"]))
                elif block.get("type") in ("image", "image_url", "file", "audio"):
                    parts.append(f"[{block.get('type')}]")
                else:
                    parts.append(_json_or_str(block))
            else:
                parts.append(content_to_text(block))
        return "\n".join(p for p in parts if p)
    return _json_or_str(content)


def _json_or_str(value: Any) -> str:
    import json

    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return str(value)
