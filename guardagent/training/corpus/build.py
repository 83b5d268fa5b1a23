"""Assemble the screen dataset: template rows (+ external corpora) -> filters -> splits."""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections import Counter
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Sequence

import yaml

from guardagent.training.corpus import outputs_foreign as fx
from guardagent.training.corpus import user_goals as ug
from guardagent.training.corpus import user_prompts as up
from guardagent.training.corpus.actions import HARMFUL_CALLS, NON_SENSITIVE, SENSITIVE, harmful_call, render_call
from guardagent.training.corpus.filters import apply_filters, normalize
from guardagent.training.corpus.hijack import all_hijack_families, assist_families, assist_request, hijack_task, render_hijack
from guardagent.training.corpus.injections_code import all_code_families, render_code_injection
from guardagent.training.corpus.injections import GOALS, HARD_NEGATIVES, FORMS, POSITIONS, all_wrappers, embed, goals_for, render_injection
from guardagent.training.corpus import outputs_approvals as approvals
from guardagent.training.corpus import outputs_people as people
from guardagent.training.corpus import outputs_records as records
from guardagent.training.corpus.outputs import SENSITIVE_KINDS, Carrier, active_carriers, active_sensitive_kinds, carriers_for
from guardagent.training.corpus.slots import SlotDict, fill
from guardagent.training.corpus.splits import PLACED, split_of, template_split_map
from guardagent.training.corpus.tools import TOOL_BY_NAME, sample_args

COLUMNS = ("id", "text", "source", "label", "scenario", "family", "origin", "domain", "tool_name", "split")
#: Integer columns: the character span of the injection or sensitive request inside a tool
#: result (-1 where unknown: benign rows, forms that rewrite the payload, external rows). The
#: screen trainer crops long results without cutting that span out (``--payload-crops``).
SPAN_COLUMNS = ("span_start", "span_end")

#: Target rows per group for size="full" (before filters); "small" scales them down.
TARGETS: dict[str, int] = {
    "user.bu": 15000, "user.su": 4500, "user.mu": 5500, "user.jb": 2000, "user.assist": 2000,
    "user.gbu": 2500, "user.gsu": 800, "user.gmu": 2500,
    "tool.bt": 9000, "tool.hn": 1500, "tool.mt": 9000, "tool.hj": 5000, "tool.code": 3000,
    "tool.st": 4000,
    "action.benign": 4000, "action.sensitive": 3000, "action.malicious": 3000,
}
SCALE = {"full": 1.0, "small": 0.012}
#: Carriers whose shapes vary most get more rows (dense reference tables, developer Q&A).
CARRIER_WEIGHT = {"ref_table": 3.0, "forum_post": 3.0, "table_mixed": 1.5}

# Legitimate argument variants for sensitive tools whose default args are too uniform.
_LEGIT_ARGS: dict[str, tuple[dict[str, str], ...]] = {
    "run_shell": ({"command": "ls -la {dir}"}, {"command": "sudo systemctl restart {service}"}, {"command": "git pull && make test"},
                  {"command": "df -h"}, {"command": "docker compose up -d {service}"}, {"command": "pip install -r requirements.txt"},
                  {"command": "tar czf /tmp/{project}.tgz {dir}"}, {"command": "kubectl rollout restart deploy/{service}"}),
    "execute_sql": ({"sql": "UPDATE {table} SET status = 'archived' WHERE created_at < '{iso_date}'"},
                    {"sql": "DELETE FROM sessions WHERE expires_at < now()"}, {"sql": "INSERT INTO {table} (name) VALUES ('{name}')"}),
    "get_password": ({"site": "https://portal.{domain_co}"}, {"site": "wifi-router"}),
    "update_account_settings": ({"setting": "recovery_email", "value": "{email}"}, {"setting": "language", "value": "fr"},
                                {"setting": "two_factor", "value": "sms"}),
}


def _rng(seed: int, *parts: Any) -> random.Random:
    return random.Random(f"{seed}:" + ":".join(map(str, parts)))


def _row(text: str, source: str, label: str, family: str, *, origin: str = "templates", domain: str = "general",
         tool_name: str = "", scenario: str = "", payload: str | None = None) -> dict[str, Any]:
    """One corpus row; ``payload`` is the injection or request the text carries, if it is there verbatim."""
    at = text.find(payload) if payload else -1
    return {"id": "", "text": text, "source": source, "label": label, "scenario": scenario, "family": family,
            "origin": origin, "domain": domain, "tool_name": tool_name or "", "split": "",
            "span_start": at, "span_end": at + len(payload) if at >= 0 else -1}


def _per_family(total: int, n_families: int, scale: float) -> int:
    return max(1, round(total * scale / max(1, n_families)))


def _unique(k: int, make: Callable[[], dict[str, Any] | None], budget: int = 4) -> list[dict[str, Any]]:
    """Up to ``k`` rows from ``make`` with distinct normalised text (``budget*k`` attempts)."""
    out, seen = [], set()
    for _ in range(max(1, budget * k)):
        if len(out) >= k:
            break
        row = make()
        if row is None:
            continue
        key = normalize(row["text"])
        if key in seen:
            continue
        seen.add(key)
        out.append(row)
    return out


def _pool(families: list[str], split: str) -> list[str]:
    m = template_split_map()
    return [f for f in families if m[f] == split]


# ---------------------------------------------------------------- user rows
def _phrased_rows(fams: Sequence[up.UserFamily], group: str, seed: int, scale: float) -> list[dict[str, Any]]:
    """``TARGETS[group]`` rows spread over the families, each rendered and lightly decorated."""
    rows: list[dict[str, Any]] = []
    k = _per_family(TARGETS[group], len(fams), scale)
    for fam in fams:
        r = _rng(seed, fam.family)

        def make(fam=fam, r=r):
            text, _args = fam.render(r)
            return _row(up.decorate(text, r), "user", fam.label, fam.family, domain=fam.domain)
        rows += _unique(k, make)
    return rows


def user_rows(seed: int, scale: float, user_goals: bool = False) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for fams, group in ((up.BENIGN, "user.bu"), (up.SENSITIVE, "user.su"), (up.MALICIOUS, "user.mu")):
        rows += _phrased_rows(fams, group, seed, scale)
    if user_goals:  # opt-in (corpus build --user-goals): goal x shared frame, the goal is the label;
        # not in the shipped screen's corpus, so its card's rebuild command stays exact (docs/screen.md, runs 25-27)
        for goals, group in ((ug.BENIGN, "user.gbu"), (ug.SENSITIVE, "user.gsu"), (ug.MALICIOUS, "user.gmu")):
            rows += _phrased_rows(goals, group, seed, scale)
    # the hijack tasks as the user's own asks (benign): the source, not the task, makes a hijack
    fams = assist_families()
    k = _per_family(TARGETS["user.assist"], len(fams), scale)
    for family in fams:
        r = _rng(seed, family)
        rows += _unique(k, lambda family=family, r=r: _row(assist_request(family, r, SlotDict(r)), "user", "benign", family))
    # jailbreak-wrapped malicious requests: wrapper and request come from the same split
    k = _per_family(TARGETS["user.jb"], len(up.JAILBREAKS), scale)
    m = template_split_map()
    for key, wrapper in up.JAILBREAKS:
        family = f"user.mu.{key}"
        requests = [f for f in up.MALICIOUS if m[f.family] == m[family]] or up.MALICIOUS
        r = _rng(seed, family)

        def make(wrapper=wrapper, requests=requests, r=r, family=family):
            fam = r.choice(requests)
            text, _ = fam.render(r)
            return _row(up.jailbreak(wrapper, text, r), "user", "malicious", family, domain=fam.domain)
        rows += _unique(k, make)
    return rows


# ---------------------------------------------------------------- tool rows
def _generate(c: Carrier, r: random.Random, s: SlotDict) -> tuple[str, str]:
    """A carrier's text and format; a quarter of JSON results come back as YAML, as many
    tool wrappers render them, so the screen does not tie "clean" to one serialisation."""
    text = c.gen(r, s)
    if c.fmt == "json" and r.random() < 0.25:
        try:
            return yaml.safe_dump(json.loads(text), sort_keys=False, allow_unicode=True, width=100).strip(), "text"
        except ValueError:
            pass
    return text, c.fmt


def _carrier_text(c: Carrier, r: random.Random) -> tuple[str, str]:
    tool = r.choice(c.tools)
    return _generate(c, r, SlotDict(r))[0], tool


def _mostly_code(r: random.Random, pool: list[Carrier]) -> Carrier:
    code = [c for c in pool if c.fmt in ("code", "markdown", "log")] or pool
    return r.choice(code if r.random() < 0.7 else pool)


def _embedded(seed: int, families: list[str], k: int, render: Callable[[str, random.Random, SlotDict], str],
              forms: tuple[str, ...], pick: Callable[[random.Random, list[Carrier]], Carrier] | None = None) -> list[dict[str, Any]]:
    """Malicious tool rows: ``render(family)``'s text embedded in a clean result of the family's split."""
    m = template_split_map()
    rows: list[dict[str, Any]] = []
    carriers = active_carriers()
    for family in families:
        r = _rng(seed, family)
        pool = [c for c in carriers if m[c.family] == m[family] and c.key != "ok"] or carriers[:-1]

        def make(family=family, r=r, pool=pool):
            c = pick(r, pool) if pick else r.choice(pool)
            s = SlotDict(r)
            (carrier, fmt), tool = _generate(c, r, s), r.choice(c.tools)
            inj = render(family, r, s)
            text = embed(carrier, fmt, inj, r.choice(forms), r.choice(POSITIONS), r)
            return _row(text, "tool", "malicious", family, domain=TOOL_BY_NAME[tool].domain, tool_name=tool,
                        payload=inj)
        rows += _unique(k, make)
    return rows


def tool_rows(seed: int, scale: float) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    m = template_split_map()
    # carriers placed after the split was fixed get the same per-family count without diluting the others'
    carriers = active_carriers()
    k0 = _per_family(TARGETS["tool.bt"], sum(c.family not in PLACED for c in carriers), scale)
    for c in carriers:
        r = _rng(seed, c.family)
        k = max(1, round(k0 * CARRIER_WEIGHT.get(c.key, 1.0)))

        def make(c=c, r=r):
            text, tool = _carrier_text(c, r)
            return _row(text, "tool", "benign", c.family, domain=TOOL_BY_NAME[tool].domain, tool_name=tool)
        rows += _unique(k, make)
    k = _per_family(TARGETS["tool.hn"], len(HARD_NEGATIVES), scale)
    for key, temps in HARD_NEGATIVES:
        family = f"tool.bt.{key}"
        r = _rng(seed, family)
        same_split = [c for c in carriers if m[c.family] == m[family] and c.key != "ok"] or carriers[:-1]

        def make(temps=temps, r=r, family=family, same_split=same_split):
            text = fill(r.choice(temps), r, SlotDict(r))
            tool = "read_email"
            if r.random() < 0.5:  # inside a realistic result, like the injections are
                c = r.choice(same_split)
                carrier, tool = _carrier_text(c, r)
                # in the same forms the injections take, so a form (hidden span, comment) is no label cue
                text = embed(carrier, c.fmt, text, r.choice(FORMS), r.choice(POSITIONS), r)
            return _row(text, "tool", "benign", family, domain=TOOL_BY_NAME[tool].domain, tool_name=tool)
        rows += _unique(k, make)
    # sensitive results (kinds placed after the split was fixed: their share of the per-family count)
    k0 = _per_family(TARGETS["tool.st"], len(SENSITIVE_KINDS), scale)
    for kind in active_sensitive_kinds():
        r = _rng(seed, kind.family)
        k = k0 if kind.family not in PLACED else _approval_count(k0)

        def make(kind=kind, r=r):
            tool = r.choice(kind.tools)
            request = kind.render(r, SlotDict(r))
            text = _inside_result(request, [c for c in carriers_for(tool) if c.key != "ok"], r)
            return _row(text, "tool", "sensitive", kind.family, domain=TOOL_BY_NAME[tool].domain, tool_name=tool,
                        payload=request)
        rows += _unique(k, make)
    # injected results
    wrappers = all_wrappers()
    k = _per_family(TARGETS["tool.mt"], len(wrappers), scale)
    for w in wrappers:
        r = _rng(seed, w.family)
        pool = [c for c in carriers if m[c.family] == m[w.family]] or carriers
        goals = goals_for(w)

        def make(w=w, r=r, pool=pool, goals=goals):
            c = r.choice(pool)
            s = SlotDict(r)
            (carrier, fmt), tool = _generate(c, r, s), r.choice(c.tools)
            if w.kind == "en" and r.random() < 0.2:  # classic wrapper around an innocuous task (hijack)
                inj = fill(w.template, r, s, goal=(g := hijack_task(r, s)), goal_json=g.replace('"', "'"))
            else:
                inj = render_injection(w, r.choice(goals), r, s)
            form = r.choice(FORMS) if w.kind == "en" else r.choice(("plain", "plain", "html_hidden", "json_field", "code_comment"))
            text = embed(carrier, fmt, inj, form, r.choice(POSITIONS), r)
            return _row(text, "tool", "malicious", w.family, domain=TOOL_BY_NAME[tool].domain, tool_name=tool,
                        payload=inj)
        rows += _unique(k, make)
    # task-hijacking injections: the data asks the reader to do some other, innocuous task
    fams = all_hijack_families()
    rows += _embedded(seed, fams, _per_family(TARGETS["tool.hj"], len(fams), scale), render_hijack,
                      FORMS + ("plain", "plain", "plain"))
    # code-tampering injections: mostly in code, forum answers and docs a coding agent reads
    fams = all_code_families()
    rows += _embedded(seed, fams, _per_family(TARGETS["tool.code"], len(fams), scale), render_code_injection,
                      ("plain", "plain", "plain", "plain", "code_comment", "quote_block", "html_comment", "json_field"),
                      pick=_mostly_code)
    if records.active():
        rows += _record_rows(seed, scale, m)
    return rows


def _approval_count(k0: int) -> int:
    """Rows per approval kind (and per clean record kind): the share of another sensitive kind's ``k0``."""
    return max(1, round(k0 * approvals.share()))


def _inside_result(text: str, cands: list[Carrier], r: random.Random) -> str:
    """``text`` as it is, or (40 %) placed inside a longer result of one of ``cands``, as requests arrive."""
    if cands and r.random() < 0.4:
        c = r.choice(cands)
        text = embed(c.gen(r, SlotDict(r)), c.fmt, text, "plain", r.choice(POSITIONS), r)
    return text


def _record_rows(seed: int, scale: float, m: dict[str, str]) -> list[dict[str, Any]]:
    """Benign twins of the approval kinds (``outputs_records.py``), as many per kind as its approval kind
    has rows, inside train-split results only; from their own random streams and after every other
    row, so no other row changes."""
    rows: list[dict[str, Any]] = []
    k = _approval_count(_per_family(TARGETS["tool.st"], len(SENSITIVE_KINDS), scale))
    for (_kind, tools, temps), key in zip(records.SPECS, records.KEYS):
        family, r = f"tool.bt.{key}", _rng(seed, f"tool.bt.{key}")

        def make(tools=tools, temps=temps, r=r, family=family):
            tool = r.choice(tools)
            record = fill(r.choice(temps), r, SlotDict(r))
            text = _inside_result(record, [c for c in carriers_for(tool) if c.key != "ok" and m[c.family] == "train"], r)
            return _row(text, "tool", "benign", family, domain=TOOL_BY_NAME[tool].domain, tool_name=tool)
        rows += _unique(k, make)
    return rows


# ---------------------------------------------------------------- action rows
# An action row's family is its tool (``action.tool.<name>``) whatever its label: a held-out tool
# is unseen in training under every label, so no tool is learnt as "always malicious".
def action_rows(seed: int, scale: float) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    k = _per_family(TARGETS["action.benign"], len(NON_SENSITIVE), scale)
    for tool in NON_SENSITIVE:
        family, r = f"action.tool.{tool}", _rng(seed, "action.benign", tool)

        def make(tool=tool, r=r, family=family):
            return _row(render_call(tool, sample_args(tool, r)), "action", "benign", family,
                        domain=TOOL_BY_NAME[tool].domain, tool_name=tool)
        rows += _unique(k, make)
    k = _per_family(TARGETS["action.sensitive"], len(SENSITIVE), scale)
    for tool in SENSITIVE:
        family, r = f"action.tool.{tool}", _rng(seed, "action.sensitive", tool)

        def make(tool=tool, r=r, family=family):
            s = SlotDict(r)
            override = {}
            if tool in _LEGIT_ARGS:
                override = {kk: fill(v, r, s) for kk, v in r.choice(_LEGIT_ARGS[tool]).items()}
            return _row(render_call(tool, sample_args(tool, r, s, **override)), "action", "sensitive", family,
                        domain=TOOL_BY_NAME[tool].domain, tool_name=tool)
        rows += _unique(k, make)
    goal_tools = [g for g in GOALS if g.tool and g.overt]
    k = _per_family(TARGETS["action.malicious"], len(goal_tools) + len(HARMFUL_CALLS), scale)
    for g in goal_tools:
        family, r = f"action.tool.{g.tool}", _rng(seed, "action.malicious", g.key)

        def make(g=g, r=r, family=family):
            name, args = g.call(r, SlotDict(r))
            full = sample_args(name, r)
            full.update(args)
            return _row(render_call(name, full), "action", "malicious", family,
                        domain=TOOL_BY_NAME[name].domain, tool_name=name)
        rows += _unique(k, make)
    for key, tool, _variants in HARMFUL_CALLS:
        family, r = f"action.tool.{tool}", _rng(seed, "action.malicious", key)

        def make(key=key, r=r, family=family, tool=tool):
            return _row(harmful_call(key, r), "action", "malicious", family, domain=TOOL_BY_NAME[tool].domain, tool_name=tool)
        rows += _unique(k, make)
    return rows


# ---------------------------------------------------------------- assembly
def _finalize(rows: list[dict[str, Any]], extra_splits: dict[str, str]) -> None:
    for row in rows:
        row["split"] = split_of(row["family"], row["origin"], extra_splits)
        row["id"] = hashlib.sha1(f"{row['source']}|{row['label']}|{row['text']}".encode()).hexdigest()[:16]


@contextmanager
def options(other_languages: bool | str = False, people_data: bool = False,
            approval_requests: bool | float = False, approval_records: bool = False) -> Iterator[None]:
    """The build options as the generators read them, for one build or for its episodes."""
    with fx.enabled(other_languages), people.enabled(people_data), approvals.enabled(approval_requests), \
            records.enabled(approval_records):
        yield


def options_of(report: dict[str, Any] | None):
    """``options`` as a saved build's report records them (``save`` renders its episodes with them)."""
    report = report or {}
    return options(report.get("other_languages") or False, report.get("people_data") or False,
                   report.get("approval_requests") or False, report.get("approval_records") or False)


def check_records(approval_requests: bool | float, approval_records: bool) -> None:
    """The clean records are the approval kinds' twins and take their row count: not without them."""
    if approval_records and not approvals.share_of(approval_requests):
        from guardagent.taxonomy import GuardError

        raise GuardError("--approval-records adds the clean side of the approval requests and takes their row "
                         "count: pass --approval-requests [SHARE] with it")


def build_rows(seed: int = 0, external: bool = True, size: str = "full",
               extra: Sequence[str] = (), user_goals: bool = False,
               other_languages: bool | str = False,
               people_data: bool = False, approval_requests: bool | float = False,
               approval_records: bool = False) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """All rows (filtered, with splits) and the build report for the dataset card.

    ``extra`` names optional external sources (``external.OPTIONAL_SOURCES``) to add to the
    default ones; ``user_goals`` adds the goal x frame user requests (``user_goals.py``);
    ``other_languages`` (``languages``; ``all``, also second-person titles, maxims and answer
    prose; ``True`` is ``all``; ``none``/``False``, the default) lets clean tool results carry
    other languages (``outputs_foreign.py``); ``people_data`` adds clean address books, staff
    directories and team rosters to train (``outputs_people.py``); ``approval_requests`` adds
    sensitive requests a human must approve to train (``outputs_approvals.py``; a number is their
    rows per kind as a share of another sensitive kind's, ``True`` is 1); ``approval_records`` adds,
    with them, a clean record of each one's subject with nothing asked (``outputs_records.py``). The
    shipped screen's corpus uses none of them."""
    if size not in SCALE:
        from guardagent.taxonomy import GuardError

        raise GuardError(f"unknown corpus size {size!r}: expected one of {sorted(SCALE)}")
    other_languages = fx.mix_of(other_languages)
    approval_requests = approvals.share_of(approval_requests)
    check_records(approval_requests, approval_records)
    if other_languages:
        fx.check_sources()
    t0 = time.perf_counter()
    scale = SCALE[size]
    from guardagent.training.corpus.episodes import episode_rows

    notes: list[str] = []
    sources_used: list[dict[str, str]] = []
    extra_splits: dict[str, str] = {}
    with options(other_languages, people_data, approval_requests, approval_records):  # every generator below sees the switches
        rows = user_rows(seed, scale, user_goals) + tool_rows(seed, scale) + action_rows(seed, scale)
        # the approval kinds stay out of the episodes' screen rows, since a train episode's draws also
        # make action rows of held-out tools and the held-out splits must not move; the episodes that
        # save() writes for the RL sandbox do use them
        with approvals.enabled(False):
            rows += episode_rows(seed, n_per_scenario=max(2, round(40 * scale)))
        if external:
            from guardagent.training.corpus import external as ext

            ext_rows, notes, sources_used, extra_splits = ext.load_all(seed, size, extra)
            rows += ext_rows
    if other_languages:
        sources_used.append({"name": "faker", "licence": "MIT",
                             "what": "per-locale word lists, person names and places (PyPI `faker`, seeded from the "
                                     "build's RNG) for other-language clean tool results (outputs_foreign.py)"})
        sources_used.append({"name": "django", "licence": "BSD-3-Clause",
                             "what": "declarative messages of its translation catalogues (PyPI `django`, the .mo files "
                                     "only) as the sentences of other-language letters (outputs_foreign.py)"})
    before = Counter((r["origin"].split(":")[0], r["label"]) for r in rows)
    rows, stats = apply_filters(rows)
    _finalize(rows, extra_splits)
    rng = random.Random(seed)
    rng.shuffle(rows)
    report = {"seed": seed, "size": size, "external": external, "user_goals": user_goals,
              "other_languages": other_languages or False, "people_data": people_data,
              "approval_requests": approval_requests, "approval_records": approval_records, "filters": stats, "notes": notes,
              "sources": sources_used, "before_filters": {f"{o}/{lab}": n for (o, lab), n in sorted(before.items())},
              "seconds": round(time.perf_counter() - t0, 2)}
    return rows, report


def build_screen_dataset(seed: int = 0, external: bool = True, size: str = "full", extra: Sequence[str] = (),
                         user_goals: bool = False, other_languages: bool | str = False, people_data: bool = False,
                         approval_requests: bool | float = False, approval_records: bool = False):
    """The screen's training data as a ``datasets.DatasetDict`` (train / validation / test)."""
    import datasets

    rows, report = build_rows(seed, external, size, extra, user_goals, other_languages, people_data, approval_requests,
                              approval_records)
    features = datasets.Features({c: datasets.Value("string") for c in COLUMNS}
                                 | {c: datasets.Value("int32") for c in SPAN_COLUMNS})
    out = datasets.DatasetDict()
    for split in ("train", "validation", "test"):
        part = [{c: r[c] for c in COLUMNS} | {c: r.get(c, -1) for c in SPAN_COLUMNS} for r in rows if r["split"] == split]
        out[split] = datasets.Dataset.from_list(part, features=features)
    out.build_report = report  # type: ignore[attr-defined]  # read by save() for the card
    return out
