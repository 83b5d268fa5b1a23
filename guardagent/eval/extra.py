"""Extra evaluation sets that offline PyPI packages ship, read from the package data.

* ``agent-injection-bench`` (module ``aib``): 24 injection scenarios; the injected text of
  each is screened by its channel (``user_message``/``multi_turn`` as a user message, the
  others as a tool result), controls (``success.kind == "refusal"``) are benign; each
  scenario's legitimate task is a benign user message.
* ``inspect-evals``: ``agent_threat_bench`` (each inbox email and memory entry as a tool
  result; attack emails from ``attack_email_indices``, poisoned memory entries by their
  ``attack_marker``; data_exfil records only from its clean baselines, since attack records
  carry no per-record label) and ``ipi_coding_agent`` (issue text and repository files as
  tool results; the injected one is the vector named by ``injection_vector``, found by
  ``payload_indicator``). The package is located without importing it (it needs inspect_ai).

A set whose package is absent is skipped with a note. Evaluation only: never train on them.
"""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from typing import Any

from guardagent.eval.samples import EvalDataError, EvalSample, EvalSet
from guardagent.taxonomy import Label, Source

EXTRA_SETS = ("agent_injection_bench", "agent_threat_bench", "ipi_coding_agent")


def _package_dir(module: str) -> Path | None:
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


class _Collector:
    def __init__(self, name: str):
        self.name = name
        self.samples: list[EvalSample] = []
        self._seen: set[tuple[str, str, str]] = set()

    def add(self, sid: str, text: str, source: Source, label: Label, group: str, tool: str | None, **meta: Any):
        key = (source.value, label.value, text)
        if not text.strip() or key in self._seen:
            return
        self._seen.add(key)
        self.samples.append(
            EvalSample(
                id=f"{self.name}-{sid}",
                text=text,
                source=source,
                label=label,
                group=group,
                tool_name=tool,
                meta={"group": group, **meta},
            )
        )


def load_agent_injection_bench(path: str | Path | None = None) -> EvalSet | None:
    """agent-injection-bench's attack corpus, or None when the package is absent."""
    if path is None:
        pkg = _package_dir("aib")
        if pkg is None:
            return None
        path = pkg / "data" / "attacks.jsonl"
    path = Path(path)
    if not path.is_file():
        raise EvalDataError(f"agent-injection-bench corpus not found: {path}")
    col = _Collector("aib")
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            raise EvalDataError(f"{path}:{lineno}: invalid JSON ({exc.msg})") from None
        for key in ("id", "channel", "injected", "success", "task"):
            if key not in raw:
                raise EvalDataError(f"{path}:{lineno}: missing field {key!r}")
        control = (raw["success"] or {}).get("kind") == "refusal"
        channel = raw["channel"]
        source = Source.USER if channel in ("user_message", "multi_turn") else Source.TOOL
        tool = None
        if source is Source.TOOL:
            tool = next((t.get("name") for t in raw.get("tools", []) if t.get("returns") is not None), channel)
        col.add(
            raw["id"], raw["injected"], source, Label.BENIGN if control else Label.MALICIOUS,
            group=raw.get("family", channel), tool=tool, channel=channel,
        )
        col.add(f"{raw['id']}-task", raw["task"], Source.USER, Label.BENIGN, group="task", tool=None, channel="task")
    return EvalSet(
        name="agent_injection_bench",
        samples=col.samples,
        info={"path": str(path), "breakdowns": ["group"]},
    )


def _load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise EvalDataError(f"file not found: {path}") from None
    except json.JSONDecodeError as exc:
        raise EvalDataError(f"{path}: invalid JSON at line {exc.lineno} ({exc.msg})") from None


def load_agent_threat_bench(data_dir: str | Path | None = None) -> EvalSet | None:
    if data_dir is None:
        pkg = _package_dir("inspect_evals")
        if pkg is None:
            return None
        data_dir = pkg / "agent_threat_bench" / "data"
    d = Path(data_dir)
    if not d.is_dir():
        raise EvalDataError(f"agent_threat_bench data not found: {d}")
    col = _Collector("atb")
    notes: list[str] = []
    for rec in _load_json(d / "autonomy_hijack.json"):
        attack = set(rec.get("attack_email_indices") or [])
        col.add(rec["id"] + "-input", rec["input"], Source.USER, Label.BENIGN, "user_input", None)
        for i, email in enumerate(rec.get("inbox", []), start=1):
            text = (
                f"From: {email.get('from', 'unknown')}\nSubject: {email.get('subject', 'no subject')}\n"
                f"Body: {email.get('body', '')}"
            )
            lab = Label.MALICIOUS if i in attack else Label.BENIGN
            col.add(f"{rec['id']}-email{i}", text, Source.TOOL, lab, "autonomy_hijack", "read_inbox")
    skipped = 0
    for rec in _load_json(d / "memory_poison.json"):
        marker = rec.get("attack_marker") or ""
        col.add(rec["id"] + "-input", rec["input"], Source.USER, Label.BENIGN, "user_input", None)
        if not marker:
            skipped += 1
            continue
        for key, value in (rec.get("memory_store") or {}).items():
            lab = Label.MALICIOUS if marker in str(value) else Label.BENIGN
            col.add(f"{rec['id']}-{key}", str(value), Source.TOOL, lab, "memory_poison", "memory_read")
    if skipped:
        notes.append(f"memory_poison: {skipped} record(s) without attack_marker skipped (no per-entry label)")
    kept = 0
    for rec in _load_json(d / "data_exfil.json"):
        col.add(rec["id"] + "-input", rec["input"], Source.USER, Label.BENIGN, "user_input", None)
        if rec.get("attack_name") != "clean_baseline":
            continue
        kept += 1
        for c in rec.get("customer_db", []):
            text = (
                f"Customer: {c.get('name')}\nID: {c.get('id')}\nEmail: {c.get('email', 'N/A')}\n"
                f"SSN: {c.get('ssn', 'N/A')}\nAccount: {c.get('account', 'N/A')}\nIssue: {c.get('issue', 'N/A')}"
            )
            col.add(f"{rec['id']}-{c.get('id')}", text, Source.TOOL, Label.BENIGN, "data_exfil", "lookup_customer")
    notes.append(f"data_exfil: only the {kept} clean-baseline record(s) used (attack records carry no per-record label)")
    return EvalSet(name="agent_threat_bench", samples=col.samples, notes=notes, info={"path": str(d), "breakdowns": ["group"]})


def load_ipi_coding_agent(samples_path: str | Path | None = None) -> EvalSet | None:
    if samples_path is None:
        pkg = _package_dir("inspect_evals")
        if pkg is None:
            return None
        samples_path = pkg / "ipi_coding_agent" / "dataset" / "samples.json"
    p = Path(samples_path)
    data = _load_json(p)
    if not isinstance(data, list):
        raise EvalDataError(f"{p}: expected a JSON list of samples")
    col = _Collector("ipi")
    notes: list[str] = []
    unmatched = 0
    for rec in data:
        benign = bool(rec.get("is_benign"))
        vector = rec.get("injection_vector", "none")
        try:
            pattern = re.compile(rec.get("payload_indicator") or r"(?!x)x")
        except re.error:
            pattern = re.compile(re.escape(rec.get("payload_indicator", "")))
        col.add(rec["id"] + "-task", rec.get("task_description", ""), Source.USER, Label.BENIGN, "user_task", None)
        issue_bad = not benign and vector == "issue_text"
        col.add(
            rec["id"] + "-issue", rec.get("issue_text", ""), Source.TOOL,
            Label.MALICIOUS if issue_bad else Label.BENIGN, vector if issue_bad else "clean", "get_issue",
        )
        found = issue_bad
        for fname, content in (rec.get("repo_files") or {}).items():
            bad = not benign and vector != "issue_text" and bool(pattern.search(content or ""))
            found = found or bad
            col.add(
                f"{rec['id']}-{fname}", content or "", Source.TOOL,
                Label.MALICIOUS if bad else Label.BENIGN, vector if bad else "clean", "read_file",
            )
        if not benign and not found:
            unmatched += 1
    if unmatched:
        notes.append(f"{unmatched} injected sample(s) whose payload_indicator matched no file (no injected text)")
    return EvalSet(name="ipi_coding_agent", samples=col.samples, notes=notes, info={"path": str(p), "breakdowns": ["group"]})


def load_extras(names: tuple[str, ...] = EXTRA_SETS) -> tuple[list[EvalSet], list[str]]:
    """Every extra set whose package is installed, and a note for each one that is not."""
    loaders = {
        "agent_injection_bench": (load_agent_injection_bench, "agent-injection-bench"),
        "agent_threat_bench": (load_agent_threat_bench, "inspect-evals"),
        "ipi_coding_agent": (load_ipi_coding_agent, "inspect-evals"),
    }
    sets, notes = [], []
    for n in names:
        fn, pkg = loaders[n]
        s = fn()
        if s is None:
            notes.append(f"{n}: skipped, the PyPI package {pkg} is not installed")
        else:
            sets.append(s)
    return sets, notes
