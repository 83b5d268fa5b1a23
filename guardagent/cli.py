"""``guardagent`` command line: one subcommand per module, each registering itself.

Each entry below names a module exposing ``register(subparsers)``; the module adds its
parser and sets ``func`` (taking the parsed args, returning an exit code). Modules are
imported only to build the parser, so a missing optional extra disables one command with
a clear message instead of breaking the others.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS: list[tuple[str, str]] = [
    ("scan", "guardagent.commands.scan"),
    ("demo", "guardagent.commands.demo"),
    ("corpus", "guardagent.commands.corpus"),
    ("train-screen", "guardagent.commands.train_screen"),
    ("eval", "guardagent.commands.eval"),
    ("train", "guardagent.commands.train"),
    ("serve", "guardagent.commands.serve"),
    ("keys", "guardagent.commands.keys"),
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="guardagent",
        description="Runtime guardrails for LLM agents: screen, demo, train, evaluate, serve.",
    )
    from guardagent import __version__

    parser.add_argument("--version", action="version", version=f"guardagent {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, mod_name in COMMANDS:
        try:
            module = importlib.import_module(mod_name)
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.startswith("guardagent.commands"):
                continue  # command not shipped in this build
            p = sub.add_parser(name, help=f"(unavailable: {exc})")
            p.set_defaults(func=_unavailable(name, exc))
            continue
        module.register(sub)
    return parser


def _unavailable(name: str, exc: Exception):
    def run(_args: argparse.Namespace) -> int:
        print(
            f"guardagent {name}: a dependency is missing ({exc}); "
            "install the matching extra, e.g. pip install 'guardagent[all]'",
            file=sys.stderr,
        )
        return 2

    return run


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a GuardError or anything else: one clear line, exit 1
        from guardagent.taxonomy import GuardError

        if isinstance(exc, GuardError):
            print(f"guardagent {args.command}: {exc}", file=sys.stderr)
            return 1
        raise


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
