"""The SFT + GRPO pipeline at CI size (the full tiny recipe is a documented command)."""

from __future__ import annotations

import json
import os
from types import SimpleNamespace

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("trl")
pytest.importorskip("peft")
torch.set_num_threads(1)
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from guardagent.training.policy_trainer import (  # noqa: E402
    SandboxRollouts,
    TrainConfigError,
    load_config,
    oracle_transcripts,
    sft_rows,
    train,
)
from guardagent.training.sandbox import example_episodes  # noqa: E402

CI = {
    "threads": 1,
    "data.source": "examples",
    "model.max_new_tokens": 24,
    "model.tiny": {"hidden_size": 32, "layers": 1, "heads": 2, "kv_heads": 1, "intermediate_size": 64},
    "model.tokenizer": {"vocab_size": 600, "min_frequency": 2},
    "sft.max_steps": 3,
    "sft.batch_size": 4,
    "grpo.max_steps": 2,
    "grpo.num_generations": 2,
    "grpo.prompts_per_step": 2,
    "grpo.save_steps": 1,
    "sandbox.eval_screens": [False],
    "sandbox.workers": 9,
}


def test_config_errors_name_the_key(tmp_path):
    with pytest.raises(TrainConfigError, match="unknown config key 'grpo.stepz'"):
        load_config(None, {"grpo.stepz": 3})
    bad = tmp_path / "bad.yaml"
    bad.write_text("sft:\n  max_step: 3\n")
    with pytest.raises(TrainConfigError, match="unknown config key 'sft.max_step'"):
        load_config(bad)
    with pytest.raises(TrainConfigError, match="num_generations must be at least 2"):
        load_config(None, {"grpo.num_generations": 1})
    with pytest.raises(TrainConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")
    with pytest.raises(TrainConfigError, match="model.tiny: unknown keys"):
        from guardagent.training.policy_trainer import _tiny_kwargs

        _tiny_kwargs({"hidden": 3})


@pytest.mark.parametrize("recipe", ["tiny-cpu.yaml", "qwen2.5-7b.yaml", "qwen2.5-14b.yaml"])
def test_recipes_are_valid_configs(recipe):
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "training" / recipe
    cfg = load_config(path)
    assert cfg["grpo"]["num_generations"] >= 2


@pytest.fixture(scope="module")
def tiny_engine():
    from guardagent.chat import Engine
    from guardagent.training.policy_trainer import _TextEngine
    from guardagent.training.tiny import build_tiny_qwen2, train_tokenizer

    cfg = load_config(None, CI)
    te = _TextEngine()
    oracle_transcripts(example_episodes(), te, cfg)
    tok = train_tokenizer(te.texts, vocab_size=600)
    model = build_tiny_qwen2(tok, hidden_size=32, layers=1, heads=2, kv_heads=1, intermediate_size=64)
    return Engine(model, tok), cfg


def test_sft_rows_train_only_on_the_oracle_turns(tiny_engine):
    engine, cfg = tiny_engine
    trs = oracle_transcripts(example_episodes(), engine, cfg)
    # episodes with a verification give one trajectory per verifier answer
    assert len(trs) > len(example_episodes())
    rows = sft_rows(trs, 4096)
    for tr, row in zip(trs, rows):
        n_prompt = len(tr.prompt_ids)
        assert row["input_ids"] == tr.prompt_ids + tr.completion_ids
        assert all(x == -100 for x in row["labels"][:n_prompt])
        for tok, lab, m in zip(tr.completion_ids, row["labels"][n_prompt:], tr.mask):
            assert lab == (tok if m else -100)
        trained = engine.tokenizer.decode([t for t in row["labels"] if t != -100])
        assert "<tool_response>" not in trained and "<|im_start|>" not in trained


def test_rollout_func_returns_masked_multi_turn_completions(tiny_engine):
    engine, cfg = tiny_engine
    eps = example_episodes()
    ro = SandboxRollouts(eps, engine.tokenizer, cfg)
    trainer = SimpleNamespace(model=engine.model, state=SimpleNamespace(global_step=0),
                              accelerator=SimpleNamespace(unwrap_model=lambda m: m))
    prompts = [eps[0].id, eps[0].id, eps[6].id, eps[6].id]  # TRL repeats each prompt per generation
    out = ro(prompts, trainer)
    assert set(out) >= {"prompt_ids", "completion_ids", "logprobs", "env_mask", "r_scenario", "r_gen", "scenario"}
    assert all(len(out[k]) == 4 for k in out)
    for c, m, lp in zip(out["completion_ids"], out["env_mask"], out["logprobs"]):
        assert len(c) == len(m) == len(lp) and m[0] == 1
        assert all(x == 0.0 for x, mm in zip(lp, m) if mm == 0)
        assert all(x <= 0.0 for x in lp)
    assert out["scenario"] == ["BU-BT", "BU-BT", "SU-BT", "SU-BT"]
    with pytest.raises(Exception, match="not a known episode id"):
        ro(["nope"], trainer)


def test_train_pipeline_ci_size_then_load_policy_into_the_graph(tmp_path):
    out = tmp_path / "run"
    cfg = load_config(None, CI)
    metrics = train(cfg, out, quiet=True)
    for name in ("sft", "grpo"):
        m = metrics[name]["screens_off"]
        assert m["n_episodes"] == 9
        assert set(m["per_scenario"]) == {ep.scenario.value for ep in example_episodes()}
        for key in ("refusal_rate_MU", "verification_rate_SU_ST", "task_completion_BU_BT",
                    "attack_success_MT", "over_refusal_BU"):
            assert m[key] is None or 0.0 <= m[key] <= 1.0
    assert {"sft_mean_reward", "grpo_mean_reward", "delta"} <= set(metrics["sft_vs_grpo"])
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["sft_vs_grpo"] == metrics["sft_vs_grpo"]
    assert (out / "reward_by_step.png").stat().st_size > 1000
    rows = [json.loads(line) for line in (out / "grpo_rollouts.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [0, 1]
    log = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]
    grpo = [r for r in log if r["phase"] == "grpo" and "reward" in r]
    assert len(grpo) == 2 and all("kl" in r and "completions/mean_length" in r for r in grpo)
    assert any(k.startswith("scenario/") for k in grpo[0])
    assert (out / "policy" / "adapter_config.json").is_file()

    # the trained adapter loads into guardagent.chat and runs inside build_guarded_graph
    from guardagent.chat import load_policy_model
    from guardagent.training.sandbox import run_episode

    chat = load_policy_model(out)
    from peft import PeftModel

    assert isinstance(chat.engine.model, PeftModel)
    r = run_episode(example_episodes()[0], chat.with_options(max_new_tokens=8))
    assert r.turns and r.status in ("completed", "max_turns", "refused")

    # resume: GRPO continues from its last checkpoint when the run was cut short
    import shutil

    shutil.rmtree(out / "policy")
    (out / "metrics.json").unlink()
    from guardagent.cli import main

    rc = main(["train", "--config", str(_write_cfg(tmp_path, CI)), "--output", str(out), "--set", "grpo.max_steps=3",
               "--quiet"])
    assert rc == 0
    rows = [json.loads(line) for line in (out / "grpo_rollouts.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [0, 1, 2]  # steps 0-1 kept, only step 2 was run again
    assert json.loads((out / "metrics.json").read_text())["sft_vs_grpo"]


def _write_cfg(tmp_path, flat):
    import yaml

    nested: dict = {}
    for k, v in flat.items():
        cur = nested
        parts = k.split(".")
        for p in parts[:-1]:
            cur = cur.setdefault(p, {})
        cur[parts[-1]] = v
    path = tmp_path / "ci.yaml"
    path.write_text(yaml.safe_dump(nested))
    return path


def test_big_recipe_code_path_on_a_local_base_with_lora_sft(tmp_path):
    """The 7B/14B path (model.base is a directory, LoRA SFT merged, LoRA GRPO without
    modules_to_save) on a tiny local model."""
    from guardagent.training.policy_trainer import _TextEngine
    from guardagent.training.tiny import build_tiny_qwen2, save, train_tokenizer

    cfg0 = load_config(None, CI)
    te = _TextEngine()
    oracle_transcripts(example_episodes(), te, cfg0)
    tok = train_tokenizer(te.texts, vocab_size=600)
    base = save(build_tiny_qwen2(tok, hidden_size=32, layers=1, heads=2, kv_heads=1, intermediate_size=64),
                tok, tmp_path / "base-model")
    over = dict(CI)
    over.update({
        "model.base": str(base),
        "sft.lora": {"r": 4, "alpha": 8, "target_modules": ["q_proj", "v_proj"]},
        "sft.max_steps": 2,
        "grpo.max_steps": 1,
        "grpo.lora": {"r": 4, "alpha": 8, "target_modules": ["q_proj", "v_proj"], "modules_to_save": []},
    })
    out = tmp_path / "run"
    metrics = train(load_config(None, over), out, quiet=True)
    assert (out / "sft" / "config.json").is_file() and not (out / "sft" / "adapter_config.json").exists()
    assert (out / "sft_adapter" / "adapter_config.json").is_file()
    assert not (out / "base").exists()  # a real base model is used in place, not rebuilt
    assert metrics["sft_vs_grpo"]["grpo_mean_reward"] is not None
    with pytest.raises(TrainConfigError, match="use_vllm"):
        over2 = dict(over, **{"grpo.use_vllm": True})
        train(load_config(None, over2), tmp_path / "run2", quiet=True)
