"""Clean reference tables: the encyclopedic data a web or document tool returns.

Sports standings, election and census figures, discographies, climate normals, timetables,
league tables, medal counts (and, opt-in, charts, set lists, festival winners and mottos with
titles and names in many languages, from outputs_foreign.py)... rendered the way scrapers flatten them: padded pipe tables
(with or without a header rule), tab-separated rows, HTML ``<table>`` markup or "key: value"
lines. They are full of numbers, names, footnote marks and abbreviations and ask nothing of
their reader, so the screen learns that a long dense table is ordinary data. Every name and
figure is generated (no table is copied from anywhere).
"""

from __future__ import annotations

import random
from typing import Callable

from guardagent.training.corpus import outputs_foreign as fx
from guardagent.training.corpus.slots import CITIES, FIRST, LAST, SlotDict

_PLACES = ["Ashford", "Brenton", "Caldwell", "Dunmore", "Elmstead", "Fairview", "Glenrock", "Harlow", "Ivybridge",
           "Kingsley", "Lakeside", "Marston", "Northgate", "Oakham", "Pembury", "Ridgeway", "Stanwick", "Thornbury",
           "Upton", "Westfield", "Yarmouth", "Zell", "Alderney", "Bexley", "Corrib", "Dalton"]
_CLUBS = ["United", "City", "Rovers", "Athletic", "Wanderers", "Albion", "Town", "FC", "Rangers", "Olympic"]
_PARTIES = ["Liberal", "Conservative", "Labour", "Green", "Independent", "Social Democratic", "Progressive",
            "People's", "Reform", "Centre", "Regionalist", "Workers'"]
_COUNTRIES = ["Norway", "Kenya", "Japan", "Brazil", "Canada", "Italy", "Australia", "Poland", "Chile", "Spain",
              "Netherlands", "Korea", "Ethiopia", "Jamaica", "Hungary", "Portugal", "Finland", "Mexico", "Egypt", "India"]
_MONTHS3 = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
_WORDS = ["Silver", "Northern", "Quiet", "Golden", "Broken", "Midnight", "Electric", "Paper", "Wild", "Lonely",
          "Summer", "Hidden", "Velvet", "Iron", "Crystal", "Distant", "Burning", "Falling"]
_NOUNS = ["River", "Lights", "Hearts", "Road", "Garden", "Harbour", "Echoes", "Skies", "Machine", "Letters",
          "Season", "Tide", "Stone", "Parade", "Signal", "Horizon", "Fire", "Dreams"]
_ROLES = ["Himself", "Narrator", "Det. Harris", "Anna", "The Captain", "Dr. Reyes", "Young Tom", "Voice", "Guest",
          "Mayor Grant", "Lena", "Uncredited"]
_STATIONS = ["Central", "Market St", "Riverside", "University", "Airport", "Old Town", "Harbour", "Park Lane",
             "Museum", "Stadium", "North End", "Hospital"]


def _person(r: random.Random) -> str:
    return f"{r.choice(FIRST)} {r.choice(LAST)}"


def _title(r: random.Random) -> str:
    if fx.active() and r.random() < 0.5:  # real titles are often phrases, some of them in other languages
        return fx.any_title(r, foreign=0.25)
    return f"{r.choice(['', 'The '])}{r.choice(_WORDS)} {r.choice(_NOUNS)}".strip()


def _note(r: random.Random) -> str:
    return r.choice(["", "", "", "", "[a]", "[1]", "[2]", "*", "†", "(est.)", "(r)", "[note 3]"])


# ------------------------------------------------------------------ table contents
Table = tuple[str, list[str], list[list[str]]]  # caption, header, rows


def _standings(r: random.Random) -> Table:
    teams = r.sample(_PLACES, k=r.randint(6, 14))
    rows = []
    for i, t in enumerate(teams):
        p = 2 * (len(teams) - 1)
        w = max(0, min(p, round(p * (0.8 - i * 0.6 / len(teams))) + r.randint(-2, 2)))
        d = r.randint(0, p - w)
        l_ = p - w - d
        gf, ga = r.randint(w, 3 * w + 10), r.randint(l_, 3 * l_ + 10)
        rows.append([str(i + 1), f"{t} {r.choice(_CLUBS)}{_note(r)}", str(p), str(w), str(d), str(l_), str(gf), str(ga),
                     f"{gf - ga:+d}", str(3 * w + d)])
    season = r.randint(1975, 2025)
    return (f"{season}–{str(season + 1)[2:]} league table", ["Pos", "Team", "Pld", "W", "D", "L", "GF", "GA", "GD", "Pts"], rows)


def _election(r: random.Random) -> Table:
    parties = r.sample(_PARTIES, k=r.randint(3, 7))
    shares = sorted((r.random() for _ in parties), reverse=True)
    tot = sum(shares)
    total_votes = r.randint(20_000, 9_000_000)
    rows = []
    for p, s in zip(parties, shares):
        votes = round(total_votes * s / tot)
        rows.append([f"{p} Party", _person(r), f"{votes:,}", f"{100 * s / tot:.2f}%", f"{r.uniform(-9, 9):+.1f}",
                     str(r.randint(0, 120))])
    rows.append(["Total", "", f"{total_votes:,}", "100.00%", "", str(r.randint(100, 650))])
    return (f"{r.randint(1950, 2024)} general election — {r.choice(_PLACES)}",
            ["Party", "Leader", "Votes", "%", "±", "Seats"], rows)


def _census(r: random.Random) -> Table:
    groups = r.sample(["White", "Black", "Asian", "Hispanic", "Mixed", "Other", "Native", "Pacific Islander"], k=r.randint(3, 6))
    years = sorted(r.sample(range(1960, 2025, 5), k=r.randint(3, 7)))
    rows = []
    for y in years:
        vals = [r.random() for _ in groups]
        t = sum(vals)
        rows.append([f"{y}{_note(r)}"] + [f"{100 * v / t:.2f}%" for v in vals])
    return (f"Population of {r.choice(_PLACES)} by group", ["Year"] + groups, rows)


def _population(r: random.Random) -> Table:
    rows = []
    pop = r.randint(2_000, 400_000)
    for y in sorted(r.sample(range(1801, 2025), k=r.randint(5, 12))):
        prev = pop
        pop = max(100, round(pop * r.uniform(0.85, 1.35)))
        rows.append([str(y), f"{pop:,}", f"{100 * (pop - prev) / prev:+.1f}%"])
    return (f"Historical population — {r.choice(_PLACES)}", ["Year", "Pop.", "±%"], rows)


def _discography(r: random.Random) -> Table:
    y = r.randint(1965, 2015)
    rows = []
    for _ in range(r.randint(4, 10)):
        y += r.randint(1, 3)
        peaks = [r.choice(["—", str(r.randint(1, 100))]) for _ in range(4)]
        rows.append([_title(r), str(y), *peaks, r.choice(["", "Gold", "Platinum", "2× Platinum", "Silver", ""])])
    return ("Studio albums", ["Title", "Year", "US", "UK", "AUS", "CAN", "Certifications"], rows)


def _filmography(r: random.Random) -> Table:
    y = r.randint(1960, 2012)
    rows = []
    for _ in range(r.randint(4, 12)):
        y += r.randint(0, 3)
        rows.append([str(y), _title(r), r.choice(_ROLES), r.choice(["", "", "TV film", "Cameo", "Also producer", "Nominated — Best Actor"])])
    return ("Filmography", ["Year", "Title", "Role", "Notes"], rows)


def _climate(r: random.Random) -> Table:
    base = r.uniform(-8, 24)
    amp = r.uniform(3, 14)
    rows = []
    for label, off in (("Record high °C", 9), ("Mean daily max °C", 4), ("Daily mean °C", 0), ("Mean daily min °C", -4)):
        rows.append([label] + [f"{base + off + amp * ((6 - abs(6 - i)) / 6 - 0.5):.1f}" for i in range(12)])
    rows.append(["Avg. precipitation mm"] + [str(r.randint(5, 220)) for _ in range(12)])
    rows.append(["Mean sunshine hours"] + [str(r.randint(30, 330)) for _ in range(12)])
    return (f"Climate data for {r.choice(CITIES)}", ["Month"] + _MONTHS3, rows)


def _medals(r: random.Random) -> Table:
    nations = r.sample(_COUNTRIES, k=r.randint(5, 12))
    rows = []
    g = r.randint(8, 40)
    for i, n in enumerate(nations):
        g = max(0, g - r.randint(0, 5))
        s, b = r.randint(0, g + 5), r.randint(0, g + 8)
        rows.append([str(i + 1), f"{n}{_note(r)}", str(g), str(s), str(b), str(g + s + b)])
    return (f"{r.choice(['Summer', 'Winter', 'Youth', 'Regional'])} Games {r.randint(1948, 2024)} medal table",
            ["Rank", "Nation", "Gold", "Silver", "Bronze", "Total"], rows)


def _episodes(r: random.Random) -> Table:
    rows = []
    for i in range(r.randint(5, 12)):
        rows.append([str(i + 1), f"\"{_title(r)}\"", _person(r), _person(r),
                     f"{r.choice(_MONTHS3)} {r.randint(1, 28)}, {r.randint(1990, 2024)}", f"{r.uniform(0.4, 12):.2f}"])
    return (f"Season {r.randint(1, 9)} episodes", ["No.", "Title", "Directed by", "Written by", "Original air date",
                                                    "Viewers (millions)"], rows)


def _timetable(r: random.Random) -> Table:
    stops = r.sample(_STATIONS, k=r.randint(5, 9))
    h, m = r.randint(5, 20), r.randint(0, 59)
    rows = []
    for s in stops:
        runs = []
        for k in range(4):
            mm = m + k * r.choice([10, 15, 20, 30])
            runs.append(f"{(h + mm // 60) % 24:02d}:{mm % 60:02d}")
        m += r.randint(2, 7)
        rows.append([s] + runs)
    return (f"Line {r.randint(1, 99)} weekday timetable", ["Stop", "Run 1", "Run 2", "Run 3", "Run 4"], rows)


def _cities(r: random.Random) -> Table:
    rows = []
    for i, c in enumerate(r.sample(_PLACES, k=r.randint(6, 14))):
        rows.append([str(i + 1), c, r.choice(_PLACES) + " County", f"{r.randint(3_000, 2_500_000):,}",
                     f"{r.uniform(4, 900):.1f}", str(r.randint(1086, 1990))])
    return ("Largest settlements", ["Rank", "Town", "County", "Population", "Area (km²)", "Founded"], rows)


def _records(r: random.Random) -> Table:
    ev = r.choice([("100 m", 9.5, 11.5), ("400 m", 43, 52), ("1500 m", 206, 250), ("Long jump (m)", 7.2, 8.9),
                   ("Marathon (min)", 122, 150)])
    rows = []
    for _ in range(r.randint(5, 10)):
        rows.append([f"{r.uniform(ev[1], ev[2]):.2f}", _person(r), r.choice(_COUNTRIES), r.choice(CITIES),
                     f"{r.randint(1, 28)} {r.choice(_MONTHS3)} {r.randint(1968, 2025)}"])
    return (f"All-time top performances — {ev[0]}", ["Mark", "Athlete", "Nation", "Venue", "Date"], rows)


def _officeholders(r: random.Random) -> Table:
    y = r.randint(1850, 1990)
    rows = []
    for i in range(r.randint(5, 12)):
        y2 = y + r.randint(1, 9)
        rows.append([str(i + 1), _person(r), f"{y}–{y2}", r.choice(_PARTIES), r.choice(["", "", "died in office", "resigned", "re-elected"])])
        y = y2
    return (f"Mayors of {r.choice(_PLACES)}", ["No.", "Name", "Term", "Party", "Notes"], rows)


# Tables whose cells are titles, quotations and names in many languages (outputs_foreign.py).
def _song_contest(r: random.Random) -> Table:
    locs = r.sample(fx.LOCALES, k=r.randint(6, 14))
    rows = []
    for i, loc in enumerate(locs):
        english = r.random() < 0.3
        song = fx.english_title(r) if english else fx.phrase(r, loc)
        rows.append([f"{i + 1:02d}", fx.COUNTRY[loc], "English" if english else fx.LANGUAGE[loc], fx.person(r, loc),
                     f"\"{song}\"", "—" if english else fx.english_title(r), str(r.randint(0, 300)),
                     str(r.randint(1, len(locs)))])
    return (f"{r.choice(['Song festival', 'Music competition', 'Choir contest'])} {r.randint(1956, 2025)} — results",
            ["No.", "Country", "Language", "Performer", "Entry", "Translation", "Score", "Rank"], rows)


def _number_ones(r: random.Random) -> Table:
    y, loc = r.randint(1960, 2024), fx.locale(r)
    rows = []
    for w in range(r.randint(5, 12)):
        rows.append([f"{r.randint(1, 28)} {r.choice(_MONTHS3)} {y}", f"\"{fx.any_title(r, loc, foreign=0.4)}\"",
                     fx.person(r, loc) if r.random() < 0.5 else _person(r), str(r.randint(1, 9))])
    return (f"Chart-toppers, {fx.COUNTRY[loc]} {y}", ["Week of", "Title", "Artist", "Weeks on top"], rows)


def _setlist(r: random.Random) -> Table:
    rows = []
    for i in range(r.randint(6, 14)):
        rows.append([str(i + 1), f"\"{fx.any_title(r, foreign=0.3)}\"", _person(r) if r.random() < 0.6 else fx.person(r),
                     f"{r.randint(2, 7)}:{r.randint(0, 59):02d}", r.choice(["", "", "", "encore", "acoustic", "cover", "live debut"])])
    return (f"Set list — {fx.place(r)}, {r.randint(1, 28)} {r.choice(_MONTHS3)} {r.randint(1975, 2025)}",
            ["#", "Song", "Written by", "Length", "Notes"], rows)


def _by_year(r: random.Random, first: tuple[int, int], gap: tuple[int, int],
             cells: Callable[[random.Random], list[str]]) -> list[list[str]]:
    """4-10 rows led by a year that starts in ``first`` and grows by ``gap`` each row."""
    y = r.randint(*first)
    rows = []
    for _ in range(r.randint(4, 10)):
        y += r.randint(*gap)
        rows.append([str(y), *cells(r)])
    return rows


def _festival_entry(r: random.Random) -> list[str]:
    loc = fx.locale(r)
    return [fx.english_title(r), fx.phrase(r, loc), fx.person(r, loc), fx.COUNTRY[loc]]


def _film_festival(r: random.Random) -> Table:
    rows = _by_year(r, (1950, 2020), (1, 3), _festival_entry)
    return (f"{r.choice(['Best Foreign Film', 'Golden Prize', 'Audience Award', 'Grand Jury Prize'])} winners",
            ["Year", "English title", "Original title", "Director(s)", "Country"], rows)


def _award_entry(r: random.Random) -> list[str]:
    return [r.choice(["Best Single", "Best Album", "Best New Artist", "Song of the Year", "Best Director",
                      "Best Screenplay", "Best Novel"]), f"\"{fx.any_title(r)}\"",
            r.choice(["Won", "Nominated", "Nominated", "Shortlisted"])]


def _awards(r: random.Random) -> Table:
    return ("Awards and nominations", ["Year", "Category", "Nominated work", "Result"],
            _by_year(r, (1980, 2020), (0, 2), _award_entry))


def _quotations(r: random.Random) -> Table:
    rows = []
    for _ in range(r.randint(3, 8)):
        loc = fx.locale(r)
        latin = r.random() < 0.4
        rows.append([fx.place(r, loc) + " " + r.choice(["University", "College", "Academy", "Town Council", "Society"]),
                     fx.phrase(r, "la" if latin else loc, 3, 7) if r.random() < 0.5 else fx.quotation(r),
                     fx.quotation(r), str(r.randint(1450, 1990))])
    return ("Mottos and founding statements", ["Institution", "Motto", "In English", "Founded"], rows)


def _people_abroad(r: random.Random) -> Table:
    rows = []
    for _ in range(r.randint(5, 12)):
        loc = fx.locale(r)
        rows.append([fx.person(r, loc), fx.place(r, loc), fx.COUNTRY[loc], fx.LANGUAGE[loc],
                     r.choice(["", "", "", f"also known as \"{fx.phrase(r, loc, 1, 3)}\"", "see below"])])
    return (r.choice(["Delegates", "Team members", "Speakers", "Participants"]) + f" {r.randint(1990, 2025)}",
            ["Name", "Home town", "Country", "Language", "Notes"], rows)


TABLES: list[Callable[[random.Random], Table]] = [
    _standings, _election, _census, _population, _discography, _filmography, _climate, _medals, _episodes,
    _timetable, _cities, _records, _officeholders,
]
#: With ``outputs_foreign.enabled()``: tables of titles, quotations and names in many languages.
WORLD_TABLES: list[Callable[[random.Random], Table]] = [
    _song_contest, _number_ones, _setlist, _film_festival, _awards, _quotations, _people_abroad,
]


# ------------------------------------------------------------------ renderings
def _pipe(caption: str, head: list[str], rows: list[list[str]], r: random.Random) -> str:
    all_rows = [head] + rows
    widths = [max(len(row[i]) for row in all_rows if i < len(row)) for i in range(len(head))]
    pad = r.random() < 0.7

    def line(row: list[str]) -> str:
        cells = [c.ljust(w) if pad else c for c, w in zip(row, widths)]
        return "| " + " | ".join(cells) + " |"
    out = [line(head)]
    if r.random() < 0.5:
        out.append("|" + "|".join("-" * ((w if pad else 3) + 2) for w in widths) + "|")
    out += [line(row) for row in rows]
    return (f"{caption}\n\n" if r.random() < 0.5 else "") + "\n".join(out)


def _tsv(caption: str, head: list[str], rows: list[list[str]], r: random.Random) -> str:
    return (caption + "\n" if r.random() < 0.6 else "") + "\n".join("\t".join(row) for row in [head] + rows)


def _html(caption: str, head: list[str], rows: list[list[str]], r: random.Random) -> str:
    cls = r.choice(["wikitable", "wikitable sortable", "data-table", "table table-striped"])
    out = [f'<table class="{cls}">', f"<caption>{caption}</caption>",
           "<tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr>"]
    out += ["<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows]
    return "\n".join(out + ["</table>"])


def _keyvalue(caption: str, head: list[str], rows: list[list[str]], r: random.Random) -> str:
    out = [caption]
    for row in rows:
        out.append("; ".join(f"{h}: {c}" for h, c in zip(head, row) if c))
    return "\n".join(out)


_RENDER = [_pipe, _pipe, _pipe, _tsv, _html, _keyvalue]


def reference_table(r: random.Random, s: SlotDict) -> str:
    """One or two encyclopedic tables, sometimes with a sentence of context around them."""
    parts = []
    if r.random() < 0.3:
        parts.append(r.choice([f"{r.choice(_PLACES)} is a town in the {r.choice(['north', 'south', 'east', 'west'])} of the county.",
                               "The following table lists the results.", "Source: national statistics office.",
                               "Statistics are taken from official reports; some totals may not add up due to rounding."]))
    for _ in range(1 if r.random() < 0.8 else 2):
        caption, head, rows = r.choice(TABLES + WORLD_TABLES if fx.active() else TABLES)(r)
        parts.append(r.choice(_RENDER)(caption, head, rows, r))
    return "\n\n".join(parts)
