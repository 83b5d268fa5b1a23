"""Other languages and quoted titles inside clean tool results.

Real tool results are not all English prose: a chart lists song titles in Danish, a festival
table gives a film's original Japanese title, an inbox holds a supplier's mail in Polish, and
half the titles anywhere are second-person phrases ("Say It Again", "Don't Wait for Me"). The
injections in the corpus include other-language instructions (``tool.mt.lang``) and quoted
imperatives addressed to the reader, so without clean counterparts the screen learns "foreign
words -> injection" and "a quoted imperative -> injection", and flags ordinary reference data.
This module supplies those counterparts: foreign phrases, names, places and paragraphs drawn
from Faker's per-locale word lists and name tables (seeded from the caller's RNG, so a seed
reproduces the text), a grammar of English titles and quotations, and greeting/sign-off lines
written here. Nothing in it asks the reader to do anything.

Opt-in (``guardagent corpus build --other-languages``): the generators that use it (reference
tables, e-mail threads, forum answers) only draw from it inside ``enabled(True)``, and draw
nothing extra otherwise, so the default corpus is unchanged row for row.
"""

from __future__ import annotations

import random
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from typing import Any, Iterator

#: Faker locales with their own word lists (lorem) and, except Latin, their own names/places.
LOCALES = ("fr_FR", "de_DE", "es_ES", "it_IT", "pt_BR", "nl_NL", "da_DK", "pl_PL", "cs_CZ", "ru_RU", "uk_UA",
           "el_GR", "ja_JP", "zh_CN", "zh_TW", "he_IL", "hy_AM", "vi_VN", "th_TH", "la")
LANGUAGE = {"fr_FR": "French", "de_DE": "German", "es_ES": "Spanish", "it_IT": "Italian", "pt_BR": "Portuguese",
            "nl_NL": "Dutch", "da_DK": "Danish", "pl_PL": "Polish", "cs_CZ": "Czech", "ru_RU": "Russian",
            "uk_UA": "Ukrainian", "el_GR": "Greek", "ja_JP": "Japanese", "zh_CN": "Chinese", "zh_TW": "Chinese",
            "he_IL": "Hebrew", "hy_AM": "Armenian", "vi_VN": "Vietnamese", "th_TH": "Thai", "la": "Latin"}
COUNTRY = {"fr_FR": "France", "de_DE": "Germany", "es_ES": "Spain", "it_IT": "Italy", "pt_BR": "Brazil",
           "nl_NL": "Netherlands", "da_DK": "Denmark", "pl_PL": "Poland", "cs_CZ": "Czechia", "ru_RU": "Russia",
           "uk_UA": "Ukraine", "el_GR": "Greece", "ja_JP": "Japan", "zh_CN": "China", "zh_TW": "Taiwan",
           "he_IL": "Israel", "hy_AM": "Armenia", "vi_VN": "Vietnam", "th_TH": "Thailand", "la": "Vatican City"}
# Everyday openings and closings of a mail, per language (written here).
_GREET = {"fr_FR": ("Bonjour {n},", "Cordialement,"), "de_DE": ("Hallo {n},", "Viele Grüße,"),
          "es_ES": ("Hola {n}:", "Un saludo,"), "it_IT": ("Ciao {n},", "A presto,"),
          "pt_BR": ("Olá {n},", "Abraços,"), "nl_NL": ("Beste {n},", "Met vriendelijke groet,"),
          "da_DK": ("Hej {n},", "Venlig hilsen,"), "pl_PL": ("Dzień dobry {n},", "Pozdrawiam,"),
          "cs_CZ": ("Dobrý den {n},", "S pozdravem,"), "ru_RU": ("Здравствуйте, {n}!", "С уважением,"),
          "uk_UA": ("Добрий день, {n}!", "З повагою,"), "el_GR": ("Γεια σας {n},", "Με εκτίμηση,"),
          "ja_JP": ("{n}様", "よろしくお願いいたします。"), "zh_CN": ("{n}，您好：", "此致"),
          "zh_TW": ("{n}您好：", "敬祝 順心"), "he_IL": ("שלום {n},", "בברכה,"),
          "hy_AM": ("Բարև {n},", "Հարգանքով,"), "vi_VN": ("Chào {n},", "Trân trọng,"),
          "th_TH": ("สวัสดีค่ะ คุณ{n}", "ขอแสดงความนับถือ"), "la": ("Salve {n},", "Vale,")}


_ACTIVE: ContextVar[bool] = ContextVar("guardagent_corpus_other_languages", default=False)


@contextmanager
def enabled(on: bool = True) -> Iterator[None]:
    """Within the block, clean results may carry other languages, quoted titles and answer prose."""
    token = _ACTIVE.set(on)
    try:
        yield
    finally:
        _ACTIVE.reset(token)


def active() -> bool:
    return _ACTIVE.get()


@lru_cache(maxsize=None)
def _faker(locale: str) -> Any:
    try:
        from faker import Faker
    except ImportError as exc:  # faker is in the [train] extra
        from guardagent.taxonomy import GuardError

        raise GuardError("--other-languages needs the faker package (in guardagent[train]; "
                         "requirements/corpus-data.txt pins the version): pip install faker") from exc
    return Faker(locale)


def _fk(r: random.Random, locale: str | None = None) -> tuple[Any, str]:
    """A Faker for ``locale`` (or a random one), reseeded from ``r`` so the draw is reproducible."""
    loc = locale or r.choice(LOCALES)
    fk = _faker(loc)
    fk.seed_instance(r.getrandbits(32))
    return fk, loc


def locale(r: random.Random) -> str:
    return r.choice(LOCALES)


def phrase(r: random.Random, loc: str | None = None, lo: int = 2, hi: int = 5) -> str:
    """A short phrase in ``loc``'s words (a title, a motto, a product line)."""
    fk, loc = _fk(r, loc)
    text = fk.sentence(nb_words=r.randint(lo, hi), variable_nb_words=False).rstrip(".。")
    if loc not in ("ja_JP", "zh_CN", "zh_TW", "th_TH") and r.random() < 0.5:
        text = " ".join(w[:1].upper() + w[1:] for w in text.split())
    return text


def _with_people(loc: str | None) -> str | None:
    """Latin has words but no people or places of its own; borrow Italy's."""
    return "it_IT" if loc == "la" else loc


def person(r: random.Random, loc: str | None = None) -> str:
    return _fk(r, _with_people(loc))[0].name()


@lru_cache(maxsize=None)
def _city_table(locale: str) -> tuple[str, ...]:
    """A locale's city list in a fixed order (some Faker locales build theirs from a set, whose
    order changes with the process's hash seed); empty when the locale composes city names."""
    for provider in _faker(locale).providers:
        cities = getattr(provider, "cities", None)
        if isinstance(cities, (list, tuple, set, frozenset)) and cities:
            return tuple(sorted(cities))
    return ()


def place(r: random.Random, loc: str | None = None) -> str:
    fk, loc = _fk(r, _with_people(loc))
    table = _city_table(loc)
    return r.choice(table) if table else fk.city()


def paragraph(r: random.Random, loc: str | None = None) -> str:
    fk, loc = _fk(r, loc)
    return fk.paragraph(nb_sentences=r.randint(2, 5))


def letter(r: random.Random, to: str, sender: str, loc: str | None = None) -> str:
    """A mail body in one language: greeting, one to three paragraphs, sign-off."""
    loc = loc or r.choice(LOCALES)
    greet, close = _GREET[loc]
    paras = [paragraph(r, loc) for _ in range(r.randint(1, 3))]
    return "\n\n".join([greet.format(n=to), *paras, f"{close}\n{sender}"])


# ------------------------------------------------------------------ English titles and quotations
_VERB = ["Say", "Tell", "Take", "Hold", "Leave", "Give", "Show", "Bring", "Let", "Call", "Save", "Follow", "Forget",
         "Remember", "Wait for", "Find", "Kiss", "Trust", "Hear", "Meet", "Carry", "Keep", "Teach", "Send", "Love"]
_OBJ = ["Me", "You", "Us", "Them", "Her", "Him", "It All", "the Night", "My Heart", "the Light", "the Children",
        "Your Name", "the Rain", "Nothing", "Everything", "the Stars", "This Town", "a Little Longer"]
_TAIL = ["", "", "Home", "Tonight", "Again", "Back", "Away", "Forever", "Now", "One More Time", "Like You Do",
         "in the Rain", "Before I Go", "to the River", "When It's Over", "Down Easy", "Anyway"]
_NOUN = ["Night", "River", "Fire", "Road", "Summer", "Heart", "City", "Ocean", "Garden", "Machine", "Dream", "Storm",
         "Mirror", "Window", "Letter", "Shadow", "Season", "Island"]
_ADJ = ["Lonely", "Golden", "Quiet", "Electric", "Broken", "Endless", "Crazy", "Beautiful", "Last", "Empty", "Silver"]
_TITLE_FORMS = [
    "{v} {o} {t}", "Don't {v} {o} {t}", "Never {v} {o} {t}", "Please {v} {o}", "Just {v} {o} {t}",
    "I Will {v} {o} {t}", "I Can't {v} {o}", "You {v}s {o}", "If You {v} {o}", "Why Did You {v} {o}?",
    "Who Will {v} {o}?", "Where Do We Go", "We Are the {n}s", "All I Need Is {o}", "Let It {v2}",
    "The {a} {n}", "{a} {n}", "Only {o}", "Nobody Knows but {o}", "Come Back to {o}", "Look at {o}",
]
_QUOTE_FORMS = [
    "I have always believed that every {n2} deserves a {a2} {n3}.",
    "You cannot {v3} without first learning to {v4}.",
    "If you want to {v3}, {v4} first.",
    "Ask not what the {n2} can do for you; ask what you can do for the {n2}.",
    "Never doubt that a small group of {a2} people can change the {n2}.",
    "The best way to {v3} is to {v4}.",
    "Do what you can, with what you have, where you are.",
    "I came, I saw, I {v5}.",
    "Give me a {n3} and I will {v3}.",
    "Remember that the {n2} belongs to those who {v3}.",
]
_N2 = ["child", "city", "nation", "worker", "student", "world", "reader", "citizen", "family", "village"]
_A2 = ["good", "free", "decent", "thoughtful", "honest", "patient", "curious", "quiet"]
_N3 = ["education", "home", "library", "school", "chance", "voice", "place to stand", "harbour", "garden"]
_V3 = ["lead", "learn", "teach", "win", "rest", "listen", "begin", "find peace", "study anything", "be heard"]
_V5 = ["stayed", "learned", "wrote it down", "built", "listened"]


def english_title(r: random.Random) -> str:
    """A song, film or book title; many are second-person or imperative, as real titles are."""
    t = r.choice(_TITLE_FORMS).format(v=r.choice(_VERB), o=r.choice(_OBJ), t=r.choice(_TAIL), n=r.choice(_NOUN),
                                      a=r.choice(_ADJ), v2=r.choice(["Be", "Go", "Burn", "Rain", "Shine", "Grow"]))
    return " ".join(t.split())


def quotation(r: random.Random) -> str:
    """A maxim or a speech line, as quotation tables and mottos carry them."""
    v3, v4 = r.sample(_V3, 2)
    return r.choice(_QUOTE_FORMS).format(n2=r.choice(_N2), a2=r.choice(_A2),
                                         n3=r.choice(_N3), v3=v3, v4=v4, v5=r.choice(_V5))


def any_title(r: random.Random, loc: str | None = None, foreign: float = 0.35) -> str:
    """A title, in English or (with probability ``foreign``) in ``loc``'s language."""
    return phrase(r, loc) if r.random() < foreign else english_title(r)
