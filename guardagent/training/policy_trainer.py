"""SFT warm start + GRPO for the policy model, where every rollout is a sandbox episode.

Pipeline (``guardagent train --config FILE --output DIR``):

1. episodes: ``guardagent.training.corpus.build_episodes(n_per_scenario, seed, split)`` for
   the train and held-out splits;
2. SFT data: the oracle (:mod:`.oracle`) plays each train episode through the real guarded
   graph; its turns are the targets, everything the environment wrote is masked;
3. the tiny recipe trains a BPE tokenizer on that text and builds a Qwen2 from
   ``Qwen2Config``; big recipes load a base model from a path or hub id;
4. SFT with TRL ``SFTTrainer`` (full fine-tune, or LoRA merged afterwards) -> ``DIR/sft``;
5. GRPO with TRL ``GRPOTrainer`` + PEFT LoRA, ``rollout_func`` running sandbox episodes (env
   tokens masked with ``env_mask``), rewards R_scenario + w_gen * R_gen -> ``DIR/policy``;
6. evaluation of the SFT model and of the GRPO policy through the graph on held-out episodes
   -> ``DIR/metrics.json``, ``DIR/reward_by_step.png``, and a printed table.

Each stage writes a marker, so a rerun with the same ``--output`` resumes where it stopped
(GRPO resumes from its last checkpoint).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import random
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from guardagent.taxonomy import GuardError, ScenarioCode
from guardagent.training.episode import Episode

log = logging.getLogger("guardagent.train")


class TrainConfigError(GuardError):
    """The training config is invalid; the message names the key."""


# -- config ------------------------------------------------------------------------------------

DEFAULTS: dict[str, Any] = {
    "seed": 0,
    "threads": None,
    "model": {
        "base": "tiny",
        "adapter": None,
        "dtype": "float32",
        "tiny": {"hidden_size": 128, "layers": 2, "heads": 4, "kv_heads": 2, "intermediate_size": 384},
        "tokenizer": {"vocab_size": 3000, "min_frequency": 2},
        "max_new_tokens": 64,
        "gradient_checkpointing": False,
    },
    "data": {"n_per_scenario": 24, "eval_per_scenario": 6, "train_split": "train", "eval_split": "test",
             "source": "corpus"},
    "sandbox": {"screens": False, "verifier": {"kind": "random", "p_yes": 0.5}, "max_turns": 4,
                "eval_screens": [False, True], "workers": 16},
    "sft": {"enabled": True, "max_steps": 200, "epochs": None, "learning_rate": 1e-3, "batch_size": 8,
            "grad_accum": 1, "max_length": 2048, "lora": None, "warmup_ratio": 0.05, "weight_decay": 0.0,
            "verifier_answers": ["approve", "deny"]},
    "grpo": {"enabled": True, "max_steps": 60, "learning_rate": 5e-4, "num_generations": 4, "prompts_per_step": 4,
             "temperature": 1.0, "top_p": 1.0, "beta": 0.02, "w_gen": 0.25, "save_steps": 20, "grad_accum": 1,
             "loss_type": "dapo", "epsilon": 0.2, "max_grad_norm": 1.0,
             "lora": {"r": 16, "alpha": 32, "dropout": 0.0,
                      "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
                      "modules_to_save": ["lm_head", "embed_tokens"]},
             "use_vllm": False, "vllm_mode": "colocate", "bf16": False},
    "eval": {"temperature": 0.0, "verifier": {"kind": "random", "p_yes": 0.5}, "seed": 1234},
}


def _merge(base: dict[str, Any], over: dict[str, Any], path: str = "") -> dict[str, Any]:
    out = dict(base)
    for k, v in (over or {}).items():
        key = f"{path}{k}"
        if k not in base:
            raise TrainConfigError(f"unknown config key {key!r} (known: {sorted(base)})")
        if isinstance(base[k], dict) and isinstance(v, dict) and k not in ("verifier", "lora", "tiny", "tokenizer"):
            out[k] = _merge(base[k], v, key + ".")
        elif isinstance(base[k], dict) and isinstance(v, dict):
            out[k] = {**base[k], **v}
        else:
            out[k] = v
    return out


def load_config(path: str | Path | None, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise TrainConfigError(f"training config not found: {p}")
        import yaml

        try:
            data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise TrainConfigError(f"{p}: cannot parse YAML: {exc}") from None
        if not isinstance(data, dict):
            raise TrainConfigError(f"{p}: top level must be a mapping")
    cfg = _merge(DEFAULTS, data)
    for dotted, value in (overrides or {}).items():
        cur = cfg
        parts = dotted.split(".")
        for part in parts[:-1]:
            if part not in cur or not isinstance(cur[part], dict):
                raise TrainConfigError(f"unknown config key {dotted!r}")
            cur = cur[part]
        if parts[-1] not in cur:
            raise TrainConfigError(f"unknown config key {dotted!r}")
        cur[parts[-1]] = value
    g = cfg["grpo"]
    if g["enabled"] and int(g["num_generations"]) < 2:
        raise TrainConfigError("grpo.num_generations must be at least 2 (GRPO compares completions of a prompt)")
    return cfg


# -- episodes ----------------------------------------------------------------------------------


def load_episodes(cfg: dict[str, Any]) -> tuple[list[Episode], list[Episode], str]:
    """Train and held-out episodes from the corpus (or the hand-written examples)."""
    d = cfg["data"]
    if d["source"] == "examples":
        from guardagent.training.sandbox import example_episodes

        eps = example_episodes()
        return eps, eps, "examples (train = eval: only for smoke tests)"
    try:
        from guardagent.training.corpus import build_episodes
    except ImportError as exc:
        raise TrainConfigError(
            f"the episode corpus is not available ({exc}); set data.source: examples for a smoke run"
        ) from None
    seed = int(cfg["seed"])
    train = list(build_episodes(int(d["n_per_scenario"]), seed, d["train_split"]))
    held = list(build_episodes(int(d["eval_per_scenario"]), seed + 1, d["eval_split"]))
    if not train or not held:
        raise TrainConfigError(f"the corpus returned no episodes (train={len(train)}, eval={len(held)})")
    return train, held, f"corpus ({d['train_split']} / {d['eval_split']})"


# -- SFT data ----------------------------------------------------------------------------------


class _TextEngine:
    """Collects rendered text instead of token ids (to train the tokenizer first)."""

    end_of_turn_id = 0

    def __init__(self) -> None:
        self.texts: list[str] = []

    def encode(self, text: str) -> list[int]:
        self.texts.append(text)
        return [0]

    def decode(self, ids: Sequence[int]) -> str:
        return ""


def oracle_transcripts(episodes: Sequence[Episode], engine: Any, cfg: dict[str, Any]) -> list[Any]:
    """Play each episode with the oracle under each verifier answer that changes the path."""
    from guardagent.chat.model import Transcript
    from guardagent.training.oracle import OracleChatModel
    from guardagent.training.sandbox import run_episode

    out = []
    for ep in episodes:
        seen: set[str] = set()
        for answer in cfg["sft"]["verifier_answers"]:
            tr = Transcript()
            res = run_episode(ep, OracleChatModel(episode=ep, engine=engine, transcript=tr),
                              verifier=answer, screens=cfg["sandbox"]["screens"],
                              max_turns=int(cfg["sandbox"]["max_turns"]))
            key = json.dumps([t.raw for t in res.turns])
            if key in seen:
                continue  # no verification in this episode: one trajectory is enough
            seen.add(key)
            out.append(tr)
    return out


def sft_rows(transcripts: Sequence[Any], max_length: int) -> list[dict[str, list[int]]]:
    rows = []
    for tr in transcripts:
        ids = tr.prompt_ids + tr.completion_ids
        labels = [-100] * len(tr.prompt_ids) + [t if m else -100 for t, m in zip(tr.completion_ids, tr.mask)]
        ids, labels = ids[:max_length], labels[:max_length]
        if any(x != -100 for x in labels):
            rows.append({"input_ids": ids, "labels": labels})
    return rows


# -- helpers -----------------------------------------------------------------------------------


def _set_threads(cfg: dict[str, Any]) -> None:
    import torch

    n = cfg.get("threads")
    if n:
        torch.set_num_threads(int(n))


def _device_kwargs() -> dict[str, Any]:
    import torch

    return {} if torch.cuda.is_available() else {"use_cpu": True}


def _lora(spec: dict[str, Any] | None) -> Any:
    if not spec:
        return None
    from peft import LoraConfig

    return LoraConfig(
        r=int(spec.get("r", 16)),
        lora_alpha=int(spec.get("alpha", 32)),
        lora_dropout=float(spec.get("dropout", 0.0)),
        target_modules=list(spec.get("target_modules", ["q_proj", "k_proj", "v_proj", "o_proj"])),
        modules_to_save=list(spec.get("modules_to_save") or []) or None,
        task_type="CAUSAL_LM",
    )


class _Printer:
    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet
        self.t0 = time.time()

    def __call__(self, msg: str) -> None:
        if not self.quiet:
            print(f"[{time.time() - self.t0:7.1f}s] {msg}", flush=True)


# -- evaluation --------------------------------------------------------------------------------


def evaluate_policy(
    chat: Any,
    episodes: Sequence[Episode],
    cfg: dict[str, Any],
    *,
    screens: Any = False,
    sample_out: Path | None = None,
) -> dict[str, Any]:
    """Run held-out episodes through the graph (greedy) and score them."""
    from guardagent.chat.model import Transcript
    from guardagent.training.rewards import evaluate
    from guardagent.training.sandbox import run_episodes

    e = cfg["eval"]
    model = chat.with_options(temperature=float(e["temperature"]))
    seeds = [int(e["seed"]) + i for i in range(len(episodes))]
    results = run_episodes(
        episodes, lambda ep, i: model.model_copy(update={"transcript": Transcript()}),
        engine=chat.engine, workers=int(cfg["sandbox"]["workers"]), seeds=seeds,
        screens=screens, verifier=e["verifier"], max_turns=int(cfg["sandbox"]["max_turns"]),
    )
    metrics = evaluate(results, w_gen=float(cfg["grpo"]["w_gen"]))
    if sample_out is not None:
        sample_out.parent.mkdir(parents=True, exist_ok=True)
        with sample_out.open("w", encoding="utf-8") as f:
            for r in results:
                f.write(json.dumps(r.summary(), ensure_ascii=False) + "\n")
    return metrics


# -- GRPO rollouts -----------------------------------------------------------------------------


class SandboxRollouts:
    """``rollout_func`` for TRL's GRPOTrainer: each completion is one sandbox episode.

    Returns prompt ids (the first rendered prompt), completion ids (every model turn and the
    environment text between turns), sampling logprobs, ``env_mask`` (1 = model token) and
    per-rollout reward fields that the reward functions read.
    """

    def __init__(self, episodes: Sequence[Episode], tokenizer: Any, cfg: dict[str, Any], log_path: Path | None = None):
        self.by_id = {ep.id: ep for ep in episodes}
        self.tokenizer = tokenizer
        self.cfg = cfg
        self.log_path = log_path
        self.calls = 0
        self._lock = threading.Lock()

    def __call__(self, prompts: list[Any], trainer: Any) -> dict[str, Any]:
        with _generation_model(trainer) as model:
            return self._rollouts(prompts, trainer, model)

    def _rollouts(self, prompts: list[Any], trainer: Any, model: Any) -> dict[str, Any]:
        from guardagent.chat.engine import Engine
        from guardagent.chat.model import Transcript, TransformersChatModel
        from guardagent.training.rewards import total_reward
        from guardagent.training.sandbox import run_episodes

        g, sb = self.cfg["grpo"], self.cfg["sandbox"]
        engine = Engine(model, self.tokenizer)
        chat = TransformersChatModel(engine=engine, max_new_tokens=int(self.cfg["model"]["max_new_tokens"]),
                                     temperature=float(g["temperature"]), top_p=float(g["top_p"]))
        eps = []
        for p in prompts:
            key = p if isinstance(p, str) else _prompt_key(p)
            if key not in self.by_id:
                raise GuardError(f"rollout prompt {key!r} is not a known episode id")
            eps.append(self.by_id[key])
        step = int(trainer.state.global_step)
        seeds = [hash((int(self.cfg["seed"]), step, self.calls, i)) & 0x7FFFFFFF for i in range(len(eps))]
        self.calls += 1
        results = run_episodes(eps, lambda ep, i: chat.model_copy(update={"transcript": Transcript()}),
                               engine=engine, workers=max(1, len(eps)), seeds=seeds, screens=sb["screens"],
                               verifier=sb["verifier"], max_turns=int(sb["max_turns"]))
        out: dict[str, list[Any]] = {k: [] for k in ("prompt_ids", "completion_ids", "logprobs", "env_mask",
                                                   "r_scenario", "r_gen", "scenario")}
        eot = engine.end_of_turn_id
        for r in results:
            tr = r.transcript
            if not tr.started:  # the guard answered without the model (screens on)
                from guardagent.chat.template import render_chat

                tr.prompt_ids = engine.encode(render_chat([("user", r.episode.user)], []))
                tr.completion_ids, tr.mask, tr.logprobs = [eot], [0], [0.0]
            t = total_reward(r, w_gen=float(g["w_gen"]))
            out["prompt_ids"].append(tr.prompt_ids)
            out["completion_ids"].append(tr.completion_ids)
            out["logprobs"].append(tr.logprobs)
            out["env_mask"].append(tr.mask)
            out["r_scenario"].append(float(t["r_scenario"]))
            out["r_gen"].append(float(t["r_gen"]))
            out["scenario"].append(r.episode.scenario.value)
        if self.log_path is not None and getattr(trainer.accelerator, "is_main_process", True):
            per: dict[str, list[float]] = {}
            for sc, a, b in zip(out["scenario"], out["r_scenario"], out["r_gen"]):
                per.setdefault(sc, []).append(a + float(g["w_gen"]) * b)
            with self._lock, self.log_path.open("a", encoding="utf-8") as f:
                f.write(json.dumps({"step": step, "per_scenario": {k: sum(v) / len(v) for k, v in per.items()},
                                    "mean": sum(sum(v) for v in per.values()) / max(1, len(results)),
                                    "model_tokens": sum(sum(m) for m in out["env_mask"])}) + "\n")
        return out


@contextlib.contextmanager
def _generation_model(trainer: Any):
    """The policy as a plain module for generation (gathers ZeRO-3 shards when needed)."""
    wrapped = getattr(trainer, "model_wrapped", None)
    args = getattr(trainer, "args", None)
    if wrapped is None or args is None:
        yield trainer.accelerator.unwrap_model(trainer.model)
        return
    from trl.models import unwrap_model_for_generation

    with unwrap_model_for_generation(
        wrapped, trainer.accelerator,
        gather_deepspeed3_params=getattr(args, "ds3_gather_for_generation", True),
        gradient_checkpointing_kwargs=getattr(args, "gradient_checkpointing_kwargs", None),
    ) as unwrapped:
        yield unwrapped


def _prompt_key(p: Any) -> str:
    if isinstance(p, list) and p and isinstance(p[-1], dict):
        return str(p[-1].get("content", ""))
    return str(p)


def reward_scenario(prompts: list[Any], completions: list[Any], r_scenario: list[float], scenario: list[str],
                    log_metric: Callable[[str, float], None] | None = None, **_: Any) -> list[float]:
    """R_scenario, computed in the rollout; also logs the mean reward per scenario."""
    if log_metric is not None:
        per: dict[str, list[float]] = {}
        for sc, r in zip(scenario, r_scenario):
            per.setdefault(sc, []).append(r)
        for sc, vals in per.items():
            log_metric(f"scenario/{sc}", sum(vals) / len(vals))
    return list(r_scenario)


def reward_format(prompts: list[Any], completions: list[Any], r_gen: list[float], **_: Any) -> list[float]:
    """R_gen (format), computed in the rollout."""
    return list(r_gen)


# -- the pipeline -----------------------------------------------------------------------------


@dataclass
class RunPaths:
    root: Path

    @property
    def tokenizer(self) -> Path: return self.root / "tokenizer"
    @property
    def base(self) -> Path: return self.root / "base"
    @property
    def sft(self) -> Path: return self.root / "sft"
    @property
    def grpo(self) -> Path: return self.root / "grpo"
    @property
    def policy(self) -> Path: return self.root / "policy"
    @property
    def metrics(self) -> Path: return self.root / "metrics.json"
    @property
    def rollouts(self) -> Path: return self.root / "grpo_rollouts.jsonl"
    @property
    def logs(self) -> Path: return self.root / "train_log.jsonl"
    @property
    def plot(self) -> Path: return self.root / "reward_by_step.png"


def _done(p: Path) -> bool:
    return (p / ".done").is_file()


def _mark(p: Path) -> None:
    p.mkdir(parents=True, exist_ok=True)
    (p / ".done").write_text(time.strftime("%Y-%m-%dT%H:%M:%S"), encoding="utf-8")


def train(config: dict[str, Any], output: str | Path, *, quiet: bool = False) -> dict[str, Any]:
    """Run the whole pipeline; returns the metrics written to ``output/metrics.json``."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import torch

    cfg = config
    say = _Printer(quiet)
    paths = RunPaths(Path(output))
    paths.root.mkdir(parents=True, exist_ok=True)
    (paths.root / "config.json").write_text(json.dumps(cfg, indent=2, default=str), encoding="utf-8")
    _set_threads(cfg)
    seed = int(cfg["seed"])
    random.seed(seed)
    torch.manual_seed(seed)
    timings: dict[str, float] = {}
    t_all = time.time()

    train_eps, eval_eps, source = load_episodes(cfg)
    say(f"episodes: {len(train_eps)} train, {len(eval_eps)} held-out from {source}")

    # 1. tokenizer + base model
    t = time.time()
    tokenizer, base_path = _prepare_base(cfg, paths, train_eps, say)
    timings["base"] = time.time() - t

    # 2. SFT
    t = time.time()
    sft_path = _run_sft(cfg, paths, base_path, tokenizer, train_eps, say)
    timings["sft"] = time.time() - t

    # 3. GRPO
    t = time.time()
    adapter_path = _run_grpo(cfg, paths, sft_path, tokenizer, train_eps, say) if cfg["grpo"]["enabled"] else None
    timings["grpo"] = time.time() - t
    from accelerate import PartialState

    if not PartialState().is_main_process:
        return {}  # evaluation and reports run on the main process only
    manifest = {"base": os.path.relpath(sft_path, paths.root) if Path(sft_path).exists() else str(sft_path),
                "adapter": os.path.relpath(adapter_path, paths.root) if adapter_path else None,
                "max_new_tokens": int(cfg["model"]["max_new_tokens"])}
    (paths.root / "policy.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")

    # 4. evaluation (SFT vs GRPO, through the graph, on held-out episodes)
    t = time.time()
    metrics = _evaluate_run(cfg, paths, sft_path, adapter_path, eval_eps, say)
    timings["eval"] = time.time() - t
    timings["total"] = time.time() - t_all
    metrics["timings_s"] = {k: round(v, 1) for k, v in timings.items()}
    metrics["episodes"] = {"train": len(train_eps), "eval": len(eval_eps), "source": source}
    metrics["training_log"] = _summarise_log(paths)
    paths.metrics.write_text(json.dumps(metrics, indent=2, default=str), encoding="utf-8")
    _plot(paths)
    _print_report(metrics, say)
    return metrics


def _prepare_base(cfg: dict[str, Any], paths: RunPaths, train_eps: Sequence[Episode], say) -> tuple[Any, str]:
    from guardagent.training.tiny import build_tiny_qwen2, check_tags, save, train_tokenizer

    m = cfg["model"]
    if m["base"] != "tiny":
        from transformers import AutoTokenizer

        from guardagent.chat.model import _check_model_dir, _looks_local

        if _looks_local(str(m["base"])):
            _check_model_dir(Path(m["base"]).expanduser(), "model.base")
        tok = AutoTokenizer.from_pretrained(m["base"])
        multi = [t for t in ("<tool_call>", "</tool_call>", "<think>", "</think>", "<tool_check>", "</tool_check>")
                 if len(tok(t, add_special_tokens=False)["input_ids"]) != 1]
        if multi:
            # Qwen2.5 has <tool_call> but not <tool_check>/<think>: they stay ordinary multi-token
            # text (the parser works on decoded text), so the embedding matrix is left as it is
            say(f"tags that are several tokens in this tokenizer (fine: parsed as text): {multi}")
        tok.padding_side = "left"
        return tok, str(m["base"])
    if _done(paths.base):
        from transformers import AutoTokenizer

        say(f"base: reusing {paths.base}")
        return AutoTokenizer.from_pretrained(paths.base), str(paths.base)
    te = _TextEngine()
    oracle_transcripts(train_eps, te, cfg)
    texts = te.texts
    tok = train_tokenizer(texts, vocab_size=int(m["tokenizer"].get("vocab_size", 3000)),
                          min_frequency=int(m["tokenizer"].get("min_frequency", 2)))
    check_tags(tok)
    model = build_tiny_qwen2(tok, seed=int(cfg["seed"]), **_tiny_kwargs(m["tiny"]))
    save(model, tok, paths.base)
    _mark(paths.base)
    n = sum(p.numel() for p in model.parameters())
    say(f"base: tokenizer trained on {len(texts)} texts (vocab {len(tok)}), tiny Qwen2 with {n / 1e6:.2f}M parameters")
    return tok, str(paths.base)


def _tiny_kwargs(t: dict[str, Any]) -> dict[str, Any]:
    keys = {"hidden_size", "layers", "heads", "kv_heads", "intermediate_size", "max_positions"}
    bad = set(t) - keys
    if bad:
        raise TrainConfigError(f"model.tiny: unknown keys {sorted(bad)} (known: {sorted(keys)})")
    return dict(t)


def _load_causal_lm(path: str, cfg: dict[str, Any]) -> Any:
    import torch
    from transformers import AutoModelForCausalLM

    dtype = cfg["model"]["dtype"]
    torch_dtype = getattr(torch, dtype) if dtype != "auto" else "auto"
    try:
        return AutoModelForCausalLM.from_pretrained(path, dtype=torch_dtype)
    except Exception as exc:
        raise TrainConfigError(f"cannot load model {path}: {type(exc).__name__}: {exc}") from None


def _run_sft(cfg: dict[str, Any], paths: RunPaths, base_path: str, tokenizer: Any,
             train_eps: Sequence[Episode], say) -> str:
    s = cfg["sft"]
    if not s["enabled"]:
        return base_path
    if _done(paths.sft):
        say(f"sft: reusing {paths.sft}")
        return str(paths.sft)
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    from guardagent.chat.engine import Engine

    model = _load_causal_lm(base_path, cfg)
    if len(tokenizer) > model.get_input_embeddings().weight.shape[0]:
        model.resize_token_embeddings(len(tokenizer))
    engine = Engine(model, tokenizer)
    transcripts = oracle_transcripts(train_eps, engine, cfg)
    rows = sft_rows(transcripts, int(s["max_length"]))
    lens = [len(r["input_ids"]) for r in rows]
    say(f"sft: {len(rows)} oracle trajectories (tokens: mean {sum(lens) / len(lens):.0f}, max {max(lens)})")
    ds = Dataset.from_list(rows)
    args = SFTConfig(
        output_dir=str(paths.root / "sft_work"),
        max_steps=int(s["max_steps"]) if s.get("max_steps") else -1,
        num_train_epochs=float(s["epochs"] or 1),
        learning_rate=float(s["learning_rate"]),
        per_device_train_batch_size=int(s["batch_size"]),
        gradient_accumulation_steps=int(s["grad_accum"]),
        warmup_steps=float(s["warmup_ratio"]),
        weight_decay=float(s["weight_decay"]),
        lr_scheduler_type="cosine",
        logging_steps=10,
        save_strategy="no",
        report_to="none",
        max_length=int(s["max_length"]),
        seed=int(cfg["seed"]),
        bf16=bool(cfg["grpo"].get("bf16")),
        gradient_checkpointing=bool(cfg["model"]["gradient_checkpointing"]),
        dataloader_num_workers=0,
        disable_tqdm=True,
        **_device_kwargs(),
    )
    trainer = SFTTrainer(model=model, args=args, train_dataset=ds, processing_class=tokenizer,
                         peft_config=_lora(s["lora"]), callbacks=[_LogCallback(paths.logs, "sft", say).cb])
    _quiet_trainer(trainer)
    trainer.train()
    _save_sft(trainer, cfg, paths, base_path, tokenizer)
    return str(paths.sft)


def _save_sft(trainer: Any, cfg: dict[str, Any], paths: RunPaths, base_path: str, tokenizer: Any) -> None:
    """Save the SFT model to DIR/sft (a LoRA is merged); safe under multi-process launches."""
    from accelerate import PartialState

    state = PartialState()
    if cfg["sft"]["lora"]:
        adapter_dir = paths.root / "sft_adapter"
        trainer.save_model(str(adapter_dir))  # gathers ZeRO-3 shards
        state.wait_for_everyone()
        if state.is_main_process:
            from peft import PeftModel

            merged = PeftModel.from_pretrained(_load_causal_lm(base_path, cfg), str(adapter_dir)).merge_and_unload()
            merged.save_pretrained(paths.sft)
    else:
        trainer.save_model(str(paths.sft))
    if state.is_main_process:
        tokenizer.save_pretrained(paths.sft)
        _mark(paths.sft)
    state.wait_for_everyone()


def _run_grpo(cfg: dict[str, Any], paths: RunPaths, sft_path: str, tokenizer: Any,
              train_eps: Sequence[Episode], say) -> str:
    if _done(paths.policy):
        say(f"grpo: reusing {paths.policy}")
        return str(paths.policy)
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    g = cfg["grpo"]
    model = _load_causal_lm(sft_path, cfg)
    n_gen = int(g["num_generations"])
    batch = n_gen * int(g["prompts_per_step"])
    ds = Dataset.from_dict({"prompt": [ep.id for ep in train_eps]})
    use_vllm = bool(g.get("use_vllm"))
    if use_vllm:
        raise TrainConfigError(
            "grpo.use_vllm: sandbox rollouts generate with transformers inside the guarded graph; a vLLM "
            "engine for them is not implemented yet (set grpo.use_vllm: false)"
        )
    args = GRPOConfig(
        output_dir=str(paths.grpo),
        max_steps=int(g["max_steps"]),
        learning_rate=float(g["learning_rate"]),
        per_device_train_batch_size=batch,
        gradient_accumulation_steps=int(g["grad_accum"]),
        num_generations=n_gen,
        temperature=float(g["temperature"]),
        top_p=float(g["top_p"]),
        beta=float(g["beta"]),
        epsilon=float(g["epsilon"]),
        loss_type=str(g["loss_type"]),
        max_grad_norm=float(g["max_grad_norm"]),
        reward_weights=[1.0, float(g["w_gen"])],
        logging_steps=1,
        save_strategy="steps",
        save_steps=int(g["save_steps"]),
        save_total_limit=2,
        report_to="none",
        seed=int(cfg["seed"]),
        bf16=bool(g.get("bf16")),
        max_completion_length=int(cfg["model"]["max_new_tokens"]) * int(cfg["sandbox"]["max_turns"]) * 8,
        use_vllm=use_vllm,
        **({"vllm_mode": g["vllm_mode"]} if use_vllm else {}),
        remove_unused_columns=False,
        gradient_checkpointing=bool(cfg["model"]["gradient_checkpointing"]),
        disable_tqdm=True,
        **_device_kwargs(),
    )
    paths.rollouts.parent.mkdir(parents=True, exist_ok=True)
    rollouts = SandboxRollouts(train_eps, tokenizer, cfg, log_path=paths.rollouts)
    trainer = GRPOTrainer(
        model=model,
        reward_funcs=[reward_scenario, reward_format],
        args=args,
        train_dataset=ds,
        processing_class=tokenizer,
        peft_config=_lora(g["lora"]),
        rollout_func=rollouts,
        callbacks=[_LogCallback(paths.logs, "grpo", say).cb],
    )
    _quiet_trainer(trainer)
    resume = _last_checkpoint(paths.grpo)
    if resume:
        say(f"grpo: resuming from {resume}")
    elif paths.rollouts.exists():
        paths.rollouts.unlink()
    say(f"grpo: {g['max_steps']} steps x {batch} sandbox episodes ({g['prompts_per_step']} prompts x {n_gen})")
    trainer.train(resume_from_checkpoint=resume)
    from accelerate import PartialState

    state = PartialState()
    trainer.save_model(str(paths.policy))  # the LoRA adapter (and modules_to_save)
    if state.is_main_process:
        tokenizer.save_pretrained(paths.policy)
        _mark(paths.policy)
    state.wait_for_everyone()
    return str(paths.policy)


def _quiet_trainer(trainer: Any) -> None:
    """Our callback prints one line per log; drop transformers' raw dict printer."""
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    trainer.remove_callback(PrinterCallback)
    trainer.remove_callback(ProgressCallback)


def _last_checkpoint(d: Path) -> str | None:
    if not d.is_dir():
        return None
    cks = sorted((p for p in d.glob("checkpoint-*") if p.is_dir()), key=lambda p: int(p.name.split("-")[-1]))
    return str(cks[-1]) if cks else None


def _evaluate_run(cfg: dict[str, Any], paths: RunPaths, sft_path: str, adapter_path: str | None,
                  eval_eps: Sequence[Episode], say) -> dict[str, Any]:
    from guardagent.chat.model import TransformersChatModel, load_policy_model

    mnt = int(cfg["model"]["max_new_tokens"])
    out: dict[str, Any] = {"sft": {}, "grpo": {}}
    screens_list = cfg["sandbox"]["eval_screens"]
    models = [("sft", lambda: TransformersChatModel.from_pretrained(sft_path, max_new_tokens=mnt))]
    if adapter_path:
        models.append(("grpo", lambda: load_policy_model(paths.root, max_new_tokens=mnt)))
    for name, make in models:
        chat = make()
        for screens in screens_list:
            key = "screens_on" if screens else "screens_off"
            if screens and not _screens_available():
                out[name][key] = {"skipped": "the rules screen is not installed"}
                continue
            t = time.time()
            m = evaluate_policy(chat, eval_eps, cfg, screens=screens,
                                sample_out=paths.root / "eval" / f"{name}_{key}.jsonl")
            m["seconds"] = round(time.time() - t, 1)
            out[name][key] = m
            say(f"eval {name} ({key}): mean reward {m['mean_reward']:.3f} over {m['n_episodes']} held-out episodes")
    if adapter_path:
        s, g = out["sft"]["screens_off"]["mean_reward"], out["grpo"]["screens_off"]["mean_reward"]
        out["sft_vs_grpo"] = {"sft_mean_reward": s, "grpo_mean_reward": g, "delta": round(g - s, 4),
                              "grpo_better": g > s}
    return out


def _screens_available() -> bool:
    from guardagent.screens import registry

    return registry.available("rules")


class _LogCallback:
    """Writes every trainer log line to ``train_log.jsonl`` and prints a compact line."""

    def __init__(self, path: Path, phase: str, say) -> None:
        from transformers import TrainerCallback

        self.path, self.phase, self.say = path, phase, say
        outer = self

        class CB(TrainerCallback):
            def on_log(self, args, state, control, logs=None, **kw):
                outer.on_log(state, logs or {})

        self.cb = CB()

    def on_log(self, state: Any, logs: dict[str, Any]) -> None:
        if not getattr(state, "is_world_process_zero", True):
            return
        rec = {"phase": self.phase, "step": int(state.global_step), **{k: v for k, v in logs.items()
                                                                     if isinstance(v, (int, float))}}
        with self.path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(rec) + "\n")
        if self.phase == "sft" and "loss" in logs:
            self.say(f"sft step {state.global_step}: loss {logs['loss']:.3f}")
        elif self.phase == "grpo" and "reward" in logs:
            per = " ".join(f"{k.split('/')[-1]}={v:+.2f}" for k, v in sorted(logs.items()) if k.startswith("scenario/"))
            self.say(
                f"grpo step {state.global_step}: reward {logs['reward']:+.3f} kl {logs.get('kl', 0.0):.4f} "
                f"len {logs.get('completions/mean_length', 0):.0f} | {per}"
            )


def _cb(obj: Any) -> Any:
    return obj.cb if isinstance(obj, _LogCallback) else obj


def _summarise_log(paths: RunPaths) -> dict[str, Any]:
    if not paths.rollouts.exists():
        return {}
    rows = [json.loads(line) for line in paths.rollouts.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not rows:
        return {}
    k = max(1, len(rows) // 5)
    first = sum(r["mean"] for r in rows[:k]) / k
    last = sum(r["mean"] for r in rows[-k:]) / k
    return {"rollout_batches": len(rows), "train_reward_first_20pct": round(first, 4),
            "train_reward_last_20pct": round(last, 4)}


def _plot(paths: RunPaths) -> None:
    if not paths.rollouts.exists():
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [json.loads(line) for line in paths.rollouts.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not rows:
        return
    fig, ax = plt.subplots(figsize=(9, 5))
    for code in ScenarioCode:
        pts = [(r["step"], r["per_scenario"][code.value]) for r in rows if code.value in r["per_scenario"]]
        if not pts:
            continue
        xs, ys = zip(*pts)
        ax.plot(xs, _smooth(ys), label=code.value, linewidth=1.2)
    xs = [r["step"] for r in rows]
    ax.plot(xs, _smooth([r["mean"] for r in rows]), label="mean", color="black", linewidth=2.5)
    ax.set_xlabel("GRPO step")
    ax.set_ylabel("sandbox reward (R_scenario + w_gen R_gen), moving average")
    ax.set_title("GRPO: reward by step per scenario")
    ax.legend(ncol=5, fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(paths.plot, dpi=110)
    plt.close(fig)


def _smooth(ys: Sequence[float], k: int = 5) -> list[float]:
    out = []
    for i in range(len(ys)):
        w = ys[max(0, i - k + 1) : i + 1]
        out.append(sum(w) / len(w))
    return out


def _print_report(metrics: dict[str, Any], say) -> None:
    lines = []
    for name in ("sft", "grpo"):
        for key, m in metrics.get(name, {}).items():
            if "skipped" in m:
                lines.append(f"{name:5s} {key:11s} skipped: {m['skipped']}")
                continue
            lines.append(
                f"{name:5s} {key:11s} reward {m['mean_reward']:+.3f} | refusal MU {_pct(m['refusal_rate_MU'])} | "
                f"verify SU/ST {_pct(m['verification_rate_SU_ST'])} | task BU-BT {_pct(m['task_completion_BU_BT'])} | "
                f"attack MT {_pct(m['attack_success_MT'])} | over-refusal BU {_pct(m['over_refusal_BU'])} | "
                f"format {_pct(m['format_ok_rate'])}"
            )
    per_s = metrics.get("sft", {}).get("screens_off", {}).get("per_scenario", {})
    per_g = metrics.get("grpo", {}).get("screens_off", {}).get("per_scenario", {})
    if per_s:
        lines.append("per scenario (screens off, held-out)   SFT  ->  GRPO")
        for code in ScenarioCode:
            if code.value in per_s:
                g = per_g.get(code.value, {}).get("reward")
                lines.append(f"  {code.value}: {per_s[code.value]['reward']:+.3f} -> "
                             + (f"{g:+.3f}" if g is not None else "n/a"))
    cmp_ = metrics.get("sft_vs_grpo")
    if cmp_:
        lines.append(f"SFT mean reward {cmp_['sft_mean_reward']:+.3f}  GRPO mean reward {cmp_['grpo_mean_reward']:+.3f}  "
                     f"(delta {cmp_['delta']:+.3f})")
    lines.append(f"time: {metrics.get('timings_s')}")
    print("\n".join(lines), flush=True)


def _pct(v: float | None) -> str:
    return "  n/a" if v is None else f"{100 * v:4.0f}%"
