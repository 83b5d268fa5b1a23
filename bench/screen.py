"""Latency and throughput of the embedded learned screen vs DeBERTa-class prompt-injection scanners.

    HF_HUB_OFFLINE=1 python bench/screen.py [--threads 2] [--reps 30] [--long-reps 5]
    HF_HUB_OFFLINE=1 python bench/screen.py --quality --bipia ../shared/benchmarks/bipia --agentdojo

Same inputs, same run, same thread count for every model:

- ``ours (onnx-int8)``: the shipped screen as the guard runs it (``EncoderScreen.screen``,
  end to end: windowing, tokenization, ONNX Runtime int8 model, score mapping);
- ``ours (onnx fp32)``: the same screen on ONNX Runtime without quantization;
- ``ours (torch fp32)``: the same screen on the plain torch backend;
- ``deberta-v3-base``: the architecture of LLM Guard's PromptInjection scanner
  (protectai/deberta-v3-base-prompt-injection-v2): ``DebertaV2Config`` hidden 768, 12
  layers, 12 heads, FFN 3072, vocabulary 128,100, relative attention (256 buckets);
- ``mdeberta-v3-base``: the architecture of Llama Prompt Guard 2 86M (same body,
  vocabulary 251,000).

The DeBERTa models get random weights (their sizes are what costs time) and a stand-in
tokenizer (MiniLM's WordPiece, so every model sees the same token count), run in torch fp32
under ``inference_mode`` with a classification head, as those scanners ship. Their long
input (the 8,000-token tool result) is read as 512-token windows covering the whole text
(the scanners' maximum length); ours uses its own windowing (256-token windows, overlap 32,
at most 32 windows — about 7,000 tokens of the 8,000 are read).

Rows: p50/p95 latency of one message at 20, 64 and 512 tokens and of one 8,000-token tool
result; throughput of a batch of 32 64-token messages (messages per second). Ratios are
DeBERTa time / our time (higher = we are faster).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
warnings.filterwarnings("ignore")

WORDS = (
    "the quarterly report lists revenue by region and the team will review the numbers on "
    "friday before sending a summary to the board please check the attached table for the "
    "latest figures and let me know if anything looks off"
).split()


def text_of(tok, n_tokens: int) -> str:
    """A text of exactly ``n_tokens`` MiniLM tokens (no special tokens)."""
    words = []
    i = 0
    while True:
        words.append(WORDS[i % len(WORDS)])
        i += 1
        if len(words) % 16 == 0:
            words[-1] += "."
        ids = tok(" ".join(words), add_special_tokens=False)["input_ids"]
        if len(ids) >= n_tokens:
            return tok.decode(ids[:n_tokens])


def text_of_fast(tok, n_tokens: int) -> str:
    base = text_of(tok, 200)
    reps = n_tokens // 200 + 2
    ids = tok(" ".join([base] * reps), add_special_tokens=False)["input_ids"][:n_tokens]
    return tok.decode(ids)


def timeit(fn, reps: int, warmup: int = 2) -> list[float]:
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000.0)
    return out


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def deberta(vocab: int):
    import torch
    from transformers import DebertaV2Config, DebertaV2ForSequenceClassification

    torch.manual_seed(0)
    cfg = DebertaV2Config(
        vocab_size=vocab,
        hidden_size=768,
        num_hidden_layers=12,
        num_attention_heads=12,
        intermediate_size=3072,
        hidden_act="gelu",
        max_position_embeddings=512,
        type_vocab_size=0,
        relative_attention=True,
        max_relative_positions=-1,
        position_buckets=256,
        norm_rel_ebd="layer_norm",
        share_att_key=True,
        pos_att_type=["p2c", "c2p"],
        position_biased_input=False,
        layer_norm_eps=1e-7,
        num_labels=2,
    )
    return DebertaV2ForSequenceClassification(cfg).eval()


def quality(args) -> int:
    """Flag rates of the shipped screen alone on BIPIA (dev) and AgentDojo tool outputs.

    Evaluation only: nothing here feeds training or thresholds. Uses the benchmark loaders of
    ``guardagent.eval`` (BIPIA: attacks inserted at start/middle/end of clean contexts;
    AgentDojo: ground-truth tool outputs, clean and with each attack's injections).
    """
    import collections

    from guardagent.screens.encoder import from_policy
    from guardagent.taxonomy import Label

    screen = from_policy(None, {"threads": args.threads, "backend": args.backend})
    sets = []
    if args.bipia:
        from guardagent.eval.bipia import load_bipia

        sets.append(load_bipia(args.bipia, split=args.bipia_split, limit=args.limit, seed=0))
    if args.agentdojo:
        from guardagent.eval.agentdojo import load_agentdojo

        sets.append(load_agentdojo(limit=args.limit, seed=0))
    print(f"# shipped thresholds {screen.thresholds}; backend {screen.runtime.backend}")
    print("flagged = judged malicious (quarantine); any = malicious or sensitive (quarantine or verify)")
    print("| set | group | injected flagged | clean flagged | injected any | clean any | n injected | n clean |")
    print("|---|---|---|---|---|---|---|---|")
    for es in sets:
        items = [s.item() for s in es.samples]
        t = time.perf_counter()
        verdicts = []
        for i in range(0, len(items), 32):
            verdicts += screen._verdicts(items[i : i + 32])
        dt = time.perf_counter() - t
        # per group: injected malicious, injected any, injected n, clean malicious, clean any, clean n
        stats = collections.defaultdict(lambda: [0, 0, 0, 0, 0, 0])
        for smp, v in zip(es.samples, verdicts):
            mal = v.label is Label.MALICIOUS
            anyf = v.label is not Label.BENIGN
            for g in ("all", smp.group or "-"):
                st = stats[g]
                off = 3 if smp.label is Label.BENIGN else 0
                st[off] += mal
                st[off + 1] += anyf
                st[off + 2] += 1
        for g, (mi, ai, ni, mc, ac, nc) in sorted(stats.items(), key=lambda kv: kv[0] != "all"):
            rate = lambda a, b: f"{100 * a / b:.1f}%" if b else "-"  # noqa: E731
            print(f"| {es.name} | {g} | {rate(mi, ni)} | {rate(mc, nc)} | {rate(ai, ni)} | {rate(ac, nc)} | {ni} | {nc} |")
        print(f"<!-- {es.name}: {len(items)} texts in {dt:.0f}s -->")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=30, help="timed runs per short input")
    ap.add_argument("--long-reps", type=int, default=5, help="timed runs for the 8,000-token input")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--skip-deberta", action="store_true")
    ap.add_argument("--quality", action="store_true", help="instead of timing, print flag rates on --bipia / --agentdojo")
    ap.add_argument("--bipia", default=None, help="BIPIA directory (e.g. ../shared/benchmarks/bipia)")
    ap.add_argument("--bipia-split", default="train")
    ap.add_argument("--agentdojo", action="store_true", help="include AgentDojo tool outputs (needs agentdojo)")
    ap.add_argument("--backend", default="auto", help="--quality: the screen backend (auto | onnx-int8 | onnx | torch)")
    ap.add_argument("--limit", type=int, default=300, help="samples per (group, clean|injected) stratum")
    args = ap.parse_args(argv)
    if args.quality:
        import torch

        torch.set_num_threads(args.threads)
        return quality(args)

    import torch

    torch.set_num_threads(args.threads)
    from guardagent.screens.encoder import from_policy, int8_pays
    from guardagent.screens.encoder.model import load_tokenizer
    from guardagent.taxonomy import Item

    tok = load_tokenizer()
    lengths = [20, 64, 512]
    texts = {n: text_of(tok, n) for n in lengths}
    long_text = text_of_fast(tok, 8000)
    batch_texts = [text_of(tok, 64 - (i % 5)) for i in range(args.batch)]

    t = time.perf_counter()
    ours_int8 = from_policy(None, {"threads": args.threads, "backend": "onnx-int8"})
    load_s = time.perf_counter() - t
    ours_onnx = from_policy(None, {"threads": args.threads, "backend": "onnx"})
    ours_fp32 = from_policy(None, {"threads": args.threads, "backend": "torch"})
    auto = "onnx-int8" if int8_pays() else "onnx (fp32)"
    print(f"# torch threads {args.threads}; int8 first load {load_s:.1f}s; backend auto picks {auto} on this CPU")

    rows: dict[str, dict[str, tuple[float, float] | float]] = {}

    def bench_ours(name, screen):
        r = {}
        for n in lengths:
            item = Item(source="user", text=texts[n])
            xs = timeit(lambda: screen._verdicts([item]), args.reps)
            r[f"{n} tok"] = (pct(xs, 0.5), pct(xs, 0.95))
        item = Item(source="tool", text=long_text, tool_name="read_file")
        xs = timeit(lambda: screen._verdicts([item]), args.long_reps, warmup=1)
        r["8000-tok tool result"] = (pct(xs, 0.5), pct(xs, 0.95))
        items = [Item(source="user", text=x) for x in batch_texts]
        xs = timeit(lambda: screen._verdicts(items), max(3, args.reps // 5), warmup=1)
        r["batch msgs/s"] = args.batch / (statistics.median(xs) / 1000.0)
        rows[name] = r

    bench_ours("ours (onnx-int8)", ours_int8)
    bench_ours("ours (onnx fp32)", ours_onnx)
    bench_ours("ours (torch fp32)", ours_fp32)

    if not args.skip_deberta:
        for name, vocab in (("deberta-v3-base", 128100), ("mdeberta-v3-base", 251000)):
            model = deberta(vocab)

            def run(ids_list):
                width = max(len(x) for x in ids_list)
                ids = torch.tensor([x + [0] * (width - len(x)) for x in ids_list])
                mask = torch.tensor([[1] * len(x) + [0] * (width - len(x)) for x in ids_list])
                with torch.inference_mode():
                    return model(input_ids=ids, attention_mask=mask).logits

            def one(text):
                ids = tok(text, truncation=True, max_length=512)["input_ids"]
                return run([ids])

            def long_one(text):
                ids = tok(text, add_special_tokens=False)["input_ids"]
                wins = [[101, *ids[i : i + 510], 102] for i in range(0, len(ids), 510)]
                for j in range(0, len(wins), 4):
                    run(wins[j : j + 4])

            r = {}
            for n in lengths:
                xs = timeit(lambda: one(texts[n]), args.reps)
                r[f"{n} tok"] = (pct(xs, 0.5), pct(xs, 0.95))
            xs = timeit(lambda: long_one(long_text), max(2, args.long_reps // 2), warmup=1)
            r["8000-tok tool result"] = (pct(xs, 0.5), pct(xs, 0.95))
            enc = [tok(x, truncation=True, max_length=512)["input_ids"] for x in batch_texts]
            xs = timeit(lambda: (tok(batch_texts, truncation=True, max_length=512), run(enc)), max(3, args.reps // 5), warmup=1)
            r["batch msgs/s"] = args.batch / (statistics.median(xs) / 1000.0)
            rows[name] = r
            del model

    keys = [f"{n} tok" for n in lengths] + ["8000-tok tool result", "batch msgs/s"]
    names = list(rows)
    print()
    print("| input | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for k in keys:
        cells = []
        for nm in names:
            v = rows[nm][k]
            cells.append(f"{v:.1f} msg/s" if isinstance(v, float) else f"p50 {v[0]:.2f} / p95 {v[1]:.2f} ms")
        print(f"| {k} | " + " | ".join(cells) + " |")
    ref = "ours (onnx-int8)"
    others = [n for n in names if n != ref]
    if others:
        print()
        print(f"speed-up of {ref} (p50 time ratio other/ours; throughput ratio ours/other)")
        print("| input | " + " | ".join(others) + " |")
        print("|---|" + "---|" * len(others))
        for k in keys:
            cells = []
            for nm in others:
                a, b = rows[ref][k], rows[nm][k]
                ratio = (a / b) if isinstance(a, float) else (b[0] / a[0])
                cells.append(f"{ratio:.1f}x")
            print(f"| {k} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
