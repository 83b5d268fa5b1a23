"""Which int8 recipe for the screen: each one's drift from fp32 and its speed, same run.

    HF_HUB_OFFLINE=1 python bench/quant.py [--dataset DIR] [--rows 1000] [--threads 2]

Exports the screen's weights (shipped, or ``$GUARDAGENT_ENCODER_DIR``) to fp32 ONNX, quantizes
them with each recipe below, and runs every model on the same stratified sample of the corpus
**validation** split (our own data: the recipe is chosen without evaluation benchmarks). Prints,
per recipe: the largest and mean change of a probability against fp32 ONNX, how often the label
at the shipped thresholds agrees with fp32's, accuracy against the corpus labels, and p50/p95 of
one 64-token message (model call only). The baseline row is fp32 ONNX in the same process.

Recipes (``onnxruntime.quantization.quantize_dynamic``, int8 per-channel weights unless named):

- ``all-linear``: every MatMul (the recipe before 2026-12-04);
- ``keep-residual-out``: all but the attention-output and FFN-output projections;
- ``keep-ffn-out``: all but the FFN-output projections (the recipe of 2026-12-04 morning);
- ``keep-lower-ffn-out``: all but the FFN-output projections of the lower half of the blocks
  (shipped: ``encoder.fp32_projections``);
- ``reduce-range``: every MatMul, 7-bit weights (ORT's advice for CPUs without VNNI);
- ``uint8``: every MatMul, unsigned per-tensor weights.
"""

from __future__ import annotations

import argparse
import logging
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path


def sample_rows(rows, n: int, seed: int = 0):
    """A stratified (source x label) sample of at most ``n`` rows."""
    groups: dict[tuple[str, str], list] = {}
    for r in rows:
        groups.setdefault((r["source"], r["label"]), []).append(r)
    rng = random.Random(seed)
    per = max(1, n // max(len(groups), 1))
    out = []
    for key in sorted(groups):
        g = groups[key]
        out += rng.sample(g, min(per, len(g)))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", help="a saved DatasetDict (guardagent corpus build --out DIR); default: build seed 13")
    ap.add_argument("--rows", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=40)
    args = ap.parse_args(argv)

    import numpy as np
    import onnx
    import onnxruntime as ort
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from guardagent.screens.encoder import Runtime, fp32_projections, shipped_thresholds, weights_dir
    from guardagent.training.screen_trainer import _score_split, predict_labels

    logging.getLogger().setLevel(logging.ERROR)  # onnxruntime's pre-processing hint
    if args.dataset:
        import datasets

        val = datasets.load_from_disk(args.dataset)["validation"]
    else:
        from guardagent.training.corpus import build_screen_dataset

        val = build_screen_dataset(seed=13)["validation"]
    rows = sample_rows([dict(r) for r in val], args.rows)
    sources = [r["source"] for r in rows]
    gold = [r["label"] for r in rows]
    thresholds = shipped_thresholds()

    rt = Runtime(weights_dir(), backend="onnx", threads=args.threads)
    fp32 = rt._onnx_file(False)
    matmuls = [n.name for n in onnx.load(str(fp32), load_external_data=False).graph.node if n.op_type == "MatMul"]
    keep_res = [n for n in matmuls if "/output/dense/" in n]  # attention and FFN output projections
    keep_ffn = [n for n in keep_res if "/attention/" not in n]
    recipes = {
        "fp32 ONNX (baseline)": None,
        "all-linear": dict(weight_type=QuantType.QInt8, per_channel=True),
        "keep-residual-out": dict(weight_type=QuantType.QInt8, per_channel=True, nodes_to_exclude=keep_res),
        "keep-ffn-out": dict(weight_type=QuantType.QInt8, per_channel=True, nodes_to_exclude=keep_ffn),
        "keep-lower-ffn-out": dict(weight_type=QuantType.QInt8, per_channel=True, nodes_to_exclude=fp32_projections(fp32)),
        "reduce-range": dict(weight_type=QuantType.QInt8, per_channel=True, reduce_range=True),
        "uint8": dict(weight_type=QuantType.QUInt8, per_channel=False),
    }
    so = ort.SessionOptions()
    so.intra_op_num_threads, so.inter_op_num_threads = args.threads, 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    ids64 = [rt.windower.windows("user", "please check the quarterly report " * 12)[0].ids[:64]]
    print(f"# {len(rows)} validation rows, {len(matmuls)} MatMul nodes, {len(keep_res)} residual-output projections; threads {args.threads}")
    print("| recipe | max abs dprob | mean abs dprob | label agreement | accuracy | 64-tok p50 / p95 |")
    print("|---|---|---|---|---|---|")
    ref = ref_labels = None
    with tempfile.TemporaryDirectory() as tmp:
        for name, kw in recipes.items():
            path = fp32
            if kw is not None:
                path = Path(tmp) / f"{name}.onnx"
                quantize_dynamic(str(fp32), str(path), **kw)
            rt._session = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
            scores = _score_split(rt, rows)
            labels = predict_labels(scores, sources, thresholds)
            if ref is None:
                ref, ref_labels = scores, labels
            xs = []
            for i in range(args.reps + 3):
                t = time.perf_counter()
                rt._logits(ids64)
                if i >= 3:
                    xs.append((time.perf_counter() - t) * 1e3)
            xs.sort()
            d = np.abs(scores - ref)
            agree = sum(a == b for a, b in zip(labels, ref_labels)) / len(rows)
            acc = sum(a == b for a, b in zip(labels, gold)) / len(rows)
            print(
                f"| {name} | {d.max():.3f} | {d.mean():.4f} | {100 * agree:.1f}% | {100 * acc:.1f}% "
                f"| {statistics.median(xs):.2f} / {xs[int(0.95 * (len(xs) - 1))]:.2f} ms |",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
