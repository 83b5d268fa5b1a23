"""``guardagent scan``: screen a JSONL file of items offline, one ruling per line.

Why a batch command: security teams audit logs and corpora after the fact, and benchmark
harnesses need the guard without an agent around it. Output lines keep the input order, a bad
line becomes an error record instead of stopping the run, and the exit code says whether any
line failed (1) or the command itself was misused (2).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections import Counter
from pathlib import Path
from typing import IO, Any, Iterator

from guardagent.taxonomy import GuardError, Item, Source

EXIT_OK, EXIT_LINE_ERRORS, EXIT_USAGE = 0, 1, 2


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "scan",
        help="screen a JSONL file of items (user messages, tool calls, tool results)",
        description=(
            "Screen items offline. Each input line is a JSON object "
            '{"id", "source": "user"|"action"|"tool", "text", "tool_name"?, "tool_args"?}; '
            "each output line is its ruling (label, decision, scores, reasons, latency_ms), in "
            "input order, with the input line number in \"line\"; blank lines are skipped. Malformed lines "
            "yield {\"id\", \"line\", \"error\"} and the run goes on. "
            "Exit status: 0 all lines screened, 1 some lines failed, 2 usage error."
        ),
    )
    p.add_argument("--input", "-i", default="-", metavar="IN.jsonl", help="input file ('-': stdin, the default)")
    p.add_argument("--output", "-o", default="-", metavar="OUT.jsonl", help="output file ('-': stdout, the default)")
    p.add_argument("--policy", "-p", metavar="FILE", help="policy file (.yaml/.toml/.json); default: the built-in policy")
    p.add_argument("--batch-size", "-b", type=int, default=64, metavar="N", help="items screened per batch (default 64)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar even on a terminal")
    p.add_argument("--quiet", "-q", action="store_true", help="no summary line on stderr")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from guardagent.screening import Guard
    from guardagent.policy import GuardPolicy

    if args.batch_size < 1:
        return _usage(f"--batch-size must be at least 1, got {args.batch_size}")
    if args.input != "-" and not Path(args.input).is_file():
        return _usage(f"input file not found: {args.input}")
    try:
        policy = GuardPolicy.load(args.policy) if args.policy else GuardPolicy.default()
        guard = Guard(policy).warm()  # build every screen now: a bad screen config is a usage error
    except GuardError as exc:
        return _usage(str(exc))
    try:
        out = sys.stdout if args.output == "-" else open(args.output, "w", encoding="utf-8")
    except OSError as exc:
        return _usage(f"cannot write {args.output}: {exc.strerror or exc}")
    inp = sys.stdin if args.input == "-" else open(args.input, encoding="utf-8", errors="replace")
    progress = _Progress(None if args.input == "-" else _count_lines(args.input),
                         enabled=not args.no_progress and sys.stderr.isatty())
    try:
        counts = asyncio.run(_scan(guard, inp, out, args.batch_size, progress))
    finally:
        progress.close()
        if inp is not sys.stdin:
            inp.close()
        if out is not sys.stdout:
            out.close()
        else:
            out.flush()
    if not args.quiet:
        summary = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()) if k != "lines")
        print(f"guardagent scan: {counts['lines']} lines: {summary or 'nothing screened'}", file=sys.stderr)
    return EXIT_LINE_ERRORS if counts.get("errors") else EXIT_OK


def _usage(message: str) -> int:
    print(f"guardagent scan: {message}", file=sys.stderr)
    return EXIT_USAGE


async def _scan(guard: Any, inp: IO[str], out: IO[str], batch_size: int, progress: "_Progress") -> Counter:
    """Read, screen in batches, write in input order; returns counts per label and errors."""
    counts: Counter = Counter()
    pending: list[tuple[int, Any]] = []  # (line number, Item or error record), in input order

    async def flush() -> None:
        items = [(n, v) for n, v in pending if isinstance(v, Item)]
        records = dict(await _rule(guard, items)) if items else {}
        for n, v in pending:
            rec = records[n] if isinstance(v, Item) else v
            counts["errors" if "error" in rec else rec["label"]] += 1
            out.write(json.dumps(rec, ensure_ascii=False) + "\n")
        out.flush()
        progress.update(len(pending))
        pending.clear()

    for n, line in _lines(inp):
        counts["lines"] += 1
        pending.append((n, parse_line(line, n)))
        if sum(isinstance(v, Item) for _, v in pending) >= batch_size:
            await flush()
    if pending:
        await flush()
    return counts


async def _rule(guard: Any, items: list[tuple[int, Item]]) -> list[tuple[int, dict[str, Any]]]:
    """Rulings for a batch; if the batch fails, item by item so one bad item costs one line."""
    try:
        rulings = await guard.arule([it for _, it in items])
        return [(n, _record(r, n)) for (n, _), r in zip(items, rulings)]
    except GuardError as exc:
        if len(items) == 1:
            n, it = items[0]
            return [(n, {"id": it.id, "line": n, "error": f"screening failed: {exc}"})]
    out = []
    for n, it in items:
        try:
            out.append((n, _record((await guard.arule([it]))[0], n)))
        except GuardError as exc:
            out.append((n, {"id": it.id, "line": n, "error": f"screening failed: {exc}"}))
    return out


def _record(ruling: Any, line: int) -> dict[str, Any]:
    rec = ruling.as_record()
    rec["line"] = line
    return rec


def _lines(inp: IO[str]) -> Iterator[tuple[int, str]]:
    """(1-based line number, line) for non-blank lines: blank lines are not items."""
    for n, line in enumerate(inp, start=1):
        if line.strip():
            yield n, line


def parse_line(line: str, n: int) -> Item | dict[str, Any]:
    """An Item, or an error record ``{"id", "line", "error"}`` naming what is wrong."""
    def error(msg: str, rid: Any = None) -> dict[str, Any]:
        return {"id": rid, "line": n, "error": msg}

    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        return error(f"invalid JSON: {exc.msg} (column {exc.colno})")
    if not isinstance(obj, dict):
        return error(f"expected a JSON object, got {type(obj).__name__}")
    rid = obj.get("id")
    if rid is not None and not isinstance(rid, (str, int)):
        return error(f"'id' must be a string or a number, got {type(rid).__name__}")
    rid = None if rid is None else str(rid)
    if "source" not in obj:
        return error("missing 'source' (user, action or tool)", rid)
    try:
        source = Source.parse(obj["source"])
    except GuardError as exc:
        return error(str(exc), rid)
    text = obj.get("text")
    if text is None and source is Source.ACTION and obj.get("tool_name"):
        text = ""  # a tool call is judged by its name and arguments
    if text is None:
        return error("missing 'text'", rid)
    if not isinstance(text, str):
        return error(f"'text' must be a string, got {type(text).__name__}", rid)
    tool_name, tool_args = obj.get("tool_name"), obj.get("tool_args")
    if tool_name is not None and not isinstance(tool_name, str):
        return error(f"'tool_name' must be a string, got {type(tool_name).__name__}", rid)
    if tool_args is not None and not isinstance(tool_args, dict):
        return error(f"'tool_args' must be a JSON object, got {type(tool_args).__name__}", rid)
    return Item(source=source, text=text, id=rid, tool_name=tool_name, tool_args=tool_args)


def _count_lines(path: str) -> int | None:
    try:
        with open(path, "rb") as f:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))
    except OSError:
        return None


class _Progress:
    """A progress bar on stderr (tqdm when installed, else a one-line counter)."""

    def __init__(self, total: int | None, enabled: bool):
        self.enabled, self.total, self.done, self._bar = enabled, total, 0, None
        if enabled:
            try:
                from tqdm import tqdm

                self._bar = tqdm(total=total, unit="line", file=sys.stderr, leave=False)
            except ImportError:
                self._bar = None

    def update(self, n: int) -> None:
        if not self.enabled:
            return
        self.done += n
        if self._bar is not None:
            self._bar.update(n)
        else:
            of = f"/{self.total}" if self.total else ""
            print(f"\rscanned {self.done}{of} lines", end="", file=sys.stderr, flush=True)

    def close(self) -> None:
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.close()
        else:
            print(file=sys.stderr)
