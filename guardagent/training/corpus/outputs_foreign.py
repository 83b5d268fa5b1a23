"""Other languages and quoted titles inside clean tool results.

Real tool results are not all English prose: a chart lists song titles in Danish, a festival
table gives a film's original Japanese title, an inbox holds a supplier's mail in Polish, and
half the titles anywhere are second-person phrases ("Say It Again", "Don't Wait for Me"). The
injections in the corpus include other-language instructions (``tool.mt.lang``) and quoted
imperatives addressed to the reader, so without clean counterparts the screen learns "foreign
words -> injection" and "a quoted imperative -> injection", and flags ordinary reference data.
This module supplies those counterparts: short foreign phrases, names and places from Faker's
per-locale word lists and name tables (seeded from the caller's RNG, so a seed reproduces the
text), paragraphs of real sentences from Django's translation catalogues, a grammar of English
titles and quotations, and greeting/sign-off lines written here. Nothing in it asks the reader
to do anything, and only the ``all`` mix addresses the reader at all.

Why paragraphs come from Django and not from Faker: Faker's ``paragraph()`` strings random
dictionary words together (and falls back to lorem ipsum for Portuguese), and word salad in an
unknown language is what a ROT13 or leetspeak payload looks like to an English-vocabulary
encoder. Trained with salad as clean text, the screen lost encoded injections (runs 28-30 in
docs/screen.md). Django ships the same few hundred messages (form errors, admin notices, time
phrases) translated by people into ~100 languages: grammatical sentences with the function words
and morphology that real correspondence has. Only declarative messages are kept (no placeholders,
no markup, nothing addressed to "you", nothing about passwords or log-ins, no leading imperative),
chosen by their English source text.

Opt-in (``guardagent corpus build --other-languages``): the generators that use it (reference
tables, e-mail threads, forum answers) only draw from it inside ``enabled(True)``, and draw
nothing extra otherwise, so the default corpus is unchanged row for row.
"""

from __future__ import annotations

import random
import re
from contextlib import AbstractContextManager
from functools import lru_cache
from pathlib import Path
from typing import Any

from guardagent.taxonomy import GuardError
from guardagent.training.corpus.switch import Switch

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


_CJK = ("ja_JP", "zh_CN", "zh_TW", "th_TH")  # no spaces between words, no capitals
_LOREM = ("pt_BR",)  # Faker has no Portuguese word list and falls back to lorem ipsum
#: What ``--other-languages`` may add: ``languages`` (foreign letters, names, titles, mottos) or
#: ``all`` (also imperative and second-person English titles, maxims and answer prose).
MIXES = ("languages", "all")
_SWITCH = Switch("other_languages", "")


def mix_of(option: bool | str | None) -> str:
    """The mix an ``other_languages`` option asks for: ``""`` (off: ``none``, ``False``), ``languages``
    or ``all`` (``True`` is ``all``, what the option meant before it had modes)."""
    if option is True:
        return "all"
    if not option or option == "none":
        return ""
    if option not in MIXES:
        raise GuardError(f"unknown other-languages mix {option!r}: expected one of {['none', *MIXES]}")
    return str(option)


def check_sources() -> None:
    """Fail before a build starts when Faker or Django's catalogues are missing."""
    _faker(LOCALES[0])
    if not sentences(LETTER_LOCALES[0]):
        raise GuardError(f"django's translation catalogue for {LETTER_LOCALES[0]} is empty or missing: reinstall "
                         "django (requirements/corpus-data.txt pins the version)")


def enabled(on: bool | str = True) -> AbstractContextManager[None]:
    """Within the block, clean results may carry other languages (and, with ``all``, second-person
    titles, maxims and answer prose)."""
    return _SWITCH.set(mix_of(on))


def active() -> bool:
    return bool(_SWITCH.get())


def second_person() -> bool:
    """Whether clean results may also carry imperative or second-person English prose."""
    return _SWITCH.get() == "all"


@lru_cache(maxsize=None)
def _faker(locale: str) -> Any:
    try:
        from faker import Faker
    except ImportError as exc:  # faker is in the [train] extra
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
    if loc in _LOREM:  # Faker would give lorem ipsum: take a span of a real sentence instead
        words = r.choice(sentences(loc)).rstrip(".").split()
        start = r.randrange(max(1, len(words) - lo + 1))
        return " ".join(words[start:start + r.randint(lo, hi)])
    text = fk.sentence(nb_words=r.randint(lo, hi), variable_nb_words=False).rstrip(".。")
    if loc not in _CJK and r.random() < 0.5:
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


#: Django's catalogue for each locale; Latin has none (its text stays in mottos and titles).
_DJANGO = {"fr_FR": "fr", "de_DE": "de", "es_ES": "es", "it_IT": "it", "pt_BR": "pt_BR", "nl_NL": "nl",
           "da_DK": "da", "pl_PL": "pl", "cs_CZ": "cs", "ru_RU": "ru", "uk_UA": "uk", "el_GR": "el", "ja_JP": "ja",
           "zh_CN": "zh_Hans", "zh_TW": "zh_Hant", "he_IL": "he", "hy_AM": "hy", "vi_VN": "vi", "th_TH": "th"}
#: Locales whose letters can be written in real sentences.
LETTER_LOCALES = tuple(loc for loc in LOCALES if loc in _DJANGO)
_IMPERATIVE = frozenset("""add change check choose click connect contact create delete ensure enter get go hold
    log make note please provide remove return run save see select set specify start try type unselect upload use
    view""".split())
_NOT_DECLARATIVE = re.compile(r"[%{<&]|password|log ?in|e-?mail|\byou|\bclick\b|\bplease\b|\bcsrf\b", re.I)


def _declarative(source: str) -> bool:
    """No placeholder, markup or second person, and no sentence of it opens with an imperative."""
    if len(source.split()) < 4 or _NOT_DECLARATIVE.search(source):
        return False
    openers = [part.split()[0].lower().strip("\"“(,") for part in re.split(r"[.:;!?]\s+", source) if part.split()]
    return not _IMPERATIVE.intersection(openers)


@lru_cache(maxsize=None)
def sentences(loc: str) -> tuple[str, ...]:
    """Declarative messages from Django's catalogues in ``loc``'s language, in a fixed order."""
    import gettext
    from importlib.util import find_spec

    code = _DJANGO.get(loc)
    if code is None:
        return ()
    spec = find_spec("django")
    if spec is None or not spec.submodule_search_locations:
        raise GuardError("--other-languages needs the django package for its translation catalogues "
                         "(in guardagent[train]; requirements/corpus-data.txt pins the version): pip install django")
    root = Path(list(spec.submodule_search_locations)[0])
    found: dict[str, str] = {}
    for mo in sorted(root.glob(f"**/locale/{code}/LC_MESSAGES/django.mo")):
        with mo.open("rb") as fh:
            catalog = gettext.GNUTranslations(fh)._catalog  # type: ignore[attr-defined]
        for key, text in catalog.items():
            source = key[0] if isinstance(key, tuple) else key
            if (isinstance(source, str) and isinstance(text, str) and text and text != source
                    and _declarative(source) and not re.search(r"[%{<&]", text)):
                found.setdefault(source, " ".join(text.split()))
    return tuple(found[k] for k in sorted(found))


def paragraph(r: random.Random, loc: str | None = None) -> str:
    """Two to five real sentences in ``loc``'s language (Faker's word list for Latin)."""
    loc = loc or r.choice(LETTER_LOCALES)
    pool = sentences(loc)
    if not pool:
        return _fk(r, loc)[0].paragraph(nb_sentences=r.randint(2, 5))
    picked = r.sample(pool, k=min(len(pool), r.randint(2, 5)))
    stop = {"ja_JP": "。", "zh_CN": "。", "zh_TW": "。", "th_TH": ""}.get(loc, ".")
    return " ".join(t if t[-1:] in ".!?。！？…։" else t + stop for t in picked)


def letter(r: random.Random, to: str, sender: str, loc: str | None = None) -> str:
    """A mail body in one language: greeting, one to three paragraphs, sign-off."""
    loc = loc or r.choice(LETTER_LOCALES)
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
_STATED_TITLES = [
    "I Will {v} {o} {t}", "I Can't {v} {o}", "Who Will {v} {o}?", "Where Do We Go", "We Are the {n}s",
    "All I Need Is {o}", "The {a} {n}", "{a} {n}", "Only {o}", "Nobody Knows but {o}", "{n} of the {a} {n}",
    "A {n} Called Home", "The Last {n} in {c}", "{a} {n}s", "She Said {t}", "Everybody Knows",
]
#: Titles that address someone or tell them to do something (only with the ``all`` mix).
_ADDRESSED_TITLES = [
    "{v} {o} {t}", "Don't {v} {o} {t}", "Never {v} {o} {t}", "Please {v} {o}", "Just {v} {o} {t}",
    "You {v}s {o}", "If You {v} {o}", "Why Did You {v} {o}?", "Let It {v2}", "Come Back to {o}", "Look at {o}",
]
_STATED_QUOTES = [
    "I have always believed that every {n2} deserves a {a2} {n3}.",
    "The best way to {v3} is to {v4}.",
    "I came, I saw, I {v5}.",
    "A {n2} without a {n3} is a {n2} without a future.",
    "Every {a2} {n2} was once a {n2} that refused to give up.",
    "There is no {n3} so small that it cannot change a {n2}.",
    "We are what we repeatedly do; to {v3} is a habit, not an act.",
    "The {n2} that learns to {v3} will never stop learning to {v4}.",
]
_ADDRESSED_QUOTES = [
    "You cannot {v3} without first learning to {v4}.",
    "If you want to {v3}, {v4} first.",
    "Ask not what the {n2} can do for you; ask what you can do for the {n2}.",
    "Never doubt that a small group of {a2} people can change the {n2}.",
    "Do what you can, with what you have, where you are.",
    "Give me a {n3} and I will {v3}.",
    "Remember that the {n2} belongs to those who {v3}.",
]
_N2 = ["child", "city", "nation", "worker", "student", "world", "reader", "citizen", "family", "village"]
_A2 = ["good", "free", "decent", "thoughtful", "honest", "patient", "curious", "quiet"]
_N3 = ["education", "home", "library", "school", "chance", "voice", "place to stand", "harbour", "garden"]
_V3 = ["lead", "learn", "teach", "win", "rest", "listen", "begin", "find peace", "study anything", "be heard"]
_V5 = ["stayed", "learned", "wrote it down", "built", "listened"]


def english_title(r: random.Random) -> str:
    """A song, film or book title; with the ``all`` mix many are second-person or imperative, as
    real titles are."""
    forms = _STATED_TITLES + _ADDRESSED_TITLES if second_person() else _STATED_TITLES
    t = r.choice(forms).format(v=r.choice(_VERB), o=r.choice(_OBJ), t=r.choice(_TAIL), n=r.choice(_NOUN),
                               a=r.choice(_ADJ), v2=r.choice(["Be", "Go", "Burn", "Rain", "Shine", "Grow"]),
                               c=r.choice(["Town", "Paris", "the City", "Berlin", "the Valley", "Tokyo"]))
    return " ".join(t.split())


def quotation(r: random.Random) -> str:
    """A maxim or a speech line, as quotation tables and mottos carry them."""
    v3, v4 = r.sample(_V3, 2)
    forms = _STATED_QUOTES + _ADDRESSED_QUOTES if second_person() else _STATED_QUOTES
    return r.choice(forms).format(n2=r.choice(_N2), a2=r.choice(_A2),
                                         n3=r.choice(_N3), v3=v3, v4=v4, v5=r.choice(_V5))


def any_title(r: random.Random, loc: str | None = None, foreign: float = 0.35) -> str:
    """A title, in English or (with probability ``foreign``) in ``loc``'s language."""
    return phrase(r, loc) if r.random() < foreign else english_title(r)
