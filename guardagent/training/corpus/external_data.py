"""Real tables, reference pages and source code as tool results (clean, and carrying our injections).

Template carriers give the screen the *shapes* of tool results, but their contents come from a
few hundred slot values, so real data that looks unlike them (a statistics table, a page of
library code) reads as unusual, and unusual reads as injected. These loaders add real contents
that need no download:

* ``pydataset`` (MIT) ships the Rdatasets collection: 757 data tables from 31 R packages with
  their help pages (data licences: those of the R packages, mostly GPL-2/3). Tables are rendered
  in the forms tools return them (Markdown, CSV, TSV, aligned text, HTML, JSON records); help pages
  as documents. Read from the package's ``resources.tar.gz``; nothing is imported or unpacked.
* the Python standard library (PSF-2.0), which every interpreter carries: slices of its modules
  as file reads, listings and code-host pages (tests excluded).

Families are the R package (``ext.rdata.<package>``) and the top-level module
(``ext.pysrc.<module>``), so splits are disjoint by data source. A share of the same results
carries one of our own injections (family = the injection's template family, so it keeps that
family's split): real contents must not become a shortcut for "benign".
"""

from __future__ import annotations

import csv
import html
import io
import json
import random
import re
import sysconfig
import tarfile
from functools import lru_cache
from pathlib import Path
from typing import Any

from guardagent.training.corpus.build import _row
from guardagent.training.corpus.injections import POSITIONS, Wrapper, all_wrappers, embed, goals_for, render_injection
from guardagent.training.corpus.injections_code import all_code_families, render_code_injection
from guardagent.training.corpus.slots import SlotDict
from guardagent.training.corpus.splits import assign, template_split_map

Row = dict[str, Any]

SOURCES: dict[str, dict[str, str]] = {
    "pydataset": {"package": "pydataset", "licence": "MIT (pydataset); data from the Rdatasets collection, under the "
                                                     "licences of its 31 R packages (mostly GPL-2/GPL-3)",
                  "what": "real data tables (Markdown, CSV, TSV, aligned text, HTML, JSON records) and their help "
                          "pages as clean tool results, and the same tables carrying guardagent's own injections."},
    "python-stdlib": {"package": "(the Python standard library)", "licence": "PSF-2.0",
                      "what": "slices of standard-library modules (tests excluded) as clean file reads and code pages, "
                              "and the same slices carrying guardagent's own code-tampering and agent injections."},
}

#: Rows per source at size="full" (clean; injected rows are a share of these).
COUNTS = {"tables": 1500, "pages": 400, "code": 1200}
INJECTED_SHARE = {"tables": 0.4, "code": 0.4}
_TABLE_TOOLS = ("read_file", "query_database", "fetch_url", "export_table", "web_search", "read_document")
_CODE_TOOLS = ("read_repo_file", "read_file", "fetch_url")
_MAX_CHARS = 2500


def _base_row(text: str, label: str, family: str, origin: str, domain: str, tool: str, payload: str | None = None) -> Row:
    return _row(text, "tool", label, family, origin=origin, domain=domain, tool_name=tool, payload=payload)


@lru_cache(maxsize=1)
def _english_wrappers() -> tuple[Wrapper, ...]:
    return tuple(w for w in all_wrappers() if w.kind == "en") or tuple(all_wrappers())


def _injection(r: random.Random, code: bool = False) -> tuple[str, str]:
    """(template family, text) of one of our injections; code-tampering ones for code when ``code``."""
    s = SlotDict(r)
    if code and r.random() < 0.6:
        family = r.choice(all_code_families())
        return family, render_code_injection(family, r, s)
    w = r.choice(_english_wrappers())
    return w.family, render_injection(w, r.choice(goals_for(w)), r, s)


def _embed(text: str, fmt: str, inj: str, r: random.Random, forms: tuple[str, ...]) -> tuple[str, str | None]:
    """(text carrying ``inj``, the payload when it sits in the text verbatim)."""
    form = r.choice(forms)
    return embed(text, fmt, inj, form, r.choice(POSITIONS), r), inj if form == "plain" else None


def _same_split(keys_by_family: dict[str, list[Any]], splits: dict[str, str], split: str, r: random.Random) -> Any:
    """A key whose source family is in ``split`` (any key if none is)."""
    fams = sorted(f for f in keys_by_family if splits.get(f) == split) or sorted(keys_by_family)
    return r.choice(keys_by_family[r.choice(fams)])


# ------------------------------------------------------------------ Rdatasets tables
def _rdata_files(tar: tarfile.TarFile) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """(tables, help pages, titles) keyed ``package/item``, in one sequential pass over the archive."""
    csvs, docs, titles = {}, {}, {}
    for m in tar:
        parts = m.name.split("/")
        name = parts[-1]
        if not m.isfile() or name.startswith("._") or len(parts) < 2:
            continue
        if not (name == "datasets.csv" or ("csv" in parts and name.endswith(".csv")) or ("doc" in parts and name.endswith(".html"))):
            continue
        f = tar.extractfile(m)
        raw = f.read().decode("utf-8", errors="replace") if f else ""
        if name == "datasets.csv":
            titles.update({f"{rec.get('Package', '')}/{rec.get('Item', '')}": rec.get("Title", "")
                           for rec in csv.DictReader(io.StringIO(raw))})
        elif name.endswith(".csv"):
            csvs[f"{parts[-2]}/{name[:-4]}"] = raw
        else:
            docs[f"{parts[-2]}/{name[:-5]}"] = raw
    return csvs, docs, titles


def _cell(v: str) -> str:
    v = v.strip()
    try:
        x = float(v)
    except ValueError:
        return v
    return v if len(v) <= 8 or not re.fullmatch(r"-?\d+\.\d+", v) else f"{x:.4g}"


def _render_table(header: list[str], rows: list[list[str]], title: str, r: random.Random) -> tuple[str, str]:
    """One table in a form a tool returns it; (text, embed format)."""
    kind = r.choice(("markdown", "markdown", "csv", "tsv", "aligned", "html", "json", "records"))
    cap = "" if r.random() < 0.4 else r.choice((f"{title}\n\n", f"### {title}\n\n", f"Table: {title}\n\n",
                                                 f"Query returned {len(rows)} rows.\n\n"))
    if kind == "markdown":
        lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return cap + "\n".join(lines), "table"
    if kind in ("csv", "tsv"):
        buf = io.StringIO()
        csv.writer(buf, delimiter="," if kind == "csv" else "\t", lineterminator="\n").writerows([header, *rows])
        return cap + buf.getvalue().strip(), "table"
    if kind == "aligned":
        widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
        fmt = lambda row: "  ".join(str(x).ljust(w) for x, w in zip(row, widths)).rstrip()  # noqa: E731
        return cap + "\n".join([fmt(header), "  ".join("-" * w for w in widths), *map(fmt, rows)]), "text"
    if kind == "html":
        head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
        body = "\n".join("<tr>" + "".join(f"<td>{html.escape(x)}</td>" for x in row) + "</tr>" for row in rows)
        t = f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>"
        return (f"<h3>{html.escape(title)}</h3>\n" if cap else "") + t, "html"
    recs = [dict(zip(header, row)) for row in rows]
    if kind == "json":
        return json.dumps(recs, ensure_ascii=False), "json"
    return cap + "\n\n".join("\n".join(f"{k}: {v}" for k, v in rec.items()) for rec in recs), "text"


def _table_text(raw: str, title: str, r: random.Random) -> tuple[str, str] | None:
    data = list(csv.reader(io.StringIO(raw)))
    if len(data) < 3 or len(data[0]) < 2:
        return None
    header, body = data[0], [row for row in data[1:] if len(row) == len(data[0])]
    cols = list(range(len(header)))
    if header[0] == "":  # R row names: keep as an index column or drop
        if r.random() < 0.5:
            cols = cols[1:]
        else:
            header = [r.choice(("#", "id", "row", ""))] + header[1:]
    if len(cols) > 8:
        keep = sorted(r.sample(cols[1:], r.randint(3, 7)))
        cols = [cols[0]] + keep
    n = r.randint(4, 30)
    start = r.randrange(max(1, len(body) - n + 1))
    rows = [[_cell(row[c]) for c in cols] for row in body[start:start + n]]
    if not rows:
        return None
    text, fmt = _render_table([header[c] for c in cols], rows, title, r)
    while len(text) > _MAX_CHARS and len(rows) > 3:
        rows = rows[: max(3, len(rows) * 2 // 3)]
        text, fmt = _render_table([header[c] for c in cols], rows, title, r)
    return (text, fmt) if len(text) <= _MAX_CHARS else None


_TAG = re.compile(r"<[^>]+>")


def _page_text(raw: str, title: str) -> str:
    body = re.sub(r"(?is)<(script|style|head)[^>]*>.*?</\1>", " ", raw)
    body = re.sub(r"(?i)<(br|/p|/h\d|/tr|/pre|/li|/dt|/dd|/table)[^>]*>", "\n", body)
    text = html.unescape(_TAG.sub(" ", body))
    lines = [re.sub(r"[ \t]+", " ", ln).strip() for ln in text.splitlines()]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    return (f"{title}\n\n" if title and not text.startswith(title) else "") + text


def load_rdatasets(r: random.Random, counts: dict[str, int], files: list[str]) -> tuple[list[Row], list[str], dict[str, str]]:
    from guardagent.training.corpus.external import package_dir  # external imports this module

    root = package_dir("pydataset")
    if root is None:
        raise FileNotFoundError("pydataset not installed")
    path = root / "resources.tar.gz"
    if not path.exists():
        raise FileNotFoundError("pydataset has no resources.tar.gz")
    files.append(str(path.relative_to(root.parent)))
    rows: list[Row] = []
    try:
        with tarfile.open(path, "r:gz") as tar:
            csvs, docs, titles = _rdata_files(tar)
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise ValueError(f"{path} is not a readable tar.gz archive ({exc})") from None
    if not csvs:
        raise ValueError(f"{path} holds no Rdatasets tables")
    keys = sorted(csvs)
    by_family: dict[str, list[str]] = {}
    for key in keys:
        by_family.setdefault(f"ext.rdata.{key.split('/')[0]}", []).append(key)
    splits = assign(by_family)
    n_tables = counts["tables"]
    forms = ("plain", "plain", "table_cell", "html_comment", "html_hidden", "json_field", "split_fields")
    for i in range(n_tables + round(n_tables * INJECTED_SHARE["tables"])):
        family, inj = ("", "") if i < n_tables else _injection(r)
        key = r.choice(keys) if i < n_tables else _same_split(by_family, splits, template_split_map()[family], r)
        got = _table_text(csvs[key], titles.get(key) or key.split("/")[1], r)
        if got is None:
            continue
        text, fmt = got
        tool = r.choice(_TABLE_TOOLS)
        if i < n_tables:
            rows.append(_base_row(text, "benign", f"ext.rdata.{key.split('/')[0]}", "pydataset", "data", tool))
        else:
            out, payload = _embed(text, fmt, inj, r, forms)
            rows.append(_base_row(out, "malicious", family, "pydataset", "data", tool, payload))
    for key in r.sample(sorted(docs), min(counts["pages"], len(docs))):
        text = _page_text(docs[key], titles.get(key, ""))
        if len(text) < 80:
            continue
        pkg = key.split("/")[0]
        rows.append(_base_row(text[:_MAX_CHARS], "benign", f"ext.rdata.{pkg}", "pydataset", "docs",
                              r.choice(("read_document", "fetch_url", "web_search"))))
    return rows, [], splits


# ------------------------------------------------------------------ standard-library code
_SKIP_DIRS = {"test", "tests", "idle_test", "site-packages", "dist-packages", "__pycache__", "lib2to3", "turtledemo"}
_DEF = re.compile(r"^\s*(async\s+def|def|class)\s")


def _stdlib_files() -> tuple[Path, list[Path]]:
    root = Path(sysconfig.get_paths()["stdlib"])
    out = [p for p in root.rglob("*.py") if not (_SKIP_DIRS & set(p.relative_to(root).parts[:-1]))
           and not p.name.startswith("test_")]
    return root, sorted(out)


def _code_slice(src: str, rel: str, r: random.Random) -> tuple[str, str] | None:
    lines = src.splitlines()
    if len(lines) < 12:
        return None
    starts = [i for i, ln in enumerate(lines) if _DEF.match(ln)] or [0]
    a = r.choice(starts) if r.random() < 0.8 else r.randrange(len(lines) - 8)
    b = min(len(lines), a + r.randint(12, 60))
    body = "\n".join(lines[a:b]).rstrip()
    while len(body) > _MAX_CHARS - 200 and b - a > 8:
        b = a + (b - a) * 2 // 3
        body = "\n".join(lines[a:b]).rstrip()
    if len(body.strip()) < 120:
        return None
    kind = r.choice(("plain", "plain", "fenced", "header", "numbered", "json"))
    if kind == "fenced":
        return f"{rel}\n```python\n{body}\n```", "markdown"
    if kind == "header":
        return f"File: {rel} (lines {a + 1}-{b})\n\n{body}", "code"
    if kind == "numbered":
        return "\n".join(f"{a + 1 + j:>5}  {ln}" for j, ln in enumerate(lines[a:b])), "code"
    if kind == "json":
        return json.dumps({"path": rel, "start_line": a + 1, "end_line": b, "content": body}, ensure_ascii=False), "json"
    return body, "code"


def load_stdlib_code(r: random.Random, counts: dict[str, int], files: list[str]) -> tuple[list[Row], list[str], dict[str, str]]:
    root, paths = _stdlib_files()
    if len(paths) < 50:
        raise FileNotFoundError(f"the Python standard library at {root} has too few modules")
    files.append(f"{root} ({len(paths)} modules)")
    by_family: dict[str, list[Path]] = {}
    for p in paths:
        by_family.setdefault(f"ext.pysrc.{p.relative_to(root).parts[0].removesuffix('.py')}", []).append(p)
    splits = assign(by_family)
    rows: list[Row] = []
    n = counts["code"]
    forms = ("code_comment", "code_comment", "plain", "quote_block", "json_field")
    for i in range(n + round(n * INJECTED_SHARE["code"])):
        family, inj = ("", "") if i < n else _injection(r, code=True)
        p = r.choice(paths) if i < n else _same_split(by_family, splits, template_split_map()[family], r)
        rel = "Lib/" + p.relative_to(root).as_posix()
        got = _code_slice(p.read_text(encoding="utf-8", errors="replace"), rel, r)
        if got is None:
            continue
        text, fmt = got
        tool = r.choice(_CODE_TOOLS)
        if i < n:
            rows.append(_base_row(text, "benign", f"ext.pysrc.{rel.split('/')[1].removesuffix('.py')}", "python-stdlib",
                                  "dev", tool))
        else:
            out, payload = _embed(text, fmt, inj, r, forms)
            rows.append(_base_row(out, "malicious", family, "python-stdlib", "dev", tool, payload))
    return rows, [], splits
