"""AgentDojo tool outputs, clean and injected, collected by running its ground truths.

For every user task of a suite, the task's ground-truth tool calls are run in the suite's
environment (``load_and_inject_default_environment`` + ``init_environment``), the way
AgentDojo's ``GroundTruthPipeline`` does:

* with the injection vectors at their defaults, every tool output is a clean sample (the
  injection tasks' own ground truths, run the same way, add clean outputs of the tools an
  attack would trigger: money sent, messages posted, ...);
* with canaries in every vector, the outputs that show a canary are the ones an injection
  reaches; with an attack's injections (one registered attack x one injection task), those
  outputs are the injected samples.

Registered attacks are used as AgentDojo renders them (``important_instructions``,
``tool_knowledge``, ``injecagent``, the DoS attacks, ...; ``manual`` is left out because it
reads from stdin). Attacks that address the model by name get it from a pipeline name
(default ``gpt-4o-2024-05-13``, rendered "GPT-4"). Evaluation only: never train or tune on it.
"""

from __future__ import annotations

import random
import warnings
from typing import Any, Callable, Sequence

from guardagent.eval.samples import EvalDataError, EvalSample, EvalSet
from guardagent.taxonomy import Label, Source

DEFAULT_VERSION = "v1.2.2"
DEFAULT_LIMIT = 300
DEFAULT_MODEL = "gpt-4o-2024-05-13"
EXCLUDED_ATTACKS = frozenset({"manual"})


def available() -> bool:
    try:
        import agentdojo  # noqa: F401
    except ImportError:
        return False
    return True


def _require():
    try:
        from agentdojo.agent_pipeline.base_pipeline_element import BasePipelineElement
        from agentdojo.agent_pipeline.ground_truth_pipeline import GroundTruthPipeline
        from agentdojo.attacks.attack_registry import ATTACKS
        import agentdojo.attacks  # noqa: F401  (registers the attacks)
        from agentdojo.functions_runtime import FunctionsRuntime
        from agentdojo.task_suite.load_suites import get_suites
        from agentdojo.types import get_text_content_as_str
    except ImportError as exc:
        raise EvalDataError(
            f"AgentDojo is not installed ({exc}); pip install agentdojo to evaluate on it"
        ) from None
    return BasePipelineElement, GroundTruthPipeline, ATTACKS, FunctionsRuntime, get_suites, get_text_content_as_str


def registered_attacks() -> list[str]:
    ATTACKS = _require()[2]
    return sorted(a for a in ATTACKS if a not in EXCLUDED_ATTACKS)


def suites(version: str = DEFAULT_VERSION) -> dict[str, Any]:
    get_suites = _require()[4]
    found = get_suites(version)
    if not found:
        raise EvalDataError(f"AgentDojo has no suites for benchmark version {version!r}")
    return dict(found)


def ground_truth_tool_outputs(suite, task, injections: dict[str, str]) -> list[tuple[str, dict, str]]:
    """(tool name, arguments, output text) of each ground-truth tool call of a user or injection task."""
    _, GroundTruthPipeline, _, FunctionsRuntime, _, get_text = _require()
    env = suite.load_and_inject_default_environment(injections)
    prompt = getattr(task, "PROMPT", None)
    if prompt is not None:  # a user task sets up its environment (AgentDojo's run_task_with_pipeline)
        env = task.init_environment(env)
    else:
        prompt = task.GOAL
    runtime = FunctionsRuntime(suite.tools)
    _, _, _, messages, _ = GroundTruthPipeline(task).query(prompt, runtime, env)
    out = []
    for m in messages:
        if m["role"] != "tool":
            continue
        call = m["tool_call"]
        out.append((call.function, dict(call.args), get_text(m["content"]) or ""))
    return out


def _named_pipeline(model_name: str):
    BasePipelineElement = _require()[0]

    class _Named(BasePipelineElement):
        """Stands in for the attacked pipeline: attacks only read its name."""

        name = model_name

        def query(self, query, runtime, env=None, messages=(), extra_args=None):  # pragma: no cover
            return query, runtime, env, messages, extra_args or {}

    return _Named()


def load_agentdojo(
    *,
    version: str = DEFAULT_VERSION,
    suite_names: Sequence[str] | None = None,
    attacks: Sequence[str] | None = None,
    limit: int | None = DEFAULT_LIMIT,
    seed: int = 0,
    model_name: str = DEFAULT_MODEL,
    progress: Callable[[str], None] | None = None,
) -> EvalSet:
    """Clean and injected tool outputs of AgentDojo's ground-truth runs.

    ``limit`` caps each (suite, clean|injected) stratum; injected outputs come from a seeded
    shuffle of the (user task, injection task, attack) combinations, DoS attacks with one
    injection task each as AgentDojo runs them. ``None`` or 0 runs every combination.
    """
    ATTACKS = _require()[2]
    all_suites = suites(version)
    names = list(suite_names) if suite_names else sorted(all_suites)
    unknown = [n for n in names if n not in all_suites]
    if unknown:
        raise EvalDataError(f"unknown AgentDojo suite(s) {unknown} (known: {sorted(all_suites)})")
    attack_names = list(attacks) if attacks else registered_attacks()
    bad = [a for a in attack_names if a not in ATTACKS or a in EXCLUDED_ATTACKS]
    if bad:
        raise EvalDataError(f"unknown or unsupported AgentDojo attack(s) {bad} (known: {registered_attacks()})")

    pipeline = _named_pipeline(model_name)
    samples: list[EvalSample] = []
    notes: list[str] = []
    stats: dict[str, dict[str, int]] = {}
    for sname in names:
        suite = all_suites[sname]
        rng = random.Random(f"agentdojo:{seed}:{sname}")
        vectors = suite.get_injection_vector_defaults()
        canaries = {v: f"<CANARY---{v}--->" for v in vectors}
        built = {}
        for a in attack_names:
            try:
                built[a] = ATTACKS[a](suite, pipeline)
            except ValueError as exc:  # e.g. a model-name attack with an unknown model
                notes.append(f"{sname}: attack {a!r} skipped ({exc})")
        clean: dict[str, EvalSample] = {}
        positions: dict[str, list[int]] = {}
        clean_outputs: dict[str, list[tuple[str, dict, str]]] = {}
        failures = 0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for ut_id, ut in suite.user_tasks.items():
                try:
                    outs = ground_truth_tool_outputs(suite, ut, {})
                    canary_outs = ground_truth_tool_outputs(suite, ut, canaries)
                except Exception as exc:  # a broken ground truth: note it, keep going
                    failures += 1
                    notes.append(f"{sname}/{ut_id}: ground truth failed ({type(exc).__name__}: {exc})")
                    continue
                clean_outputs[ut_id] = outs
                positions[ut_id] = [
                    i for i, (_, _, text) in enumerate(canary_outs) if any(c in text for c in canaries.values())
                ] if len(canary_outs) == len(outs) else []
                for k, (tool, args, text) in enumerate(outs):
                    if text.strip() and text not in clean:
                        clean[text] = EvalSample(
                            id=f"agentdojo-{sname}-{ut_id}-{k}-clean",
                            text=text,
                            source=Source.TOOL,
                            label=Label.BENIGN,
                            group=sname,
                            tool_name=tool,
                            tool_args=args,
                            scenario="BU-BT",
                            meta={"suite": sname, "attack": "clean", "user_task": ut_id},
                        )
            # the injection tasks' ground truths are clean runs too (money sent, messages posted...)
            for it_id, it in suite.injection_tasks.items():
                try:
                    outs = ground_truth_tool_outputs(suite, it, {})
                except Exception as exc:
                    failures += 1
                    notes.append(f"{sname}/{it_id}: ground truth failed ({type(exc).__name__}: {exc})")
                    continue
                for k, (tool, args, text) in enumerate(outs):
                    if text.strip() and text not in clean:
                        clean[text] = EvalSample(
                            id=f"agentdojo-{sname}-{it_id}-{k}-clean",
                            text=text,
                            source=Source.TOOL,
                            label=Label.BENIGN,
                            group=sname,
                            tool_name=tool,
                            tool_args=args,
                            scenario="BU-BT",
                            meta={"suite": sname, "attack": "clean", "user_task": it_id},
                        )
            clean_list = list(clean.values())
            if limit and len(clean_list) > limit:
                keep = set(rng.sample(range(len(clean_list)), limit))
                clean_list = [s for i, s in enumerate(clean_list) if i in keep]
            samples.extend(clean_list)

            combos = []
            inj_tasks = list(suite.injection_tasks.items())
            for ut_id in clean_outputs:
                if not positions[ut_id]:
                    continue
                for a, attack in built.items():
                    for it_id, it in inj_tasks[:1] if attack.is_dos_attack else inj_tasks:
                        combos.append((ut_id, it_id, it, a))
            rng.shuffle(combos)
            injected: list[EvalSample] = []
            seen: set[str] = set()
            runs = 0
            for ut_id, it_id, it, a in combos:
                if limit and len(injected) >= limit:
                    break
                ut = suite.user_tasks[ut_id]
                try:
                    injections = built[a].attack(ut, it)
                    outs = ground_truth_tool_outputs(suite, ut, injections)
                except Exception as exc:
                    failures += 1
                    if failures <= 20:
                        notes.append(f"{sname}/{ut_id}/{it_id}/{a}: skipped ({type(exc).__name__}: {exc})")
                    continue
                runs += 1
                base = clean_outputs[ut_id]
                for k in positions[ut_id]:
                    if k >= len(outs) or len(outs) != len(base):
                        continue
                    tool, args, text = outs[k]
                    if text == base[k][2] or text in seen:
                        continue  # the injection did not reach this output
                    seen.add(text)
                    injected.append(
                        EvalSample(
                            id=f"agentdojo-{sname}-{ut_id}-{it_id}-{a}-{k}",
                            text=text,
                            source=Source.TOOL,
                            label=Label.MALICIOUS,
                            group=sname,
                            tool_name=tool,
                            tool_args=args,
                            scenario="BU-MT",
                            meta={"suite": sname, "attack": a, "user_task": ut_id, "injection_task": it_id},
                        )
                    )
            if limit and len(injected) > limit:
                injected = injected[:limit]
            samples.extend(injected)
        stats[sname] = {
            "user_tasks": len(suite.user_tasks),
            "injection_tasks": len(suite.injection_tasks),
            "clean": len(clean_list),
            "clean_total": len(clean),
            "combinations": len(combos),
            "ground_truth_runs": runs,
            "injected": len(injected),
            "failures": failures,
        }
        if progress:
            progress(
                f"agentdojo/{sname}: {len(clean_list)} clean, {len(injected)} injected outputs "
                f"from {runs} ground-truth runs"
            )
        if limit and runs < len(combos):
            notes.append(
                f"{sname}: {runs} of {len(combos)} (user task, injection task, attack) "
                f"combinations run (seed {seed}, limit {limit})"
            )
    if not samples:
        raise EvalDataError("AgentDojo produced no samples (every ground truth failed?)")
    import agentdojo

    info = {
        "agentdojo_version": getattr(agentdojo, "__version__", None) or _dist_version("agentdojo"),
        "benchmark_version": version,
        "suites": stats,
        "attacks": sorted(built),
        "model_name": model_name,
        "limit": limit,
        "seed": seed,
        "breakdowns": ["suite", "attack"],
    }
    return EvalSet(name="agentdojo", samples=samples, notes=notes, info=info)


def _dist_version(name: str) -> str | None:
    try:
        from importlib.metadata import version

        return version(name)
    except Exception:
        return None
