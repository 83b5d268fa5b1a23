"""``guardagent train-screen``: rebuild the embedded learned screen on CPU, reproducibly.

Builds the screen dataset with ``guardagent.training.corpus.build_screen_dataset(seed,
external, size)``, trains MiniLM + LoRA + head, calibrates per-source thresholds on the
validation split and writes ``screen.safetensors``, ``screen.json``, ``MODEL_CARD.md`` and
``metrics.json`` into ``--out``. Use the result with ``screen_options: {encoder:
{weights_dir: DIR}}`` in a policy or ``GUARDAGENT_ENCODER_DIR=DIR``; to refresh the shipped
weights, pass ``--out guardagent/assets/encoder``.
"""

from __future__ import annotations

import argparse
import inspect
import os
import sys
import time
from pathlib import Path

from guardagent.taxonomy import Source


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "train-screen",
        help="train the embedded learned screen (MiniLM + LoRA) on CPU and calibrate it",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--out", default="guardagent-screen", help="output directory (default: ./guardagent-screen)")
    p.add_argument("--seed", type=int, default=13, help="seed for the corpus and, without --seeds, for training (default 13)")
    p.add_argument("--epochs", type=float, default=2.0, help="passes over the train split (default 2)")
    p.add_argument("--lr", type=float, default=5e-4, help="AdamW learning rate (default 5e-4)")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--lora-r", type=int, default=16, help="LoRA rank (default 16)")
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    p.add_argument("--max-train", type=int, default=None, help="cap on training rows (stratified)")
    p.add_argument("--max-steps", type=int, default=None, help="stop after N optimizer steps")
    p.add_argument("--size", default=None, help="corpus size passed to build_screen_dataset (e.g. full)")
    p.add_argument(
        "--external", action=argparse.BooleanOptionalAction, default=None,
        help="include external corpora in the dataset (default: the corpus builder's default)",
    )
    p.add_argument("--other-languages", default=None, choices=["none", "languages", "all"],
                   help="other languages in the corpus's clean tool results, as in 'guardagent corpus build' "
                        "(default: the corpus builder's default, 'none'); not with --dataset")
    p.add_argument("--people-data", action="store_true",
                   help="clean people data in the corpus's train split, as in 'guardagent corpus build'; "
                        "not with --dataset")
    p.add_argument("--approval-requests", nargs="?", type=float, const=1.0, default=0.0, metavar="SHARE",
                   help="sensitive approval requests in the corpus's train split, as in 'guardagent corpus build'; "
                        "not with --dataset")
    p.add_argument("--approval-records", action="store_true",
                   help="with --approval-requests: their clean twins in the corpus's train split, as in 'guardagent "
                        "corpus build'; not with --dataset")
    p.add_argument("--dataset", default=None, help="load a saved DatasetDict (datasets.save_to_disk) instead of building one")
    p.add_argument("--freeze-layers", type=int, default=3, help="frozen lower blocks, cached once (default 3 of 6)")
    p.add_argument("--max-len", type=int, default=256, help="tokens per window (default 256)")
    p.add_argument("--benign-windows", default="mean", choices=["mean", "worst"],
                   help="teach a long benign text on every window alike (mean) or also on its least benign window (worst)")
    p.add_argument("--benign-crops", type=float, default=0.0, metavar="P",
                   help="share of benign tool results taught on a mid-text crop (default 0)")
    p.add_argument("--payload-crops", type=float, default=0.0, metavar="P",
                   help="share of malicious and sensitive tool results taught on a mid-text crop that keeps "
                        "their injection or request (needs the corpus's span columns; default 0)")
    p.add_argument("--probe-steps", type=int, default=0, metavar="N",
                   help="fit the head alone on the frozen features for N full-batch steps before fine-tuning (LP-FT; default 0 = off)")
    p.add_argument("--average-tail", type=float, default=0.0, metavar="F",
                   help="average the trained weights over the last share F of the steps (default 0 = off)")
    p.add_argument("--soup", nargs="+", default=None, metavar="MEMBER",
                   help="train one member per MEMBER (mean | worst | worst:CROPS) from the same start and ship "
                        "their weight average, e.g. --soup mean worst:0.5 (default: one model)")
    p.add_argument("--seeds", nargs="+", type=int, default=None, metavar="SEED",
                   help="train one model per SEED (each as --seed SEED alone would) and ship their weight average, "
                        "e.g. --seeds 13 14 15; costs one training per seed (default: one model at --seed)")
    p.add_argument("--sources", nargs="+", default=None, choices=[s.value for s in Source], metavar="SOURCE",
                   help="train, calibrate and test on these sources only (user, action, tool; default: all three); "
                        "route a source to the result with sources.<source>.screen_options in a policy")
    p.add_argument("--eval-backend", default="auto", choices=["auto", "torch", "onnx-int8", "onnx"],
                   help="backend that scores validation/test (default: what the screen ships with)")
    p.set_defaults(func=run)


def load_dataset_for(args: argparse.Namespace):
    if args.dataset:
        from datasets import load_from_disk

        from guardagent.training.screen_trainer import TrainError

        building = [o for o, on in (("--other-languages", getattr(args, "other_languages", None) is not None),
                                    ("--people-data", getattr(args, "people_data", False)),
                                    ("--approval-requests", getattr(args, "approval_requests", False)),
                                    ("--approval-records", getattr(args, "approval_records", False))) if on]
        if building:  # a saved corpus was built with its own options: say so instead of ignoring them
            raise TrainError(f"{' and '.join(building)} {'choose' if len(building) > 1 else 'chooses'} how a corpus is built; --dataset {args.dataset} loads "
                             "one already built: pass the option to 'guardagent corpus build' instead")
        try:
            return load_from_disk(args.dataset)
        except (FileNotFoundError, ValueError) as exc:
            raise TrainError(f"--dataset {args.dataset}: not a saved dataset ({exc})") from exc
    from guardagent.training.corpus import build_screen_dataset

    kwargs = {"seed": args.seed}
    params = inspect.signature(build_screen_dataset).parameters
    if args.external is not None and "external" in params:
        kwargs["external"] = args.external
    if args.size is not None and "size" in params:
        kwargs["size"] = args.size
    if getattr(args, "other_languages", None) is not None:
        kwargs["other_languages"] = args.other_languages
    if getattr(args, "people_data", False):
        kwargs["people_data"] = True
    if getattr(args, "approval_requests", 0.0):
        kwargs["approval_requests"] = args.approval_requests
    if getattr(args, "approval_records", False):
        kwargs["approval_records"] = True
    return build_screen_dataset(**kwargs)


def run(args: argparse.Namespace) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from guardagent.training.screen_trainer import TrainConfig, check_config, train_screen

    cfg = TrainConfig(
        seed=args.seed,
        epochs=args.epochs,
        lr=args.lr,
        batch_size=args.batch_size,
        lora_r=args.lora_r,
        lora_alpha=2.0 * args.lora_r,
        threads=args.threads,
        max_train=args.max_train,
        max_steps=args.max_steps,
        freeze_layers=args.freeze_layers,
        max_len=args.max_len,
        eval_backend=args.eval_backend,
        benign_windows=args.benign_windows,
        benign_crops=args.benign_crops,
        payload_crops=args.payload_crops,
        probe_steps=args.probe_steps,
        average_tail=args.average_tail,
        soup=tuple(args.soup or ()),
        seeds=tuple(args.seeds or ()),
        sources=tuple(args.sources or ()),
    )
    check_config(cfg)  # a bad option fails before the corpus is built
    t0 = time.time()
    ds = load_dataset_for(args)
    print(
        "dataset: " + ", ".join(f"{k}={len(v)}" for k, v in ds.items()) + f" (built in {time.time() - t0:.0f}s)",
        flush=True,
    )
    res = train_screen(ds, Path(args.out), cfg, progress=lambda m: print(m, flush=True))
    print(f"done in {time.time() - t0:.0f}s: {res.out_dir}", flush=True)
    test = res.metrics.get("test", {})
    for src in ("user", "action", "tool", "all"):
        m = test.get(src)
        if m:
            print(
                f"  test {src:6s} n={m['n']:5d} acc={m['accuracy']:.3f} macroF1={m['macro_f1']} "
                f"benign_passed={m.get('benign_passed')} malicious_flagged={m.get('malicious_flagged')}",
                file=sys.stdout,
            )
    return 0
