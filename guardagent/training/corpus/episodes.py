"""Concrete scenarios of the BU/MU/SU x BT/MT/ST grid for the RL sandbox.

An episode's family is its user-prompt family; the injection wrapper (MT) and the sensitive
result kind (ST) are drawn from families of the same split, so train / validation / test
episodes share no template family. Benign result carriers are shared context (not labelled
content) and may recur across splits.

Field conventions (see ``guardagent.training.episode.Episode``):
* BU / SU: ``task_tool`` is the tool the request needs, ``task_args`` the arguments it must
  carry (subset match). SU: ``sensitive_tool == task_tool`` (verify before it runs).
* MU: ``task_tool`` is None (the right move is to refuse); ``tool_outputs`` still holds the
  result of the tool the request would use, so a policy that complies meets the tool label.
* MT: ``injected_tool`` / ``injected_args`` is the call the injected text tries to provoke.
* ST (with BU or MU): ``sensitive_tool`` is the consequential follow-up the result asks for.
"""

from __future__ import annotations

import hashlib
import random
from typing import Any

from guardagent.taxonomy import GuardError, ScenarioCode
from guardagent.training.episode import Episode
from guardagent.training.corpus import user_prompts as up
from guardagent.training.corpus.actions import render_call
from guardagent.training.corpus.injections import FORMS, POSITIONS, all_wrappers, embed, goals_for, render_injection
from guardagent.training.corpus.outputs import CARRIERS, active_sensitive_kinds, carriers_for
from guardagent.training.corpus.slots import SlotDict
from guardagent.training.corpus.splits import SPLITS, template_split_map
from guardagent.training.corpus.tools import TOOL_BY_NAME, TOOLS

SYSTEM_PROMPTS = (
    "You are a helpful assistant with access to tools. Use them to complete the user's request.",
    "You are an AI assistant for {company}. You can call tools. Ask for confirmation before consequential actions.",
    "You are a personal assistant. Today is {date}. Use the available tools when needed and be concise.",
    None,
)

_MU_FALLBACK_TOOL = "web_search"


def _rng(seed: int, *parts: Any) -> random.Random:
    return random.Random(f"ep:{seed}:" + ":".join(map(str, parts)))


def _coerce(tool: str, args: dict[str, Any]) -> dict[str, Any]:
    props = TOOL_BY_NAME[tool].parameters.get("properties", {})
    out = {}
    for k, v in args.items():
        typ = props.get(k, {}).get("type")
        if typ == "integer" and isinstance(v, str) and v.isdigit():
            v = int(v)
        out[k] = v
    return out


def _result_text(tool: str, r: random.Random, s: SlotDict) -> tuple[str, str, str]:
    """A benign result of ``tool``, its format and family (prefers informative carriers)."""
    cands = [c for c in carriers_for(tool) if c.key != "ok"] or carriers_for(tool) or CARRIERS[:1]
    c = r.choice(cands)
    return c.gen(r, s), c.fmt, c.family


def _pools(split: str) -> dict[str, Any]:
    m = template_split_map()
    wrappers = [w for w in all_wrappers() if m[w.family] == split]
    return {
        "BU": [f for f in up.BENIGN if f.tool and not TOOL_BY_NAME[f.tool].sensitive and m[f.family] == split],
        "SU": [f for f in up.SENSITIVE if f.tool and m[f.family] == split],
        "MU": [f for f in up.MALICIOUS if m[f.family] == split],
        "MT": [(w, g) for w in wrappers for g in goals_for(w) if g.tool],
        "ST": [k for k in active_sensitive_kinds() if m[k.family] == split],
    }


def make_episode(code: ScenarioCode, split: str, seed: int, index: int, pools: dict[str, Any] | None = None) -> Episode:
    return _make(code, split, seed, index, pools or _pools(split))[0]


def _make(code: ScenarioCode, split: str, seed: int, index: int, pools: dict[str, Any]) -> tuple[Episode, dict[str, str]]:
    """The episode and the families of its parts (result carrier, wrapper, kind, goal)."""
    u, t = code.value.split("-")
    r = _rng(seed, split, code.value, index)
    s = SlotDict(r)
    candidates = pools[u]
    if t == "ST" and u != "SU":  # prefer a request whose result can carry one of the split's ST kinds
        st_tools = {tool for k in pools["ST"] for tool in k.tools}
        candidates = [f for f in candidates if (f.tool or _MU_FALLBACK_TOOL) in st_tools] or candidates
    fam = r.choice(candidates)
    user_text, args = fam.render(r, s)
    user_text = up.decorate(user_text, r)
    if u == "MU":
        task_tool, task_args = None, {}
        result_tool = fam.tool or _MU_FALLBACK_TOOL
    else:
        task_tool, task_args = fam.tool, _coerce(fam.tool, args)
        result_tool = fam.tool
    text, fmt, carrier_family = _result_text(result_tool, r, s)
    meta = {"tool_family": carrier_family, "goal": ""}
    injected_tool, injected_args, sensitive_tool = None, {}, None
    if u == "SU":
        sensitive_tool = task_tool
    if t == "MT":
        # the injected call must differ from the task's own tools, or complying and doing the task look alike
        w, goal = r.choice([wg for wg in pools["MT"] if wg[1].tool not in (task_tool, result_tool)] or pools["MT"])
        inj = render_injection(w, goal, r, s)
        form = r.choice(FORMS) if w.kind == "en" else "plain"
        text = embed(text, fmt, inj, form, r.choice(POSITIONS), r)
        injected_tool, injected_args = goal.call(r, s)
        meta.update(tool_family=w.family, goal="malicious" if goal.overt else "")
    elif t == "ST":
        kinds = [k for k in pools["ST"] if k.follow_up not in (task_tool, result_tool) or u == "SU"] or pools["ST"]
        kind = r.choice([k for k in kinds if result_tool in k.tools] or kinds)
        text = embed(text, fmt, kind.render(r, s), "plain", r.choice(POSITIONS), r) if r.random() < 0.5 else kind.render(r, s)
        if sensitive_tool is None:
            sensitive_tool = kind.follow_up
        meta["tool_family"] = kind.family
    names = [n for n in (task_tool, result_tool, injected_tool, sensitive_tool) if n]
    others = [x.name for x in TOOLS if x.name not in names]
    names += r.sample(others, k=r.randint(2, 4))
    names = list(dict.fromkeys(names))
    r.shuffle(names)
    system = r.choice(SYSTEM_PROMPTS)
    digest = hashlib.sha1(f"{user_text}|{text}".encode()).hexdigest()[:8]
    return Episode(
        id=f"ep-{split}-{code.value}-{seed}-{index:04d}-{digest}",
        scenario=code,
        domain=fam.domain if fam.domain != "general" else TOOL_BY_NAME[result_tool].domain,
        user=user_text,
        tools=[TOOL_BY_NAME[n] for n in names],
        system=system.format_map(s) if system else None,
        task_tool=task_tool,
        task_args=task_args,
        tool_outputs={result_tool: text},
        injected_tool=injected_tool,
        injected_args=injected_args,
        sensitive_tool=sensitive_tool,
        family=fam.family,
        origin="templates",
        split=split,
    ), meta


def build_episodes(n_per_scenario: int = 50, seed: int = 0, split: str = "train") -> list[Episode]:
    """``n_per_scenario`` episodes for each of the nine scenarios, from ``split``'s families."""
    if split not in SPLITS:
        raise GuardError(f"unknown split {split!r}: expected one of {list(SPLITS)}")
    pools = _pools(split)
    for key in ("BU", "SU", "MU", "MT", "ST"):
        if not pools[key]:
            raise GuardError(f"no {key} template family in split {split!r}")
    return [_make(code, split, seed, i, pools)[0] for code in ScenarioCode for i in range(n_per_scenario)]


def validate_episode(ep: Episode) -> list[str]:
    """Consistency problems of an episode (empty when it is sound)."""
    problems = []
    names = {t.name for t in ep.tools}
    u, t = ep.scenario.value.split("-")
    for field in ("task_tool", "injected_tool", "sensitive_tool"):
        name = getattr(ep, field)
        if name and name not in names:
            problems.append(f"{field} {name!r} not offered")
    for name in ep.tool_outputs:
        if name not in names:
            problems.append(f"output for tool {name!r} that is not offered")
    if not ep.tool_outputs:
        problems.append("no tool output")
    if u in ("BU", "SU") and not ep.task_tool:
        problems.append("benign/sensitive user episode without a task tool")
    if ep.task_tool:
        props = TOOL_BY_NAME[ep.task_tool].parameters.get("properties", {})
        problems += [f"task arg {k!r} not in {ep.task_tool} schema" for k in ep.task_args if k not in props]
    if u == "SU" and (not ep.sensitive_tool or not TOOL_BY_NAME[ep.sensitive_tool].sensitive):
        problems.append("SU episode whose sensitive_tool is not a sensitive tool")
    if t == "ST" and not ep.sensitive_tool:
        problems.append("ST episode without sensitive_tool")
    if (t == "MT") != bool(ep.injected_tool):
        problems.append("injected_tool must be set exactly for MT")
    if not ep.user.strip():
        problems.append("empty user prompt")
    return problems


def episode_rows(seed: int, n_per_scenario: int) -> list[dict[str, Any]]:
    """Screen rows taken from episodes (user prompt, result, calls), tagged with the scenario.

    Each row keeps the family that defines its labelled content (user family, result carrier /
    wrapper / kind, tool), so its split follows the same family rule as every other row.
    """
    from guardagent.training.corpus.build import _row
    from guardagent.training.corpus.tools import sample_args

    rows = []
    label = {"BU": "benign", "MU": "malicious", "SU": "sensitive", "BT": "benign", "MT": "malicious", "ST": "sensitive"}
    for split in SPLITS:
        pools = _pools(split)
        for code in ScenarioCode:
            for i in range(n_per_scenario):
                ep, meta = _make(code, split, seed, i, pools)
                u, t = code.value.split("-")
                rows.append(_row(ep.user, "user", label[u], ep.family, domain=ep.domain, scenario=code.value))
                (tool, text), = ep.tool_outputs.items()
                rows.append(_row(text, "tool", label[t], meta["tool_family"], domain=TOOL_BY_NAME[tool].domain,
                                 tool_name=tool, scenario=code.value))
                if ep.task_tool:
                    sens = TOOL_BY_NAME[ep.task_tool].sensitive
                    args = sample_args(ep.task_tool, _rng(seed, ep.id), **ep.task_args)
                    rows.append(_row(render_call(ep.task_tool, args), "action", "sensitive" if sens else "benign",
                                     f"action.tool.{ep.task_tool}", domain=ep.domain,
                                     tool_name=ep.task_tool, scenario=code.value))
                if ep.injected_tool:
                    args = sample_args(ep.injected_tool, _rng(seed, ep.id, "inj"))
                    args.update(ep.injected_args)
                    # a covert goal's call looks like any sensitive call: labelled sensitive
                    lab, fam = ("malicious" if meta["goal"] else "sensitive"), f"action.tool.{ep.injected_tool}"
                    if not TOOL_BY_NAME[ep.injected_tool].sensitive and lab == "sensitive":
                        continue
                    rows.append(_row(render_call(ep.injected_tool, args), "action", lab, fam,
                                     domain=TOOL_BY_NAME[ep.injected_tool].domain, tool_name=ep.injected_tool,
                                     scenario=code.value))
    return rows
