"""Family -> split assignment, shared by the screen dataset and the episodes.

Splits are disjoint by template family. Within each group (the first two dot components of a
family name, e.g. ``user.mu`` or ``tool.mt``) families are ranked by a fixed hash (independent of
the seed, so every build and every episode set agrees) and the first ~15% go to ``test``, the
next ~10% to ``validation``, the rest to ``train``; a group of five or more families gets at least
one of each. Two corrections keep the shipped screen's training data complete: a category of
phrasings (``...<category>.t<i>``) always keeps one phrasing in train, and ``PINNED_TRAIN`` lists
the most common shapes (plain emails, pages, the classic injection wrappers) that always train.
Families added later are placed by hand (``PLACED``) outside the ranking. Some external origins are held out whole (``HELDOUT_ORIGINS``).
"""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from functools import lru_cache
from typing import Iterable

from guardagent.training.corpus import outputs_approvals, outputs_people, outputs_records

SPLITS = ("train", "validation", "test")
TEST_FRACTION, VALIDATION_FRACTION = 0.15, 0.10
#: External origins that only ever appear in the test split (origin-level hold-out).
HELDOUT_ORIGINS = {"prompt-security-fuzzer": "test"}
#: Families the shipped screen must see in training (the most common real-world shapes):
#: plain emails / pages / documents as benign results, the classic injection wrappers, the
#: core sensitive-result kinds. Everything else is hash-ranked.
PINNED_TRAIN = frozenset({
    "tool.bt.email", "tool.bt.email_list", "tool.bt.web_page", "tool.bt.document", "tool.bt.search_results",
    "tool.bt.code", "tool.bt.csv", "tool.bt.ok", "tool.bt.email_thread", "tool.bt.source_file", "tool.bt.table_mixed",
    "tool.bt.ref_table", "tool.bt.hn_hidden_markup",
    "tool.mt.hj.bare", "tool.mt.hj.please", "tool.mt.hj.question_bare",
    "tool.mt.w.ignore_previous", "tool.mt.w.important_message", "tool.mt.w.system_tag", "tool.mt.w.fake_user_turn",
    "tool.mt.w.fake_chatml", "tool.mt.w.note_to_ai",
    "tool.st.payment_request", "tool.st.medical_record", "tool.st.credentials_prompt",
    *(f"action.tool.{t}" for t in ("send_email", "transfer_money", "run_shell", "fetch_url", "share_file", "delete_file",
                                   "post_message", "execute_sql", "change_permissions", "update_iam_policy", "read_file",
                                   "web_search", "forward_email", "export_table")),
})
#: Families added after the hash ranking was fixed, placed by hand and left out of the ranking,
#: so that adding them moves no existing family to another split (the test split stays what the
#: shipped screen's card was measured on).
PLACED = ({f"tool.bt.{key}": "train" for key in outputs_people.KEYS + outputs_records.KEYS}
          | {f"tool.st.{key}": "train" for key in outputs_approvals.KEYS})
#: Tools held out on purpose so that every held-out split has calls of all three labels.
PINNED_HELDOUT = {"action.tool.post_to_social": "test", "action.tool.send_direct_message": "test",
                  "action.tool.cancel_booking": "test",
                  "action.tool.send_bulk_email": "validation"}


def group_of(family: str) -> str:
    return ".".join(family.split(".")[:2])


def _rank_key(family: str) -> str:
    return hashlib.sha1(f"guardagent-split-v1:{family}".encode()).hexdigest()


def assign(families: Iterable[str]) -> dict[str, str]:
    groups: dict[str, list[str]] = defaultdict(list)
    for fam in sorted(set(families) - PLACED.keys()):
        groups[group_of(fam)].append(fam)
    out: dict[str, str] = {}
    for fams in groups.values():
        fams = sorted(fams, key=_rank_key)
        n = len(fams)
        n_test = math.floor(n * TEST_FRACTION + 0.5)
        n_val = math.floor(n * VALIDATION_FRACTION + 0.5)
        if n >= 5:
            n_test, n_val = max(1, n_test), max(1, n_val)
        for i, fam in enumerate(fams):
            out[fam] = "test" if i < n_test else "validation" if i < n_test + n_val else "train"
    # a category (``...<category>.t<i>``) never loses all its phrasings to held-out splits
    cats: dict[str, list[str]] = defaultdict(list)
    for fam in out:
        head, _, last = fam.rpartition(".")
        if last[:1] == "t" and last[1:].isdigit():
            cats[head].append(fam)
    for members in cats.values():
        if len(members) > 1 and all(out[f] != "train" for f in members):
            out[max(members, key=_rank_key)] = "train"
    out.update((fam, PLACED[fam]) for fam in set(families) & PLACED.keys())
    for fam in out:
        if fam in PINNED_TRAIN:
            out[fam] = "train"
        elif fam in PINNED_HELDOUT:
            out[fam] = PINNED_HELDOUT[fam]
    return out


@lru_cache(maxsize=1)
def template_split_map() -> dict[str, str]:
    """Split of every template family the generators know (static)."""
    return assign(all_template_families())


def all_template_families() -> list[str]:
    from guardagent.training.corpus import user_goals as ug
    from guardagent.training.corpus import user_prompts as up
    from guardagent.training.corpus.actions import NON_SENSITIVE, SENSITIVE
    from guardagent.training.corpus.hijack import all_hijack_families, assist_families
    from guardagent.training.corpus.injections import HARD_NEGATIVES, all_wrappers
    from guardagent.training.corpus.injections_code import all_code_families
    from guardagent.training.corpus.outputs import APPROVAL_KINDS, CARRIERS, SENSITIVE_KINDS
    from guardagent.training.corpus.outputs_records import KEYS as RECORD_KEYS

    fams = [f.family for f in up.BENIGN + up.SENSITIVE + up.MALICIOUS]
    fams += [f"user.mu.{k}" for k, _t in up.JAILBREAKS]
    fams += [g.family for g in ug.ALL]
    fams += [c.family for c in CARRIERS] + [f"tool.bt.{k}" for k, _t in HARD_NEGATIVES]
    fams += [f"tool.bt.{k}" for k in RECORD_KEYS]
    fams += [k.family for k in SENSITIVE_KINDS + APPROVAL_KINDS]
    fams += [w.family for w in all_wrappers()]
    fams += all_hijack_families() + assist_families()
    fams += all_code_families()
    fams += [f"action.tool.{t}" for t in NON_SENSITIVE + SENSITIVE]
    return fams


def split_of(family: str, origin: str = "templates", extra: dict[str, str] | None = None) -> str:
    for prefix, split in HELDOUT_ORIGINS.items():
        if origin == prefix or origin.startswith(prefix + ":"):
            return split
    m = template_split_map()
    if family in m:
        return m[family]
    if extra and family in extra:
        return extra[family]
    raise KeyError(f"family {family!r} has no split")
