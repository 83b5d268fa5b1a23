"""Clean tool results about people: address books, staff directories, team rosters.

Why: the corpus's sensitive results include tables of personal data (salaries, card numbers,
SSNs), and until these carriers the train split held no clean list of names, e-mail addresses
and phone numbers (the one such family, ``tool.bt.contacts``, is hash-ranked into validation).
Nothing taught the screen where that line lies, so a retrain could score a plain address book as
``sensitive`` and calibration, which must pass it, followed the seed (docs/screen.md, runs
38-39). These results carry contact details a directory lookup legitimately returns, and
nothing that asks for an action or holds secrets.

Opt-in (``guardagent corpus build --people-data``): the shipped screen's corpus was built without
them, and its rebuild command must keep reproducing it.
"""

from __future__ import annotations

import json
import random
import unicodedata
from contextlib import AbstractContextManager

from guardagent.training.corpus.slots import SlotDict
from guardagent.training.corpus.switch import Switch

#: The carrier keys this module adds (``tool.bt.<key>``): opt-in, and placed in train by hand.
KEYS = ("address_book", "staff_directory", "team_roster")

_SWITCH = Switch("people_data", False)


def enabled(on: bool = True) -> AbstractContextManager[None]:
    """Within the block, the people-data carriers take part in the build."""
    return _SWITCH.set(bool(on))


def active() -> bool:
    return _SWITCH.get()


_ROLES = ("owner", "editor", "viewer", "member", "admin")
_STATUS = ("accepted", "tentative", "declined", "no response")
_PRONOUNS = ("she/her", "he/him", "they/them", "")


def _address(name: str, domain: str) -> str:
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower().replace("'", "")
    return ".".join(plain.split()) + "@" + domain


def _person(r: random.Random) -> dict[str, str]:
    s = SlotDict(r)
    return {"name": s["name"], "email": _address(s["name"], s["domain_co"]), "phone": s["phone"], "title": s["job"],
            "department": s["department"], "office": s["city"], "company": s["company"]}


def _people(r: random.Random, lo: int = 3, hi: int = 12) -> list[dict[str, str]]:
    return [_person(r) for _ in range(r.randint(lo, hi))]


def address_book(r: random.Random, s: SlotDict) -> str:
    """An address-book export: vCards, a CSV, or a plain listing."""
    people = _people(r)
    shape = r.randrange(3)
    if shape == 0:
        return "\n".join(f"BEGIN:VCARD\nVERSION:3.0\nFN:{p['name']}\nORG:{p['company']}\nTEL;TYPE=work:{p['phone']}\n"
                         f"EMAIL:{p['email']}\nEND:VCARD" for p in people)
    if shape == 1:
        return "name,email,phone,company\n" + "\n".join(f"{p['name']},{p['email']},{p['phone']},{p['company']}" for p in people)
    return f"{len(people)} contacts matching '{s['first']}':\n" + "\n".join(
        f"- {p['name']} ({p['company']}) · {p['email']} · {p['phone']}" for p in people)


def staff_directory(r: random.Random, s: SlotDict) -> str:
    """A company directory lookup: JSON records or a fixed-width table."""
    people = _people(r, 2, 10)
    if r.random() < 0.5:
        rows = [{"name": p["name"], "title": p["title"], "department": p["department"], "office": p["office"],
                 "email": p["email"], "extension": str(r.randint(1000, 9999)), "pronouns": r.choice(_PRONOUNS),
                 "manager": SlotDict(r)["name"]} for p in people]
        return json.dumps({"query": s["department"], "total": len(rows), "results": rows}, ensure_ascii=False)
    head = f"{'Name':<24}{'Title':<28}{'Office':<14}Phone"
    return "\n".join([head, "-" * len(head)] + [f"{p['name']:<24}{p['title'][:27]:<28}{p['office'][:13]:<14}{p['phone']}"
                                                for p in people])


def team_roster(r: random.Random, s: SlotDict) -> str:
    """Members of a team, a shared workspace or a meeting, with their roles or replies."""
    people = _people(r, 3, 9)
    shape = r.randrange(3)
    if shape == 0:
        return json.dumps({"workspace": s["project"], "members": [
            {"name": p["name"], "email": p["email"], "role": r.choice(_ROLES), "joined": SlotDict(r)["iso_date"]} for p in people]},
            ensure_ascii=False)
    if shape == 1:
        return (f"Attendees for '{s['project']} review' on {s['date']} at {s['time']}:\n"
                + "\n".join(f"  {p['name']} <{p['email']}> — {r.choice(_STATUS)}" for p in people))
    lines = [f"On-call rota, {s['service']} ({s['month']})"]
    for p in people:
        lines.append(f"{SlotDict(r)['weekday']}: {p['name']}, {p['phone']} (backup: {SlotDict(r)['name']})")
    return "\n".join(lines)
