"""Generation engine: a causal LM and its tokenizer, with request coalescing.

Several graph episodes (threads) call the policy model at once during RL rollouts and batch
evaluation; each call submits its prompt ids here, and the engine runs one left-padded
``generate`` for every request that arrives together, so the model sees a batch instead of
a queue of single prompts.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Sequence

from guardagent.chat.template import ENDOFTEXT, IM_END


@dataclass(frozen=True)
class GenOptions:
    max_new_tokens: int = 256
    temperature: float = 0.0
    top_p: float = 1.0

    @property
    def do_sample(self) -> bool:
        return self.temperature > 0


@dataclass
class Generation:
    ids: list[int]
    logprobs: list[float]
    #: True when the turn ended with an end-of-turn token (not cut at max_new_tokens).
    finished: bool


@dataclass
class _Request:
    ids: list[int]
    opts: GenOptions
    result: Generation | None = None
    error: BaseException | None = None
    taken: bool = False
    done: threading.Event = field(default_factory=threading.Event)


class Engine:
    """Owns a transformers causal LM + tokenizer; thread-safe ``generate`` with batching."""

    def __init__(self, model: Any, tokenizer: Any, *, wait_s: float = 0.02, max_batch: int = 64):
        self.model = model
        self.tokenizer = tokenizer
        self.wait_s = wait_s
        self.max_batch = max_batch
        self._cv = threading.Condition()
        self._pending: list[_Request] = []
        self._run_lock = threading.Lock()
        #: How many clients may be generating at once; a batch is run as soon as this many
        #: requests are waiting (otherwise after ``wait_s``).
        self.expected = 1
        self.stop_ids = self._stop_ids()
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token

    def _stop_ids(self) -> list[int]:
        ids = []
        vocab = self.tokenizer.get_vocab()
        for tok in (IM_END, ENDOFTEXT):
            if tok in vocab:
                ids.append(vocab[tok])
        if self.tokenizer.eos_token_id is not None and self.tokenizer.eos_token_id not in ids:
            ids.append(self.tokenizer.eos_token_id)
        return ids

    @property
    def end_of_turn_id(self) -> int:
        return self.stop_ids[0]

    def encode(self, text: str) -> list[int]:
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def decode(self, ids: Sequence[int]) -> str:
        return self.tokenizer.decode(list(ids), skip_special_tokens=False)

    # -- batching --------------------------------------------------------------------

    def submit(self, ids: list[int], opts: GenOptions) -> Generation:
        """Generate one continuation of ``ids``; concurrent callers are batched together."""
        req = _Request(list(ids), opts)
        with self._cv:
            self._pending.append(req)
            self._cv.notify_all()
            deadline = time.monotonic() + self.wait_s
            batch: list[_Request] | None = None
            while not req.taken:
                now = time.monotonic()
                if len(self._pending) >= max(1, self.expected) or now >= deadline:
                    same = [r for r in self._pending if r.opts == req.opts][: self.max_batch]
                    if req not in same:
                        same = [req] + same[:-1]
                    for r in same:
                        r.taken = True
                    self._pending = [r for r in self._pending if not r.taken]
                    batch = same
                    break
                self._cv.wait(timeout=max(deadline - now, 0.001))
        if batch is not None:
            try:
                with self._run_lock:
                    results = self.generate([r.ids for r in batch], req.opts)
                for r, g in zip(batch, results):
                    r.result = g
            except BaseException as exc:  # hand the error to every waiter
                for r in batch:
                    r.error = exc
            finally:
                for r in batch:
                    r.done.set()
        req.done.wait()
        if req.error is not None:
            raise req.error
        assert req.result is not None
        return req.result

    # -- the actual generate ---------------------------------------------------------

    def generate(self, prompts: Sequence[Sequence[int]], opts: GenOptions) -> list[Generation]:
        import torch

        model = self.model
        was_training = model.training
        model.eval()
        try:
            device = next(model.parameters()).device
            width = max(len(p) for p in prompts)
            pad = self.tokenizer.pad_token_id
            input_ids = torch.full((len(prompts), width), pad, dtype=torch.long)
            attn = torch.zeros((len(prompts), width), dtype=torch.long)
            for i, p in enumerate(prompts):
                input_ids[i, width - len(p) :] = torch.tensor(list(p), dtype=torch.long)
                attn[i, width - len(p) :] = 1
            kwargs: dict[str, Any] = dict(
                max_new_tokens=opts.max_new_tokens,
                do_sample=opts.do_sample,
                eos_token_id=self.stop_ids,
                pad_token_id=pad,
                return_dict_in_generate=True,
                output_logits=True,
                use_cache=True,
            )
            if opts.do_sample:
                kwargs.update(temperature=opts.temperature, top_p=opts.top_p, top_k=0)
            else:
                kwargs.update(temperature=None, top_p=None, top_k=None)
            with torch.no_grad():
                out = model.generate(input_ids=input_ids.to(device), attention_mask=attn.to(device), **kwargs)
            seqs = out.sequences[:, width:].cpu()
            temp = opts.temperature if opts.do_sample else 1.0
            logits = torch.stack(out.logits, dim=1).float().cpu() / temp  # (B, T, V)
            logps = torch.log_softmax(logits, dim=-1).gather(-1, seqs.unsqueeze(-1)).squeeze(-1)
        finally:
            if was_training:
                model.train()
        results = []
        stops = set(self.stop_ids)
        for i in range(len(prompts)):
            ids, lps, finished = [], [], False
            for t, tok in enumerate(seqs[i].tolist()):
                ids.append(tok)
                lps.append(float(logps[i, t]))
                if tok in stops:
                    finished = True
                    break
            results.append(Generation(ids=ids, logprobs=lps, finished=finished))
        return results
