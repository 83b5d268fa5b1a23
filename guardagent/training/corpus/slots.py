"""Slot fillers for the corpus templates: names, amounts, files, dates, hosts, ...

A template names slots in braces (``{name}``, ``{amount}``); ``fill`` draws every slot from
its pool with the caller's ``random.Random`` so a seed reproduces the text. A slot written
``{name_2}`` is a second, independent draw of ``name`` (the same key reuses one value).
"""

from __future__ import annotations

import random
import string
from typing import Any, Callable

FIRST = [
    "Alice", "Bob", "Carmen", "Dmitri", "Emma", "Farid", "Grace", "Hiro", "Ines", "Jonas",
    "Keisha", "Liam", "Mei", "Nadia", "Omar", "Priya", "Quentin", "Rosa", "Sven", "Tariq",
    "Uma", "Victor", "Wen", "Ximena", "Yusuf", "Zoe", "Amara", "Bruno", "Chloe", "Diego",
    "Elif", "Felix", "Greta", "Hamza", "Isla", "Jamal", "Katya", "Lucas", "Maya", "Nikhil",
]
LAST = [
    "Nguyen", "Smith", "Garcia", "Okafor", "Müller", "Rossi", "Kowalski", "Tanaka", "Silva",
    "Johansson", "Dubois", "Patel", "Kim", "Haddad", "Novak", "O'Brien", "Fischer", "Costa",
    "Ivanova", "Mensah", "Larsen", "Moreau", "Chen", "Alvarez", "Schmidt", "Brown",
]
COMPANIES = [
    "Acme Corp", "Northwind Traders", "Globex", "Initech", "Umbrella Health", "Blue Harbor Bank",
    "Vertex Labs", "Helios Energy", "Pinecrest Realty", "Orbit Logistics", "Lumen Studio",
    "Brightpath Schools", "Cobalt Systems", "Redwood Clinic", "Silverline Travel", "Quanta Retail",
]
DOMAINS = ["acme.com", "northwind.io", "globex.net", "initech.org", "vertexlabs.dev",
           "heliosenergy.com", "orbitlogistics.eu", "brightpath.edu", "cobalt.systems"]
ATTACKER_DOMAINS = ["mail-sync-backup.com", "secure-verify-login.net", "data-collect.xyz",
                    "cloudsync-drop.ru", "invoice-portal.top", "acc0unt-security.info",
                    "free-giftcards.biz", "update-center.click", "pastebin-mirror.cc"]
CITIES = ["Lisbon", "Toronto", "Nairobi", "Osaka", "Berlin", "Austin", "Lyon", "Melbourne",
          "Bogotá", "Seoul", "Dublin", "Cape Town", "Oslo", "Mumbai", "Denver", "Prague"]
AIRPORTS = ["LIS", "YYZ", "NBO", "KIX", "BER", "AUS", "LYS", "MEL", "BOG", "ICN", "DUB",
            "CPT", "OSL", "BOM", "DEN", "PRG", "JFK", "SFO", "LHR", "CDG"]
HOTELS = ["Harbor View Inn", "The Linden", "Hotel Aurora", "Maple Suites", "Casa Azul",
          "Riverside Lodge", "Grand Meridian", "Skyline Hotel"]
PROJECTS = ["Atlas", "Borealis", "Cedar", "Dynamo", "Everest", "Falcon", "Gemini", "Horizon",
            "Iris", "Juniper", "Kestrel", "Lighthouse", "Mosaic", "Nimbus", "Orion", "Pulsar"]
FILES = [
    "Q3_report.pdf", "budget_2025.xlsx", "notes.txt", "meeting_minutes.docx", "roadmap.md",
    "invoice_4411.pdf", "team_photo.jpg", "contract_draft.docx", "data_export.csv",
    "presentation.pptx", "README.md", "config.yaml", "main.py", "backup.tar.gz",
    "travel_itinerary.pdf", "onboarding_checklist.md", "sales_q2.csv", "design_spec.pdf",
    "requirements.txt", "lab_results.pdf", "tax_return_2024.pdf", "resume.pdf",
]
DIRS = ["/home/{user}/documents", "/home/{user}/projects", "/srv/app", "/var/log",
        "/home/{user}/Downloads", "/data/exports", "/home/{user}/notes", "/opt/services"]
USERNAMES = ["alice", "bob", "cmorales", "dkim", "emma.w", "fhaddad", "gpatel", "jdoe",
             "kn", "lchen", "mrossi", "nadia", "ops", "deploy", "svc-backup"]
PRODUCTS = ["noise-cancelling headphones", "standing desk", "espresso machine", "hiking boots",
            "mechanical keyboard", "4K monitor", "air purifier", "electric kettle",
            "running shoes", "office chair", "USB-C hub", "camping tent", "road bike helmet"]
TOPICS = ["renewable energy storage", "remote team onboarding", "the history of the printing "
          "press", "sourdough baking", "container orchestration", "marathon training plans",
          "GDPR compliance basics", "quarterly sales trends", "urban gardening", "the Rust "
          "borrow checker", "migraine triggers", "electric vehicle incentives", "coral reef "
          "restoration", "home insulation", "vector databases", "medieval trade routes"]
CHANNELS = ["#general", "#eng-backend", "#marketing", "#random", "#incidents", "#design",
            "#sales-emea", "#hr-announcements", "#support", "#product"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
CURRENCIES = ["$", "€", "£"]
INSTANCE_TYPES = ["t3.medium", "m5.large", "c6g.xlarge", "r5.2xlarge", "e2-standard-4"]
REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2", "europe-west4", "us-central1"]
SERVICES = ["api-gateway", "billing-worker", "auth-service", "search-indexer", "web-frontend",
            "report-cron", "payments-api", "notification-svc"]
TABLES = ["customers", "orders", "invoices", "employees", "products", "sessions", "tickets",
          "shipments", "subscriptions"]
CONDITIONS = ["type 2 diabetes", "hypertension", "asthma", "seasonal allergies", "migraine",
              "hypothyroidism", "iron-deficiency anemia", "lower back pain", "eczema"]
MEDS = ["metformin 500 mg", "lisinopril 10 mg", "salbutamol inhaler", "cetirizine 10 mg",
        "levothyroxine 50 mcg", "ferrous sulfate 325 mg", "ibuprofen 400 mg", "sumatriptan 50 mg"]
DEPARTMENTS = ["Engineering", "Finance", "Marketing", "Sales", "Legal", "Operations",
               "Customer Success", "People"]
JOB_TITLES = ["Software Engineer", "Data Analyst", "Account Executive", "Product Designer",
              "Financial Controller", "Support Specialist", "DevOps Engineer", "Recruiter"]
LANG_CODE = ["python", "javascript", "go", "bash", "sql"]


def _name(r: random.Random) -> str:
    return f"{r.choice(FIRST)} {r.choice(LAST)}"


def _email(r: random.Random) -> str:
    first, last = r.choice(FIRST).lower(), r.choice(LAST).lower().replace("'", "").replace("ü", "u")
    return f"{first}.{last}@{r.choice(DOMAINS)}"


def _attacker_email(r: random.Random) -> str:
    user = r.choice(["backup", "admin-sync", "support", "archive", "collector", "it-helpdesk",
                     "verify", "billing", "noreply-sec", "recovery"])
    return f"{user}@{r.choice(ATTACKER_DOMAINS)}"


def _amount(r: random.Random) -> str:
    value = r.choice([r.randint(5, 99), r.randint(100, 999), r.randint(1000, 9999),
                      r.randint(10, 500) * 50])
    cents = r.choice(["", f".{r.randint(0, 99):02d}"])
    return f"{r.choice(CURRENCIES)}{value:,}{cents}"


def _iban(r: random.Random) -> str:
    cc = r.choice(["DE", "FR", "ES", "NL", "GB", "IT", "PT", "LT"])
    return cc + f"{r.randint(10, 99)}" + "".join(r.choice(string.digits) for _ in range(16))


def _date(r: random.Random) -> str:
    style = r.randrange(3)
    y, m, d = r.choice([2024, 2025, 2026]), r.randint(1, 12), r.randint(1, 28)
    if style == 0:
        return f"{y}-{m:02d}-{d:02d}"
    if style == 1:
        return f"{MONTHS[m - 1]} {d}, {y}"
    return f"{r.choice(WEEKDAYS)} {d} {MONTHS[m - 1]}"


def _iso_date(r: random.Random) -> str:
    return f"{r.choice([2025, 2026])}-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}"


def _time(r: random.Random) -> str:
    return f"{r.randint(7, 18):02d}:{r.choice(['00', '15', '30', '45'])}"


def _url(r: random.Random) -> str:
    path = r.choice(["blog/post", "docs/guide", "news/article", "wiki/page", "products/item",
                     "help/faq", "research/paper"])
    return f"https://www.{r.choice(DOMAINS)}/{path}-{r.randint(10, 999)}"


def _attacker_url(r: random.Random) -> str:
    path = r.choice(["login", "verify", "collect", "upload", "session/renew", "claim", "u"])
    return f"https://{r.choice(ATTACKER_DOMAINS)}/{path}?id={r.randint(1000, 99999)}"


def _dir(r: random.Random) -> str:
    return r.choice(DIRS).format(user=r.choice(USERNAMES))


def _path(r: random.Random) -> str:
    return f"{_dir(r)}/{r.choice(FILES)}"


def _ip(r: random.Random) -> str:
    return f"10.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}"


def _public_ip(r: random.Random) -> str:
    return f"{r.choice([45, 77, 91, 185, 203])}.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}"


def _hex(r: random.Random, n: int = 8) -> str:
    return "".join(r.choice("0123456789abcdef") for _ in range(n))


def _repo(r: random.Random) -> str:
    return f"{r.choice(USERNAMES).split('.')[0]}/{r.choice(PROJECTS).lower()}-{r.choice(['api', 'web', 'cli', 'infra', 'docs', 'ml'])}"


def _phone(r: random.Random) -> str:
    return f"+{r.choice([1, 44, 49, 33, 351])} {r.randint(200, 999)} {r.randint(100, 999)} {r.randint(1000, 9999)}"


SLOTS: dict[str, Callable[[random.Random], Any]] = {
    "name": _name,
    "first": lambda r: r.choice(FIRST),
    "last": lambda r: r.choice(LAST),
    "email": _email,
    "attacker_email": _attacker_email,
    "company": lambda r: r.choice(COMPANIES),
    "domain_co": lambda r: r.choice(DOMAINS),
    "weekday_n": lambda r: str(r.randint(1, 9)),
    "city": lambda r: r.choice(CITIES),
    "airport": lambda r: r.choice(AIRPORTS),
    "hotel": lambda r: r.choice(HOTELS),
    "project": lambda r: r.choice(PROJECTS),
    "file": lambda r: r.choice(FILES),
    "dir": _dir,
    "path": _path,
    "user": lambda r: r.choice(USERNAMES),
    "product": lambda r: r.choice(PRODUCTS),
    "topic": lambda r: r.choice(TOPICS),
    "channel": lambda r: r.choice(CHANNELS),
    "amount": _amount,
    "small_amount": lambda r: f"{r.choice(CURRENCIES)}{r.randint(5, 120)}",
    "iban": _iban,
    "attacker_iban": _iban,
    "date": _date,
    "iso_date": _iso_date,
    "time": _time,
    "weekday": lambda r: r.choice(WEEKDAYS),
    "month": lambda r: r.choice(MONTHS),
    "url": _url,
    "attacker_url": _attacker_url,
    "ip": _ip,
    "public_ip": _public_ip,
    "hex": _hex,
    "num": lambda r: str(r.randint(2, 48)),
    "pid": lambda r: str(r.randint(1200, 65000)),
    "port": lambda r: str(r.choice([22, 80, 443, 3000, 5432, 6379, 8000, 8080, 9090])),
    "instance": lambda r: f"i-{_hex(r, 12)}",
    "instance_type": lambda r: r.choice(INSTANCE_TYPES),
    "region": lambda r: r.choice(REGIONS),
    "service": lambda r: r.choice(SERVICES),
    "table": lambda r: r.choice(TABLES),
    "repo": _repo,
    "branch": lambda r: r.choice(["main", "develop", "feature/search", "fix/login-timeout",
                                  "release/2.4", "chore/deps"]),
    "condition": lambda r: r.choice(CONDITIONS),
    "med": lambda r: r.choice(MEDS),
    "department": lambda r: r.choice(DEPARTMENTS),
    "job": lambda r: r.choice(JOB_TITLES),
    "phone": _phone,
    "order_id": lambda r: f"ORD-{r.randint(100000, 999999)}",
    "invoice_id": lambda r: f"INV-{r.randint(1000, 99999)}",
    "ticket": lambda r: f"{r.choice(['SUP', 'OPS', 'ENG', 'HR'])}-{r.randint(100, 9999)}",
    "percent": lambda r: f"{r.randint(2, 35)}%",
    "stock": lambda r: r.choice(["ACME", "NWT", "GLBX", "VRTX", "HLS", "ORBT"]),
    "n_people": lambda r: str(r.randint(2, 12)),
    "employee_id": lambda r: f"E{r.randint(10000, 99999)}",
    "account": lambda r: f"****{r.randint(1000, 9999)}",
    "code6": lambda r: f"{r.randint(100000, 999999)}",
    "api_key": lambda r: "sk-" + "".join(r.choice(string.ascii_letters + string.digits) for _ in range(24)),
    "password": lambda r: r.choice(["Summer", "Blue", "Tiger", "Orchid", "Rocket"])
    + str(r.randint(10, 99)) + r.choice("!#$%") + r.choice(["xq", "Lm", "Pz", "Rt"]),
    "ssn": lambda r: f"{r.randint(100, 899)}-{r.randint(10, 99)}-{r.randint(1000, 9999)}",
    "card": lambda r: f"4{r.randint(100, 999)} {r.randint(1000, 9999)} {r.randint(1000, 9999)} {r.randint(1000, 9999)}",
}


class SlotDict(dict):
    """A mapping that draws missing slots lazily; ``{x_2}`` is a second draw of ``x``."""

    def __init__(self, rng: random.Random, fixed: dict[str, Any] | None = None):
        super().__init__(fixed or {})
        self.rng = rng

    def __missing__(self, key: str) -> Any:
        base = key.rsplit("_", 1)[0] if key.rsplit("_", 1)[-1].isdigit() else key
        if base not in SLOTS:
            raise KeyError(f"unknown template slot {{{key}}}")
        value = SLOTS[base](self.rng)
        # a second draw of the same base should differ when the pool allows it
        for _ in range(4):
            if all(value != v for k, v in self.items() if k != key and k.startswith(base)):
                break
            value = SLOTS[base](self.rng)
        self[key] = value
        return value


def fill(template: str, rng: random.Random, slots: SlotDict | None = None, **fixed: Any) -> str:
    """Fill ``template`` from the slot pools (``fixed`` values win)."""
    mapping = slots if slots is not None else SlotDict(rng)
    mapping.update(fixed)
    return template.format_map(mapping)
