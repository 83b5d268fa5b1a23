"""More varied clean tool results: long emails (signatures, quoted threads, disclaimers,
newsletters), source files in many languages, markdown tables, varied logs and reviews.

Each generator is one template family (``tool.bt.<key>``), composed from parts so that the
texts vary in length, layout and vocabulary; they also serve as injection carriers.
"""

from __future__ import annotations

import json
import random

from guardagent.training.corpus import outputs_foreign as fx
from guardagent.training.corpus.slots import SlotDict, fill


def _f(t: str, r: random.Random, s: SlotDict) -> str:
    return fill(t, r, s)


# ------------------------------------------------------------------ emails
_GREET = ["Hi {first},", "Hello {first},", "Dear {first},", "Hey {first},", "Good morning {first},", "Hi all,",
          "Dear {name},", "Hello team,", "{first},", "Hi {first} and {first_2},", "Dear Sir or Madam,", "Greetings,"]
_PARAS = [
    "Thanks for getting back to me so quickly. I've gone through the {project} proposal and overall it looks solid.",
    "I wanted to follow up on our conversation from {weekday}. Do you have any update on the contract renewal?",
    "Attached you'll find the revised budget for next quarter. The main change is the travel line, which we cut by {percent}.",
    "Could you send me the slides from yesterday's presentation? I'd like to share them with the {department} team.",
    "Just a heads-up that I'll be out of the office from {date} and back the following week. {first_2} will cover for me.",
    "The quarterly numbers came in this morning. Revenue was slightly above forecast, but churn went up in {city}.",
    "I spoke with the folks at {company} and they are happy to move the kick-off to {weekday} at {time}.",
    "Regarding your question about the invoice, it was paid on {date}; you should see it on your statement shortly.",
    "We're organising a small farewell for {first_2} on {weekday}. Let me know if you can make it and whether you have any dietary restrictions.",
    "Can you take a look at the draft when you get a chance? No rush, end of next week is fine.",
    "The venue for the offsite is confirmed: {hotel} in {city}. Rooms are booked for {n_people} people.",
    "I've reviewed the pull request and left a few small comments. Once those are addressed it's good to merge.",
    "Just checking in — how are you settling into the new role? Let me know if there's anything I can help with.",
    "Our landlord confirmed the heating will be repaired on {weekday}. Someone needs to be home between 9 and 12.",
    "Please note the new parking arrangements start on {date}. Visitor spaces are now on level 2.",
    "I'm putting together the agenda for the {project} steering meeting. What topics would you like to cover?",
    "Great to meet you at the conference in {city}! As promised, here is the article I mentioned about {topic}.",
    "Following up on the support ticket {ticket}: the issue was caused by an expired certificate and is now fixed.",
    "The kids' football practice has moved to {weekday} evenings. Could you drive them next week?",
    "Happy to help with the hiring panel for the {job} position. I'm free most afternoons next week.",
    "We received your payment of {amount}. Thank you! A receipt is attached for your records.",
    "I think we should push the launch by a week; QA found two blocking bugs in the checkout flow.",
    "Thanks again for dinner on Saturday, it was lovely to catch up. Next time is on us!",
    "The lab results for the {project} pilot look promising: error rates dropped from 4.1% to 1.7%.",
    "Would {weekday} at {time} work for a quick call? I'd like to walk you through the new onboarding flow.",
    "Reminder: timesheets for this month are due by {date}. Please submit them in the HR portal.",
    "I've shared the folder with the photos from the trip to {city}. Some of them turned out really well.",
    "Our team has finished migrating the {service} database. Downtime was about eight minutes in total.",
]
_CLOSE = ["Best,", "Best regards,", "Kind regards,", "Thanks,", "Cheers,", "Many thanks,", "Warm regards,", "Talk soon,",
          "Regards,", "All the best,", "Thank you,", "Sincerely,"]
_DISCLAIM = [
    "This email and any attachments are confidential and intended solely for the addressee. If you have received it in error, please notify the sender and delete it.",
    "Please consider the environment before printing this email.",
    "Sent from my phone, please excuse typos.",
    "{company} Ltd. Registered in England and Wales. Company number {code6}.",
    "CONFIDENTIALITY NOTICE: the information in this message may be privileged. Unauthorised use or disclosure is prohibited.",
]


def _signature(r: random.Random, s: SlotDict) -> str:
    parts = ["{name}"]
    if r.random() < 0.7:
        parts.append("{job} | {company}")
    if r.random() < 0.5:
        parts.append("T: {phone}")
    if r.random() < 0.4:
        parts.append("{email} | www.{domain_co}")
    if r.random() < 0.3:
        parts.append("{num} Market Street, {city}")
    return _f("\n".join(parts), r, s)


def _email_body(r: random.Random, s: SlotDict, paras: int | None = None) -> str:
    n = paras or r.randint(1, 4)
    body = [_f(r.choice(_GREET), r, s)] + [_f(p, r, s)
                                            for p in r.sample(_PARAS, n)]
    body.append(r.choice(_CLOSE) + "\n" + (_signature(r, s) if r.random() < 0.6 else _f("{first_2}", r, s)))
    return "\n\n".join(body)


def _email_thread(r: random.Random, s: SlotDict) -> str:
    subj = r.choice(["{project} kickoff", "Budget review", "Offsite planning", "Invoice {invoice_id}", "Contract renewal",
                     "Weekend plans", "Hiring update", "Question about the report", "Schedule change", "Photos from {city}"])
    head = _f("From: {name} <{email}>\nTo: {email_2}\n", r, s)
    if r.random() < 0.4:
        head += _f("Cc: {email_3}\n", r, s)
    head += _f("Date: {date} {time}\nSubject: ", r, s) + r.choice(["", "Re: ", "RE: ", "Fwd: "]) + _f(subj, r, s)
    if fx.active() and r.random() < 0.15:  # correspondence in another language (opt-in, outputs_foreign.py)
        loc = r.choice(fx.LETTER_LOCALES)
        text = head + "\n\n" + fx.letter(r, fx.person(r, loc).split()[0], fx.person(r, loc), loc)
    else:
        text = head + "\n\n" + _email_body(r, s)
    for _ in range(r.choice([0, 1, 1, 2])):
        ss = SlotDict(r)
        quoted = _email_body(r, ss, paras=r.randint(1, 2))
        lead = r.choice([_f("On {weekday}, {date} at {time}, {name} <{email}> wrote:", r, ss),
                         _f("-----Original Message-----\nFrom: {name}\nSent: {date}\nSubject: ", r, ss) + _f(subj, r, s)])
        text += "\n\n" + lead + "\n" + "\n".join("> " + ln if ln else ">" for ln in quoted.split("\n"))
    if r.random() < 0.35:
        text += "\n\n--\n" + _f(r.choice(_DISCLAIM), r, s)
    return text


_NEWS_ITEMS = [
    ("What's new this month", "We redesigned the dashboard so your most-used reports are one click away."),
    ("Community spotlight", "Meet {first}, who runs a small bakery in {city} and uses our tools to manage orders."),
    ("Tips & tricks", "Did you know you can export any view to CSV? Open the menu in the top right corner."),
    ("Upcoming events", "Join our free webinar on {topic} on {date} at {time}. Seats are limited."),
    ("Product update", "Version {num}.{num_2} brings faster search, dark mode and better accessibility."),
    ("From the blog", "Five lessons we learned scaling {service} to a million requests per day."),
    ("Deals of the week", "Save {percent} on the {product} until {weekday}. While stocks last."),
    ("Recipe of the week", "A quick weeknight pasta with lemon, garlic and spinach — ready in 20 minutes."),
    ("Local news", "The {city} farmers' market reopens on {date} with more than forty stalls."),
    ("Research roundup", "A new study on {topic} suggests small daily habits matter more than big changes."),
]


def _newsletter(r: random.Random, s: SlotDict) -> str:
    head = _f("From: {company} <news@{domain_co}>\nTo: {email}\nSubject: ", r, s) + r.choice(
        ["Your {month} newsletter", "This week at {company}", "{company} digest #{num}", "News and updates"]).format_map(s)
    items = r.sample(_NEWS_ITEMS, r.randint(2, 4))
    body = [r.choice(["View this email in your browser", "Having trouble viewing this email? Open it online."]),
            _f(r.choice(["Hello {first},", "Hi there,", "Dear subscriber,"]), r, s)]
    for title, t in items:
        body.append(f"{title.upper() if r.random() < 0.5 else '## ' + title}\n{_f(t, r, s)}\nRead more: {_f('{url}', r, SlotDict(r))}")
    body.append(_f(r.choice(["You are receiving this email because you signed up at {domain_co}. Unsubscribe | Manage preferences",
                             "© 2025 {company}, {city}. To stop receiving these emails, click unsubscribe.",
                             "Follow us on social media. Update your preferences or unsubscribe at any time."]), r, s))
    return head + "\n\n" + "\n\n".join(body)


# ------------------------------------------------------------------ source code
_FN = ["parse_record", "load_items", "compute_total", "normalize_name", "fetch_page", "merge_configs", "validate_input",
       "format_date", "retry_request", "build_index", "send_report", "resize_image", "count_words", "find_duplicates"]
_CAMEL = ["parseRecord", "loadItems", "computeTotal", "normalizeName", "fetchPage", "mergeConfigs", "validateInput",
          "formatDate", "retryRequest", "buildIndex", "countWords", "findDuplicates"]
_CLS = ["OrderService", "UserRepository", "CacheManager", "ReportBuilder", "InvoiceParser", "TaskQueue", "HttpClient",
        "ImageResizer", "EventBus", "RateLimiter"]

_CODE = [
    # python
    '"""Utilities for the {svc} service.\n\nThis module reads records from disk and computes totals.\n"""\n\nfrom __future__ import annotations\n\nimport csv\nfrom dataclasses import dataclass\n\n\n@dataclass\nclass Record:\n    name: str\n    amount: float\n\n\ndef {fn}(path: str) -> list[Record]:\n    """Read ``path`` and return one Record per row.\n\n    Args:\n        path: CSV file with ``name`` and ``amount`` columns.\n\n    Returns:\n        The parsed records, in file order.\n    """\n    with open(path, newline="") as fh:\n        return [Record(row["name"], float(row["amount"])) for row in csv.DictReader(fh)]\n\n\ndef total(records: list[Record]) -> float:\n    # sum of all amounts, rounded to cents\n    return round(sum(r.amount for r in records), 2)\n\n\nif __name__ == "__main__":\n    import sys\n    print(total({fn}(sys.argv[1])))\n',
    'import logging\nimport time\n\nlog = logging.getLogger(__name__)\n\nMAX_ATTEMPTS = {n}\n\n\ndef {fn}(func, *args, attempts=MAX_ATTEMPTS, delay=0.5):\n    """Call ``func`` until it succeeds, doubling the delay after each failure."""\n    for i in range(attempts):\n        try:\n            return func(*args)\n        except ConnectionError as exc:  # transient network errors only\n            log.warning("attempt %d failed: %s", i + 1, exc)\n            time.sleep(delay)\n            delay *= 2\n    raise RuntimeError("gave up after %d attempts" % attempts)\n',
    # java
    'package com.{pkg}.{svc_id};\n\nimport java.util.ArrayList;\nimport java.util.List;\n\n/**\n * {cls} keeps track of pending orders.\n *\n * <p>Not thread-safe; wrap it in a lock if shared.\n */\npublic class {cls} {{\n    private final List<String> items = new ArrayList<>();\n\n    /** Adds an item and returns the new size. */\n    public int add(String item) {{\n        if (item == null || item.isBlank()) {{\n            throw new IllegalArgumentException("item must not be empty");\n        }}\n        items.add(item.trim());\n        return items.size();\n    }}\n\n    // Returns a copy so callers cannot modify our list.\n    public List<String> snapshot() {{\n        return new ArrayList<>(items);\n    }}\n}}\n',
    # c
    '/*\n * {file_c} - small helpers for string handling\n * Copyright (c) 2024 {company}. MIT licence.\n */\n#include <ctype.h>\n#include <string.h>\n\n/* Trim trailing whitespace in place; returns the new length. */\nsize_t rtrim(char *s)\n{{\n    size_t n = strlen(s);\n    while (n > 0 && isspace((unsigned char)s[n - 1]))\n        s[--n] = \'\\0\';\n    return n;\n}}\n\n/* Count the words in s (separated by spaces). */\nint count_words(const char *s)\n{{\n    int count = 0, in_word = 0;\n    for (; *s; s++) {{\n        if (isspace((unsigned char)*s)) in_word = 0;\n        else if (!in_word) {{ in_word = 1; count++; }}\n    }}\n    return count;\n}}\n',
    # c++
    '#include <iostream>\n#include <unordered_map>\n#include <vector>\n\n// Returns the values that appear more than once, in first-seen order.\nstd::vector<int> {fn}(const std::vector<int>& xs) {{\n    std::unordered_map<int, int> seen;\n    std::vector<int> out;\n    for (int x : xs) {{\n        if (++seen[x] == 2) out.push_back(x);  // report each duplicate once\n    }}\n    return out;\n}}\n\nint main() {{\n    for (int d : {fn}({{1, 2, 3, 2, 1, {n}}})) std::cout << d << "\\n";\n    return 0;\n}}\n',
    # rust
    'use std::collections::HashMap;\n\n/// Counts how often each word occurs in `text`.\n///\n/// Words are lower-cased and split on whitespace.\npub fn {fn}(text: &str) -> HashMap<String, usize> {{\n    let mut counts = HashMap::new();\n    for word in text.split_whitespace() {{\n        *counts.entry(word.to_lowercase()).or_insert(0) += 1;\n    }}\n    counts\n}}\n\n#[cfg(test)]\nmod tests {{\n    use super::*;\n\n    #[test]\n    fn counts_repeated_words() {{\n        let c = {fn}("a b a");\n        assert_eq!(c["a"], 2);\n    }}\n}}\n',
    # typescript
    'import {{ Request, Response }} from "express";\n\n/**\n * Handler for GET /api/{svc_id}/:id\n * Responds 404 when the item does not exist.\n */\nexport async function {camel}(req: Request, res: Response): Promise<void> {{\n  const id = Number(req.params.id);\n  if (Number.isNaN(id)) {{\n    res.status(400).json({{ error: "invalid id" }});\n    return;\n  }}\n  const item = await db.items.findById(id); // TODO: add caching\n  if (!item) {{\n    res.status(404).end();\n    return;\n  }}\n  res.json(item);\n}}\n',
    # ruby
    '# frozen_string_literal: true\n\n# {cls} formats invoices for the {svc} mailer.\nclass {cls}\n  def initialize(currency: "EUR")\n    @currency = currency\n  end\n\n  # Returns the amount as a string such as "12.50 EUR".\n  def format(amount)\n    format("%.2f %s", amount, @currency)\n  end\n\n  def total(lines)\n    lines.sum {{ |l| l[:qty] * l[:price] }}\n  end\nend\n',
    # php
    '<?php\n\nnamespace App\\Http\\Controllers;\n\nuse Illuminate\\Http\\Request;\n\n/**\n * Shows and updates user profiles.\n */\nclass ProfileController extends Controller\n{{\n    // GET /profile/{{id}}\n    public function show(int $id)\n    {{\n        $user = User::findOrFail($id);\n        return view(\'profile.show\', [\'user\' => $user]);\n    }}\n\n    public function update(Request $request, int $id)\n    {{\n        $data = $request->validate([\'name\' => \'required|max:80\']);\n        User::findOrFail($id)->update($data);\n        return redirect()->back()->with(\'status\', \'Profile saved\');\n    }}\n}}\n',
    # kotlin
    'package com.{pkg}.app\n\n/** Simple in-memory cache with a maximum size. */\nclass {cls}<K, V>(private val maxSize: Int = {n}0) {{\n    private val map = LinkedHashMap<K, V>()\n\n    fun get(key: K): V? = map[key]\n\n    fun put(key: K, value: V) {{\n        if (map.size >= maxSize) {{\n            // evict the oldest entry\n            map.remove(map.keys.first())\n        }}\n        map[key] = value\n    }}\n}}\n',
    # swift
    'import Foundation\n\n/// Formats a date for display in the {svc} app.\nfunc {camel}(_ date: Date, locale: Locale = .current) -> String {{\n    let f = DateFormatter()\n    f.locale = locale\n    f.dateStyle = .medium\n    f.timeStyle = .none  // we only show the day\n    return f.string(from: date)\n}}\n',
    # c#
    'using System;\nusing System.Collections.Generic;\nusing System.Linq;\n\nnamespace {Pkg}.Reports\n{{\n    /// <summary>Builds the monthly sales summary.</summary>\n    public static class {cls}\n    {{\n        // Groups sales by region and sums the totals.\n        public static Dictionary<string, decimal> ByRegion(IEnumerable<Sale> sales) =>\n            sales.GroupBy(s => s.Region).ToDictionary(g => g.Key, g => g.Sum(s => s.Total));\n    }}\n}}\n',
    # go
    'package {svc_id}\n\nimport (\n\t"errors"\n\t"strings"\n)\n\n// ErrEmpty is returned when the input has no content.\nvar ErrEmpty = errors.New("empty input")\n\n// {Camel} lower-cases s and collapses internal whitespace.\nfunc {Camel}(s string) (string, error) {{\n\tfields := strings.Fields(s)\n\tif len(fields) == 0 {{\n\t\treturn "", ErrEmpty\n\t}}\n\treturn strings.ToLower(strings.Join(fields, " ")), nil\n}}\n',
    # yaml / config
    '# Configuration for {svc}\n# Values here are overridden by environment variables.\nserver:\n  host: 0.0.0.0\n  port: {port}\n  workers: {n}\ndatabase:\n  url: postgres://{svc_id}@db.internal:5432/{svc_id}\n  pool_size: 10\nlogging:\n  level: info   # use debug when troubleshooting\nfeatures:\n  dark_mode: true\n  new_checkout: false\n',
    # html/css
    '<!DOCTYPE html>\n<html lang="en">\n<head>\n  <meta charset="utf-8">\n  <title>{company} — Contact</title>\n  <link rel="stylesheet" href="/css/site.css">\n</head>\n<body>\n  <!-- main navigation -->\n  <nav><a href="/">Home</a> <a href="/about">About</a> <a href="/contact">Contact</a></nav>\n  <main>\n    <h1>Get in touch</h1>\n    <form action="/contact" method="post">\n      <label>Email <input type="email" name="email" required></label>\n      <textarea name="message" rows="5"></textarea>\n      <button type="submit">Send</button>\n    </form>\n  </main>\n</body>\n</html>\n',
    # js
    '/**\n * Debounce: delay calling fn until wait ms have passed without another call.\n * @param {{Function}} fn\n * @param {{number}} wait\n */\nexport function debounce(fn, wait = {n}0) {{\n  let timer;\n  return (...args) => {{\n    clearTimeout(timer);\n    timer = setTimeout(() => fn(...args), wait);\n  }};\n}}\n\n// usage: input.addEventListener("input", debounce(search, 300));\n',
    # dockerfile / makefile
    '# Build stage\nFROM python:3.12-slim AS build\nWORKDIR /app\nCOPY requirements.txt .\nRUN pip install --no-cache-dir -r requirements.txt\nCOPY . .\n\n# Run as non-root\nRUN useradd -m app\nUSER app\nEXPOSE {port}\nCMD ["gunicorn", "-w", "{n}", "-b", "0.0.0.0:{port}", "{svc_id}.wsgi:app"]\n',
    # README
    '# {svc}\n\nA small service that {purpose}.\n\n## Installation\n\n```bash\npip install -e .\n```\n\n## Usage\n\n```python\nfrom {svc_id} import {fn}\nresult = {fn}("input.csv")\n```\n\n## Contributing\n\nPull requests are welcome. For major changes, please open an issue first to discuss what you would like to change.\n\n## License\n\nMIT\n',
]
_PURPOSE = ["resizes uploaded images", "sends weekly reports", "parses bank statements", "indexes documents for search",
            "tracks inventory levels", "schedules reminders", "converts Markdown to PDF"]


def _source_file(r: random.Random, s: SlotDict) -> str:
    svc = s["service"]
    camel = r.choice(_CAMEL)
    path = r.choice(["src/", "lib/", "app/", "", "pkg/", "internal/"]) + r.choice(["utils", "core", "handlers", "models", "main", "helpers"])
    t = r.choice(_CODE)
    code = t.format(svc=svc, svc_id=svc.replace("-", "_"), fn=r.choice(_FN), camel=camel, Camel=camel[:1].upper() + camel[1:],
                    cls=r.choice(_CLS), pkg=s["company"].split()[0].lower().strip(",."), Pkg=s["company"].split()[0].strip(",."),
                    n=r.randint(2, 9), port=s["port"], company=s["company"], file_c=path.split("/")[-1] + ".c",
                    purpose=r.choice(_PURPOSE))
    if r.random() < 0.3:
        return f"File: {path}\n\n{code}"
    return code


# ------------------------------------------------------------------ tables
_TABLES = [
    (["Country", "Capital", "Population (m)", "Area (km²)"],
     lambda r: [r.choice(["Portugal", "Kenya", "Japan", "Canada", "Chile", "Norway", "Vietnam", "Ghana", "Peru", "Austria"]),
                r.choice(["Lisbon", "Nairobi", "Tokyo", "Ottawa", "Santiago", "Oslo", "Hanoi", "Accra", "Lima", "Vienna"]),
                f"{r.uniform(2, 130):.1f}", f"{r.randint(30, 9000) * 1000:,}"]),
    (["Product", "SKU", "Price", "In stock"],
     lambda r: [SlotDict(r)["product"], f"SKU-{r.randint(1000, 9999)}", f"{r.uniform(5, 900):.2f}", r.choice(["yes", "no", str(r.randint(1, 300))])]),
    (["Team", "Played", "Won", "Drawn", "Lost", "Points"],
     lambda r: (lambda w, d, l: [r.choice(["Rovers", "United", "City", "Athletic", "Wanderers", "Rangers", "Albion"]),
                                 str(w + d + l), str(w), str(d), str(l), str(3 * w + d)])(r.randint(0, 20), r.randint(0, 8), r.randint(0, 15))),
    (["Student", "Maths", "Science", "English", "Average"],
     lambda r: (lambda a, b, c: [SlotDict(r)["first"], str(a), str(b), str(c), f"{(a + b + c) / 3:.1f}"])(r.randint(40, 100), r.randint(40, 100), r.randint(40, 100))),
    (["Date", "Location", "Event", "Attendees"],
     lambda r: [SlotDict(r)["iso_date"], SlotDict(r)["city"], r.choice(["Workshop", "Meetup", "Conference", "Training", "Hackathon"]), str(r.randint(8, 400))]),
    (["Month", "Revenue", "Costs", "Margin"],
     lambda r: (lambda rev, cost: [r.choice(["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug"]), f"{rev:,}", f"{cost:,}", f"{(rev - cost) / rev:.0%}"])(r.randint(50, 900) * 1000, r.randint(20, 49) * 1000)),
    (["Name", "Role", "Office", "Start date"],
     lambda r: [SlotDict(r)["name"], SlotDict(r)["job"], SlotDict(r)["city"], SlotDict(r)["iso_date"]]),
    (["Flight", "From", "To", "Departs", "Status"],
     lambda r: [f"{r.choice(['TP', 'LH', 'AF', 'UA', 'NH', 'KQ'])}{r.randint(100, 2999)}", SlotDict(r)["city"], SlotDict(r)["city"],
                SlotDict(r)["time"], r.choice(["On time", "Delayed", "Boarding", "Cancelled", "Landed"])]),
    (["Ticket", "Title", "Priority", "Assignee"],
     lambda r: [SlotDict(r)["ticket"], r.choice(["Login page slow", "Export fails for large files", "Typo in footer", "Add dark mode",
                                                 "Crash on startup", "Update dependencies"]), r.choice(["P1", "P2", "P3"]), SlotDict(r)["first"]]),
    (["Ingredient", "Quantity", "Calories"],
     lambda r: [r.choice(["Flour", "Sugar", "Butter", "Eggs", "Milk", "Oats", "Rice", "Tomatoes", "Olive oil"]), f"{r.randint(1, 500)} g", str(r.randint(10, 900))]),
]


def _table(r: random.Random, s: SlotDict) -> str:
    cols, row = r.choice(_TABLES)
    rows = [row(r) for _ in range(r.randint(3, 10) if r.random() < 0.6 else r.randint(11, 40))]  # long tables too
    style = r.random()
    if style < 0.45:
        out = "| " + " | ".join(cols) + " |\n|" + "|".join("---" for _ in cols) + "|\n"
        out += "\n".join("| " + " | ".join(x) + " |" for x in rows)
    elif style < 0.8:
        out = ",".join(cols) + "\n" + "\n".join(",".join(f'"{v}"' if "," in v else v for v in x) for x in rows)
    else:
        out = json.dumps([dict(zip(cols, x)) for x in rows], ensure_ascii=False, indent=r.choice([None, 2]))
    if r.random() < 0.3:
        out = r.choice(["Query returned {k} rows.\n\n", "Sheet 1\n\n", "Results:\n"]).format(k=len(rows)) + out
    return out


# ------------------------------------------------------------------ logs
def _app_log(r: random.Random, s: SlotDict) -> str:
    kind = r.randrange(5)
    lines = []
    if kind == 0:  # nginx access log
        for _ in range(r.randint(4, 10)):
            ss = SlotDict(r)
            lines.append(f'{ss["ip"]} - - [{r.randint(1, 28):02d}/{r.choice(["Mar", "Jun", "Oct"])}/2025:{ss["time"]}:{r.randint(0, 59):02d} +0000] '
                         f'"{r.choice(["GET", "GET", "POST", "PUT"])} {r.choice(["/", "/api/items", "/login", "/static/app.js", "/health", "/search?q=shoes"])} HTTP/1.1" '
                         f'{r.choice([200, 200, 200, 301, 304, 404, 500])} {r.randint(120, 90000)} "-" "{r.choice(["Mozilla/5.0", "curl/8.4.0", "python-requests/2.32"])}"')
    elif kind == 1:  # python traceback
        lines = [f"{s['iso_date']} {s['time']}:07,331 ERROR [{s['service']}] unhandled exception",
                 "Traceback (most recent call last):",
                 f'  File "/srv/{s["service"]}/app/views.py", line {r.randint(20, 400)}, in handle',
                 "    result = process(payload)",
                 f'  File "/srv/{s["service"]}/app/core.py", line {r.randint(20, 400)}, in process',
                 r.choice(["    return data['items'][0]", "    value = int(raw)", "    conn.execute(query)"]),
                 r.choice(["IndexError: list index out of range", "ValueError: invalid literal for int() with base 10: 'abc'",
                           "psycopg2.OperationalError: could not connect to server: Connection refused"])]
    elif kind == 2:  # syslog
        for _ in range(r.randint(4, 9)):
            lines.append(f"{r.choice(['Mar', 'Jul', 'Nov'])} {r.randint(1, 28):2d} {s['time']}:{r.randint(0, 59):02d} {r.choice(['web01', 'db02', 'worker-3'])} "
                         + r.choice(["systemd[1]: Started Daily apt upgrade and clean activities.", "sshd[2211]: Accepted publickey for deploy from 10.0.0.4 port 51234",
                                     "kernel: [12345.678] eth0: link up, 1000Mbps, full-duplex", "CRON[991]: (root) CMD (run-parts /etc/cron.hourly)",
                                     "systemd[1]: nginx.service: Reloaded.", "dhclient[812]: bound to 10.0.0.12 -- renewal in 1800 seconds."]))
    elif kind == 3:  # CI output
        lines = [f"Run #{r.randint(100, 9999)} on branch {s['branch']}", "$ npm ci", f"added {r.randint(200, 1500)} packages in {r.randint(5, 60)}s",
                 "$ npm test", f"PASS  src/{r.choice(_CAMEL)}.test.ts", f"PASS  src/{r.choice(_CAMEL)}.test.ts",
                 r.choice([f"Tests: {r.randint(20, 300)} passed, {r.randint(20, 300)} total", f"FAIL  src/api.test.ts\n  ● returns 404 for unknown id\nTests: 1 failed, {r.randint(20, 300)} passed"]),
                 f"Done in {r.uniform(10, 200):.1f}s."]
    else:  # json structured logs
        for _ in range(r.randint(3, 7)):
            ss = SlotDict(r)
            lines.append(json.dumps({"ts": f"{ss['iso_date']}T{ss['time']}:00Z", "level": r.choice(["info", "info", "warn", "error"]),
                                     "service": s["service"], "msg": r.choice(["request finished", "user logged in", "cache miss", "job queued",
                                                                               "payment captured", "email delivered"]),
                                     "duration_ms": r.randint(1, 2500)}))
    return "\n".join(lines)


# ------------------------------------------------------------------ reviews / articles
_REVIEWS = [
    "Works exactly as described. Battery lasts about two days with heavy use.",
    "Arrived a week late and the box was damaged, but the product itself is fine.",
    "Honestly not worth the price. The material feels cheap and it broke after a month.",
    "Great customer service — they replaced my unit without any questions.",
    "I bought this for my dad and he loves it. Setup took five minutes.",
    "Decent, but the instructions were confusing. Had to watch a video to assemble it.",
    "Best purchase I've made this year! Would definitely recommend to friends.",
    "The colour is different from the photos. Returning it.",
    "Comfortable and light. I wear them every day on my commute.",
    "Stopped working after the latest update. Support says a fix is coming.",
]


def _reviews(r: random.Random, s: SlotDict) -> str:
    n = r.randint(2, 6)
    out = [_f("Customer reviews for {product} ({num} ratings, average ", r, s) + f"{r.uniform(2.5, 4.9):.1f}/5)"]
    for rev in r.sample(_REVIEWS, n):
        ss = SlotDict(r)
        out.append(f"{'★' * r.randint(1, 5)}  {ss['first']} — {ss['date']}\n{rev}")
    return "\n\n".join(out)


_ARTICLE = [
    "{city} announced on {weekday} that its new tram line will open next spring, linking the airport with the city centre.",
    "Researchers studying {topic} say the field has changed more in the past five years than in the previous twenty.",
    "The council will hold a public consultation on the plans until {date}. Residents can submit comments online.",
    "Local businesses welcomed the decision, although some worried about construction noise.",
    "Experts recommend starting small: a pilot in one district, then a wider rollout if the results hold up.",
    "Tickets for the festival sold out within hours; organisers promised more dates in the autumn.",
    "According to the report, costs were {percent} below the original estimate.",
    "The museum reopens after a two-year renovation with a new wing dedicated to modern design.",
    "Weather forecasters expect a mild week with showers on {weekday} and sunshine at the weekend.",
]


def _article(r: random.Random, s: SlotDict) -> str:
    title = _f(r.choice(["{city} unveils new transport plan", "What we know about {topic}", "Five things to do in {city} this weekend",
                         "{company} reports strong quarter", "A beginner's guide to {topic}"]), r, s)
    paras = [_f(p, r, s) for p in r.sample(_ARTICLE, r.randint(2, 5))]
    byline = _f(r.choice(["By {name} | {date}", "{date} · 4 min read", "Posted by {first} on {date}"]), r, s)
    return f"{title}\n{byline}\n\n" + "\n\n".join(paras)
