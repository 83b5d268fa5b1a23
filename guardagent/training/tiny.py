"""The tiny policy model for CPU runs and tests: a BPE tokenizer trained locally on the
corpus text and a small Qwen2 built from ``Qwen2Config`` (random init, no downloads).

The tokenizer has Qwen's ChatML special tokens (``<|endoftext|>``, ``<|im_start|>``,
``<|im_end|>``) and the policy's tags (``<tool_call>``, ``</tool_call>``, ``<tool_check>``,
``</tool_check>``, ``<think>``, ``</think>``) as *ordinary* added tokens: TRL decodes
completions with ``skip_special_tokens=True`` and the tags must survive that.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

from guardagent.chat.template import ENDOFTEXT, IM_END, IM_START, TAGS

SPECIAL = (ENDOFTEXT, IM_START, IM_END)


def train_tokenizer(texts: Iterable[str], vocab_size: int = 4000, min_frequency: int = 2) -> Any:
    """Train a byte-level BPE on ``texts``; returns a ``PreTrainedTokenizerFast``."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=list(SPECIAL),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(list(texts), trainer=trainer)
    tok.add_tokens([AddedToken(t, normalized=False, special=False, single_word=False) for t in TAGS])
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token=IM_END,
        pad_token=ENDOFTEXT,
        unk_token=None,
        bos_token=None,
        additional_special_tokens=[IM_START],
    )
    fast.padding_side = "left"
    return fast


def check_tags(tokenizer: Any) -> None:
    """Every tag is one ordinary token that survives ``skip_special_tokens`` decoding."""
    from guardagent.taxonomy import GuardError

    for tag in TAGS:
        ids = tokenizer(tag, add_special_tokens=False)["input_ids"]
        if len(ids) != 1:
            raise GuardError(f"tokenizer splits {tag!r} into {len(ids)} tokens; add it as one ordinary token")
        if tokenizer.decode(ids, skip_special_tokens=True) != tag:
            raise GuardError(f"{tag!r} is a special token: TRL would strip it from completions")


def build_tiny_qwen2(tokenizer: Any, *, hidden_size: int = 128, layers: int = 2, heads: int = 4,
                     kv_heads: int = 2, intermediate_size: int = 384, max_positions: int = 4096,
                     seed: int = 0) -> Any:
    """A randomly initialised Qwen2 sized for CPU (about a million parameters by default)."""
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(seed)
    cfg = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=intermediate_size,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=kv_heads,
        max_position_embeddings=max_positions,
        tie_word_embeddings=False,
        rope_theta=10000.0,
        bos_token_id=None,
        eos_token_id=tokenizer.convert_tokens_to_ids(IM_END),
        pad_token_id=tokenizer.pad_token_id,
    )
    model = Qwen2ForCausalLM(cfg)
    model.generation_config.eos_token_id = [tokenizer.convert_tokens_to_ids(IM_END), tokenizer.convert_tokens_to_ids(ENDOFTEXT)]
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    return model


def save(model: Any, tokenizer: Any, path: str | Path) -> Path:
    p = Path(path)
    p.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(p)
    tokenizer.save_pretrained(p)
    return p
