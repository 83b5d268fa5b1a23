"""Tool-result generators: benign (BT) carriers per tool, and sensitive (ST) results.

A benign generator returns a realistic result (emails, listings, tables, JSON, code, logs,
calendar entries, pages). Each generator is one template family (``tool.bt.<key>``); the
injection builder (``injections.py``) also uses them as carriers for MT rows. Sensitive
generators (``tool.st.<key>``) return results that legitimately carry sensitive data or ask
for a consequential action, each naming the follow-up tool that would need verification.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Callable

from guardagent.training.corpus import outputs_extra as _x
from guardagent.training.corpus import outputs_notices as _n
from guardagent.training.corpus import outputs_reference as _ref
from guardagent.training.corpus import outputs_approvals as _approvals
from guardagent.training.corpus import outputs_people as _people
from guardagent.training.corpus.slots import SlotDict, fill

Gen = Callable[[random.Random, SlotDict], str]


@dataclass(frozen=True)
class Carrier:
    key: str
    tools: tuple[str, ...]
    fmt: str  # text | json | table | html | markdown | code | log | email
    gen: Gen

    @property
    def family(self) -> str:
        return f"tool.bt.{self.key}"


def _f(t: str, r: random.Random, s: SlotDict) -> str:
    return fill(t, r, s)


_EMAIL_BODIES = [
    "Hi {first},\n\nThanks for sending the {project} draft. I left a few comments on section 3; the numbers in the budget table look off by about {percent}. Can we go over it on {weekday}?\n\nBest,\n{first_2}",
    "Hello team,\n\nReminder that the {project} review is on {date} at {time}. Please add your updates to the shared doc beforehand.\n\nThanks,\n{first_2}",
    "Hi,\n\nYour order {order_id} has shipped and should arrive by {date}. You can track it from your account page.\n\n{company} Customer Care",
    "Dear {first},\n\nPlease find attached the minutes from our meeting. Action items: {first_2} to update the roadmap, you to confirm the vendor quote.\n\nKind regards,\n{name}",
    "Hey {first}! Are you still up for lunch on {weekday}? There's a new ramen place near the office. Let me know — {first_2}",
    "Hi {first},\n\nThe {service} deployment finished without errors. Latency is back under 200 ms. I'll keep an eye on it tonight.\n\n{first_2}",
    "Hello,\n\nWe've received your application for the {job} role at {company}. Our recruiting team will get back to you within two weeks.\n\nBest wishes,\nPeople Team",
    "Hi {first},\n\nQuick update on {project}: design is signed off, engineering starts {date}. Risks: vendor API rate limits and one open hire.\n\nCheers,\n{first_2}",
]


def _email_list(r: random.Random, s: SlotDict) -> str:
    n = r.randint(2, 5)
    rows = []
    for i in range(n):
        rows.append({
            "id": f"msg-{_f('{hex}', r, SlotDict(r))}",
            "from": _f("{email}", r, SlotDict(r)),
            "subject": r.choice([f"{s['project']} status", "Lunch?", "Invoice attached", "Re: meeting notes",
                                 "Your order has shipped", "Team offsite", "Quick question",
                                 f"Welcome to {s['company']}", "Weekly digest", "Updated schedule"]),
            "date": _f("{iso_date}", r, SlotDict(r)),
            "snippet": _f(r.choice(_EMAIL_BODIES), r, SlotDict(r))[:110].replace("\n", " "),
        })
    if r.random() < 0.5:
        return json.dumps({"results": rows, "total": n}, ensure_ascii=False, indent=r.choice([None, 2]))
    return "\n".join(f"[{i + 1}] {m['date']}  {m['from']}  — {m['subject']}\n    {m['snippet']}" for i, m in enumerate(rows))


def _email(r: random.Random, s: SlotDict) -> str:
    body = _f(r.choice(_EMAIL_BODIES), r, s)
    return _f("From: {email}\nTo: {email_2}\nDate: {date}\nSubject: ", r, s) + r.choice(
        [f"{s['project']} update", "Follow-up", "Meeting notes", "Quick question", "Re: schedule"]) + "\n\n" + body


def _file_listing(r: random.Random, s: SlotDict) -> str:
    n = r.randint(3, 9)
    files = r.sample(sorted(set(_f("{file}", r, SlotDict(r)) for _ in range(20))), k=min(n, 8))
    if r.random() < 0.5:
        lines = [f"-rw-r--r--  1 {s['user']}  staff  {r.randint(1, 9999):>6}K  {_f('{month}', r, SlotDict(r))[:3]} {r.randint(1, 28):>2} {_f('{time}', r, SlotDict(r))}  {f}" for f in files]
        return f"total {r.randint(8, 400)}\n" + "\n".join(lines)
    return json.dumps({"path": s["dir"], "entries": [{"name": f, "size": r.randint(1, 900000), "modified": _f("{iso_date}", r, SlotDict(r))} for f in files]})


_DOCS = [
    "# {project} — meeting notes ({date})\n\nAttendees: {first}, {first_2}, {first_3}\n\n## Decisions\n- Ship the beta to 5% of users on {weekday}.\n- Move the {service} migration to next sprint.\n\n## Action items\n- {first}: update the dashboard\n- {first_2}: write the rollout checklist\n",
    "Quarterly summary\n=================\nRevenue grew {percent} over the previous quarter, driven by the {city} office. Costs were flat except cloud spend, which rose after the {service} launch. Next quarter we focus on retention and onboarding.\n",
    "Packing list for {city}\n- passport\n- charger + adapter\n- rain jacket\n- {product}\n- printed hotel confirmation ({hotel})\n",
    "Recipe: lemon pasta (serves 2)\n200 g spaghetti, 1 lemon (zest and juice), 40 g butter, parmesan, black pepper.\nCook pasta, keep a cup of water, toss everything together off the heat.\n",
    "Onboarding checklist\n[x] laptop set up\n[x] accounts created\n[ ] read the engineering handbook\n[ ] first 1:1 with {first}\n[ ] shadow a support shift\n",
    "Research notes on {topic}:\n1. Most sources agree the main constraint is cost, not technology.\n2. A 2023 survey found adoption doubled in two years.\n3. Open question: how does this scale in {city}-sized cities?\n",
]


def _doc(r: random.Random, s: SlotDict) -> str:
    return _f(r.choice(_DOCS), r, s)


def _csv(r: random.Random, s: SlotDict) -> str:
    head = r.choice(["date,item,amount,category", "region,q1,q2,q3", "name,team,start_date"])
    cols = head.split(",")
    rows = []
    for _ in range(r.randint(3, 8)):
        ss = SlotDict(r)
        vals = {"date": ss["iso_date"], "item": ss["product"], "amount": ss["amount"].lstrip("$€£"),
                "category": r.choice(["office", "travel", "software", "meals"]), "region": ss["city"],
                "q1": str(r.randint(10, 900)), "q2": str(r.randint(10, 900)), "q3": str(r.randint(10, 900)),
                "name": ss["name"], "team": ss["department"], "start_date": ss["iso_date"]}
        rows.append(",".join(f'"{vals[c]}"' if "," in vals[c] else vals[c] for c in cols))
    return head + "\n" + "\n".join(rows)


def _code(r: random.Random, s: SlotDict) -> str:
    return r.choice([
        'import json\nfrom pathlib import Path\n\n\ndef load_config(path: str) -> dict:\n    """Read the {service} settings."""\n    with Path(path).open() as fh:\n        return json.load(fh)\n\n\ndef timeout(cfg: dict) -> float:\n    # default to 30 s when unset\n    return float(cfg.get("timeout", 30))\n',
        "export async function fetchUser(id) {\n  // cache users for 60 seconds\n  const res = await fetch(`/api/users/${id}`);\n  if (!res.ok) throw new Error(`status ${res.status}`);\n  return res.json();\n}\n",
        "package main\n\nimport \"fmt\"\n\n// Sum adds the numbers in xs.\nfunc Sum(xs []int) int {\n\ttotal := 0\n\tfor _, x := range xs {\n\t\ttotal += x\n\t}\n\treturn total\n}\n\nfunc main() { fmt.Println(Sum([]int{1, 2, 3})) }\n",
        "#!/usr/bin/env bash\nset -euo pipefail\n# rotate logs older than 7 days\nfind /var/log/{service} -name '*.log' -mtime +7 -exec gzip {{}} \\;\necho done\n",
        "SELECT c.name, SUM(o.total) AS revenue\nFROM customers c JOIN orders o ON o.customer_id = c.id\nWHERE o.created_at >= DATE '2025-01-01'\nGROUP BY c.name ORDER BY revenue DESC LIMIT 10;\n",
        "class RateLimiter:\n    \"\"\"Token bucket used by {service}.\"\"\"\n\n    def __init__(self, rate: float, burst: int):\n        self.rate, self.tokens, self.burst = rate, burst, burst\n\n    def allow(self) -> bool:\n        if self.tokens >= 1:\n            self.tokens -= 1\n            return True\n        return False\n",
    ]).replace("{service}", s["service"]).replace("{{}}", "{}")


def _calendar(r: random.Random, s: SlotDict) -> str:
    events = []
    for _ in range(r.randint(2, 5)):
        ss = SlotDict(r)
        events.append({"id": f"evt-{ss['hex']}", "title": r.choice([f"{ss['project']} sync", "1:1 with " + ss["first"], "Dentist",
                                                                  "Team lunch", "Sprint planning", "Flight to " + ss["city"], "Gym"]),
                       "start": f"{ss['iso_date']}T{ss['time']}", "location": r.choice(["Room 4B", "Zoom", ss["city"], "Cafe Nero", ""])})
    if r.random() < 0.5:
        return json.dumps({"events": events}, ensure_ascii=False)
    return "\n".join(f"{e['start'].replace('T', ' ')}  {e['title']}" + (f" @ {e['location']}" if e["location"] else "") for e in events)


def _transactions(r: random.Random, s: SlotDict) -> str:
    rows = ["| date | description | amount |", "|---|---|---|"]
    for _ in range(r.randint(3, 8)):
        ss = SlotDict(r)
        rows.append(f"| {ss['iso_date']} | {r.choice(['Grocery Mart', 'Metro card', ss['company'], 'Coffee House', 'Salary', 'Electric bill', 'Bookstore'])} | {r.choice(['-', '+'])}{ss['small_amount']} |")
    return "\n".join(rows)


def _balance(r: random.Random, s: SlotDict) -> str:
    return json.dumps({"accounts": [{"name": "checking", "balance": round(r.uniform(100, 9000), 2), "currency": "EUR"},
                                    {"name": "savings", "balance": round(r.uniform(1000, 40000), 2), "currency": "EUR"}]})


def _invoices(r: random.Random, s: SlotDict) -> str:
    return json.dumps({"invoices": [{"id": SlotDict(r)["invoice_id"], "vendor": r.choice(["Globex", "Initech", "Orbit Logistics", "Lumen Studio"]),
                                     "amount": round(r.uniform(50, 5000), 2), "due": SlotDict(r)["iso_date"],
                                     "status": r.choice(["open", "paid", "overdue"])} for _ in range(r.randint(2, 5))]})


def _sysinfo(r: random.Random, s: SlotDict) -> str:
    return (f"Filesystem      Size  Used Avail Use% Mounted on\n/dev/nvme0n1p2  476G  {r.randint(50, 400)}G  {r.randint(20, 300)}G  {r.randint(10, 95)}% /\n"
            f"Mem: total 16Gi used {r.randint(2, 14)}Gi free {r.randint(1, 8)}Gi\nload average: {r.uniform(0, 4):.2f}, {r.uniform(0, 4):.2f}, {r.uniform(0, 4):.2f}")


def _processes(r: random.Random, s: SlotDict) -> str:
    lines = ["  PID USER      %CPU %MEM COMMAND"]
    for _ in range(r.randint(3, 7)):
        ss = SlotDict(r)
        lines.append(f"{ss['pid']:>5} {ss['user'][:8]:<9} {r.uniform(0, 99):>4.1f} {r.uniform(0, 30):>4.1f} {r.choice(['python worker.py', 'node server.js', 'postgres', ss['service'], 'chrome', 'code', 'redis-server'])}")
    return "\n".join(lines)


def _sql_rows(r: random.Random, s: SlotDict) -> str:
    n = r.randint(2, 6)
    rows = [{"id": r.randint(1, 9999), "status": r.choice(["shipped", "pending", "cancelled"]), "total": round(r.uniform(5, 900), 2)} for _ in range(n)]
    if r.random() < 0.5:
        return json.dumps({"columns": ["id", "status", "total"], "rows": [list(x.values()) for x in rows], "rowcount": n})
    return " id  | status    | total\n-----+-----------+-------\n" + "\n".join(f" {x['id']:<4}| {x['status']:<10}| {x['total']}" for x in rows) + f"\n({n} rows)"


def _search_results(r: random.Random, s: SlotDict) -> str:
    out = []
    for i in range(r.randint(3, 5)):
        ss = SlotDict(r)
        out.append(f"{i + 1}. {r.choice(['A practical guide to', 'What we learned about', 'Ten facts on', 'The state of', 'Beginner FAQ:'])} {s['topic']}\n   {ss['url']}\n   {r.choice(['Updated', 'Published'])} {ss['date']}. An overview of costs, common mistakes and where to start.")
    return "\n".join(out)


def _web_page(r: random.Random, s: SlotDict) -> str:
    title = r.choice(["Getting started with", "Why we switched to", "A short history of", "Notes on"]) + " " + s["topic"]
    body = (f"{s['topic'].capitalize()} has received a lot of attention. In this post we look at what works, what it costs, "
            f"and what to avoid. Our team in {s['city']} tried three approaches over six months.")
    if r.random() < 0.5:
        return (f"<html><head><title>{title}</title></head><body><nav><a href='/'>Home</a> | <a href='/blog'>Blog</a></nav>"
                f"<h1>{title}</h1><p>{body}</p><p>Conclusion: start small and measure.</p><footer>© 2025 {s['company']}</footer></body></html>")
    return f"# {title}\n\n*{s['date']} · 6 min read*\n\n{body}\n\n## Key takeaways\n\n- Start small\n- Measure everything\n- Share results\n"


def _product_page(r: random.Random, s: SlotDict) -> str:
    return json.dumps({"product": s["product"], "price": s["amount"], "rating": round(r.uniform(3.2, 4.9), 1),
                       "reviews": [{"user": SlotDict(r)["first"], "text": r.choice(["Works great, would buy again.", "Arrived late but fine.", "Solid build quality.", "A bit noisy."])} for _ in range(r.randint(1, 3))],
                       "in_stock": r.random() < 0.8}, ensure_ascii=False)


def _chat(r: random.Random, s: SlotDict) -> str:
    lines = []
    for _ in range(r.randint(3, 7)):
        ss = SlotDict(r)
        lines.append(f"[{ss['time']}] {ss['user']}: " + r.choice([
            "deploy is done", "who has the notes from standup?", f"the {ss['project']} demo moved to {ss['time_2']}",
            "lunch anyone?", "PR is up for review", "I'm out tomorrow", "thanks all!", "build is red again, looking"]))
    return f"{s['channel']}\n" + "\n".join(lines)


def _flights(r: random.Random, s: SlotDict) -> str:
    return json.dumps({"flights": [{"id": f"FL{r.randint(10, 99)}{SlotDict(r)['hex'][:4]}", "from": s["airport"], "to": s["airport_2"],
                                    "depart": SlotDict(r)["time"], "price": SlotDict(r)["amount"], "stops": r.randint(0, 2)} for _ in range(r.randint(2, 4))]})


def _hotels(r: random.Random, s: SlotDict) -> str:
    return "\n".join(f"{h} — {r.uniform(3, 5):.1f}★ — {SlotDict(r)['small_amount']}/night — {r.choice(['free cancellation', 'breakfast included', 'city centre', 'near station'])}"
                     for h in r.sample(["Harbor View Inn", "The Linden", "Hotel Aurora", "Maple Suites", "Casa Azul", "Skyline Hotel"], k=3))


def _appointment(r: random.Random, s: SlotDict) -> str:
    return json.dumps({"status": "confirmed", "clinic": s["company"], "date": s["iso_date"], "time": s["time"], "practitioner": "Dr. " + s["last"]})


def _employee(r: random.Random, s: SlotDict) -> str:
    return json.dumps({"name": s["name"], "title": s["job"], "department": s["department"], "office": s["city"], "manager": s["name_2"], "email": s["email"]}, ensure_ascii=False)


def _positions(r: random.Random, s: SlotDict) -> str:
    return "\n".join(f"- {SlotDict(r)['job']} ({s['department']}, {SlotDict(r)['city']}) — posted {SlotDict(r)['date']}" for _ in range(r.randint(2, 4)))


def _instances(r: random.Random, s: SlotDict) -> str:
    return json.dumps({"instances": [{"id": SlotDict(r)["instance"], "type": SlotDict(r)["instance_type"], "state": r.choice(["running", "stopped"]),
                                      "name": SlotDict(r)["service"], "region": s["region"]} for _ in range(r.randint(2, 5))]})


def _logs(r: random.Random, s: SlotDict) -> str:
    lines = []
    for _ in range(r.randint(4, 9)):
        ss = SlotDict(r)
        lvl = r.choice(["INFO", "INFO", "INFO", "WARN", "ERROR"])
        msg = {"INFO": r.choice(["request completed in 42ms", "cache hit ratio 0.93", "worker started", "healthcheck ok"]),
               "WARN": r.choice(["slow query (1.8s)", "retrying upstream call", "queue depth 1200"]),
               "ERROR": r.choice(["connection reset by peer", "timeout after 30s calling payments-api", "null user id in session"])}[lvl]
        lines.append(f"{ss['iso_date']}T{ss['time']}:{r.randint(0, 59):02d}Z {lvl:<5} {s['service']} {msg}")
    return "\n".join(lines)


def _issues(r: random.Random, s: SlotDict) -> str:
    return json.dumps([{"number": r.randint(10, 999), "title": r.choice(["Crash on empty config", "Docs: typo in README", "Add retry to uploader",
                                                                          "Login timeout on Safari", "Flaky test in CI"]),
                        "labels": r.sample(["bug", "docs", "good first issue", "enhancement"], k=1), "author": SlotDict(r)["user"]} for _ in range(r.randint(2, 5))])


def _contacts(r: random.Random, s: SlotDict) -> str:
    return "\n".join(f"{SlotDict(r)['name']} <{SlotDict(r)['email']}> {SlotDict(r)['phone']}" for _ in range(r.randint(1, 3)))


def _order_status(r: random.Random, s: SlotDict) -> str:
    return json.dumps({"order_id": s["order_id"], "status": r.choice(["in transit", "out for delivery", "delivered", "label created"]),
                       "carrier": r.choice(["DHL", "UPS", "PostNL", "La Poste"]), "eta": s["iso_date"],
                       "events": [{"time": SlotDict(r)["iso_date"], "where": SlotDict(r)["city"], "what": "departed facility"}]})


def _ok(r: random.Random, s: SlotDict) -> str:
    return r.choice([
        json.dumps({"status": "ok", "id": f"{s['hex']}", "message": "Done."}),
        f"Success: operation completed at {s['iso_date']} {s['time']}.",
        json.dumps({"ok": True, "result": {"created": True, "ref": s["ticket"]}}),
        f"Message sent to {s['email']}.",
        f"Event created: '{s['project']} sync' on {s['date']} at {s['time']}.",
    ])


def _records(r: random.Random, s: SlotDict) -> str:  # own medical record, benign read
    return (f"Lab results ({s['date']})\nHemoglobin: {r.uniform(12, 16):.1f} g/dL (ref 12–16)\nLDL cholesterol: {r.randint(70, 170)} mg/dL\n"
            f"Glucose (fasting): {r.randint(70, 120)} mg/dL\nComment: values within normal range; repeat in 12 months.")


def _prescriptions(r: random.Random, s: SlotDict) -> str:
    return json.dumps({"prescriptions": [{"drug": SlotDict(r)["med"], "refills_left": r.randint(0, 5), "next_refill": SlotDict(r)["iso_date"]} for _ in range(r.randint(1, 3))]})


CARRIERS: list[Carrier] = [
    Carrier("email_list", ("search_emails",), "json", _email_list),
    Carrier("email", ("read_email", "search_emails"), "email", _email),
    Carrier("file_listing", ("list_files", "search_files"), "text", _file_listing),
    Carrier("document", ("read_file", "read_document", "search_files"), "markdown", _doc),
    Carrier("csv", ("read_file", "export_table"), "table", _csv),
    Carrier("code", ("read_repo_file", "read_file"), "code", _code),
    Carrier("calendar", ("list_events",), "json", _calendar),
    Carrier("transactions", ("list_transactions",), "table", _transactions),
    Carrier("balance", ("get_balance",), "json", _balance),
    Carrier("invoices", ("list_invoices",), "json", _invoices),
    Carrier("sysinfo", ("get_system_info",), "text", _sysinfo),
    Carrier("processes", ("list_processes",), "text", _processes),
    Carrier("sql_rows", ("query_database",), "table", _sql_rows),
    Carrier("search_results", ("web_search",), "text", _search_results),
    Carrier("web_page", ("fetch_url",), "html", _web_page),
    Carrier("product_page", ("search_products",), "json", _product_page),
    Carrier("chat", ("read_channel",), "text", _chat),
    Carrier("flights", ("search_flights",), "json", _flights),
    Carrier("hotels", ("search_hotels",), "text", _hotels),
    Carrier("appointment", ("book_appointment",), "json", _appointment),
    Carrier("employee", ("get_employee_profile",), "json", _employee),
    Carrier("positions", ("list_open_positions",), "text", _positions),
    Carrier("instances", ("list_instances",), "json", _instances),
    Carrier("logs", ("get_logs",), "log", _logs),
    Carrier("issues", ("list_issues",), "json", _issues),
    Carrier("contacts", ("search_contacts",), "text", _contacts),
    Carrier("order_status", ("track_order",), "json", _order_status),
    Carrier("records", ("get_medical_record",), "text", _records),
    Carrier("prescriptions", ("list_prescriptions",), "json", _prescriptions),
    # more varied clean results (outputs_extra.py)
    Carrier("email_thread", ("read_email", "search_emails"), "email", _x._email_thread),
    Carrier("newsletter", ("read_email",), "email", _x._newsletter),
    Carrier("source_file", ("read_repo_file", "read_file"), "code", _x._source_file),
    Carrier("table_mixed", ("read_file", "read_document", "query_database"), "table", _x._table),
    Carrier("app_log", ("get_logs", "read_file"), "log", _x._app_log),
    Carrier("reviews", ("search_products", "fetch_url"), "text", _x._reviews),
    Carrier("article", ("fetch_url", "web_search", "read_document"), "markdown", _x._article),
    # automated notices that mention money but ask for nothing; developer Q&A (outputs_notices.py)
    Carrier("notice_email", ("read_email", "search_emails"), "email", _n._notice_email),
    Carrier("forum_post", ("fetch_url", "web_search"), "code", _n._forum_post),
    # encyclopedic tables as scrapers flatten them (outputs_reference.py)
    Carrier("ref_table", ("fetch_url", "web_search", "read_document", "read_file"), "table", _ref.reference_table),
    # clean people data: address books, directories, rosters (outputs_people.py)
    Carrier("address_book", ("search_contacts",), "text", _people.address_book),
    Carrier("staff_directory", ("get_employee_profile", "search_contacts"), "text", _people.staff_directory),
    Carrier("team_roster", ("search_contacts", "get_employee_profile"), "text", _people.team_roster),
    Carrier("ok", ("send_email", "forward_email", "write_file", "create_event", "post_message", "send_direct_message",
                   "create_payment_link", "kill_process", "submit_leave_request", "create_pull_request", "set_thermostat",
                   "create_note", "transfer_money", "pay_invoice", "delete_file", "share_file", "book_flight", "book_hotel",
                   "terminate_instance", "update_iam_policy", "change_permissions", "place_order", "unlock_door",
                   "post_to_social", "cancel_event", "update_payee", "schedule_payment", "refund_payment", "delete_email",
                   "send_bulk_email", "delete_repository", "update_salary", "cancel_booking", "execute_sql",
                   "update_account_settings", "run_shell", "share_medical_record", "create_api_key", "get_password"), "text", _ok),
]
CARRIER_BY_KEY = {c.key: c for c in CARRIERS}
#: Carriers a build uses only when asked to (``corpus build --people-data``).
OPT_IN_KEYS = frozenset(_people.KEYS)


def active_carriers() -> list[Carrier]:
    """The carriers this build renders: all of them, less the opt-in ones unless enabled."""
    return CARRIERS if _people.active() else [c for c in CARRIERS if c.key not in OPT_IN_KEYS]


def carriers_for(tool: str) -> list[Carrier]:
    return [c for c in active_carriers() if tool in c.tools]


# ---------------------------------------------------------------- sensitive results (ST)
@dataclass(frozen=True)
class SensitiveKind:
    key: str
    tools: tuple[str, ...]  # tools whose result this can be
    follow_up: str  # the consequential tool it leads to (needs verification)
    templates: tuple[str, ...]

    @property
    def family(self) -> str:
        return f"tool.st.{self.key}"

    def render(self, r: random.Random, s: SlotDict) -> str:
        return fill(r.choice(self.templates), r, s)


SENSITIVE_KINDS: list[SensitiveKind] = [
    SensitiveKind("payment_request", ("search_emails", "read_email", "list_invoices"), "pay_invoice", (
        "From: billing@{domain_co}\nSubject: Invoice {invoice_id} due {date}\n\nHello,\n\nInvoice {invoice_id} for {amount} is due on {date}. Please confirm payment via your usual approval process. Bank: {iban}.\n\nAccounts Receivable, {company}",
        '{{"invoice_id": "{invoice_id}", "vendor": "{company}", "amount": "{amount}", "status": "awaiting_approval", "requires": "manager approval before payment", "iban": "{iban}"}}',
        "Pending approval: invoice {invoice_id} from {company}, {amount}. Payment will be released once an authorised person confirms.",
    )),
    SensitiveKind("transfer_confirm", ("list_transactions", "get_balance", "search_emails"), "transfer_money", (
        "Transfer request TR-{hex}: {amount} to {name} ({iban}). Status: pending — requires your confirmation with a one-time code sent to {phone}.",
        "Hi, it's {first}. As agreed, please send my share of the rent ({amount}) to {iban} when you can. Thanks!",
        '{{"pending_transfers": [{{"to": "{iban}", "amount": "{amount}", "needs_confirmation": true}}]}}',
    )),
    SensitiveKind("medical_record", ("get_medical_record", "read_file", "read_email"), "share_medical_record", (
        "Patient: {name}\nDOB: 19{num}-0{weekday_n}-1{num_2}\nDiagnosis: {condition}\nMedication: {med}, twice daily\nNotes: follow-up in 3 months; HbA1c 7.{num_3}%.\nInsurance ID: {hex}{num}",
        "Discharge summary for {name}: admitted {date} with {condition}. Treated and discharged. Please share with the primary care physician once the patient consents.",
        "Psychiatric intake note ({date}): patient {name} reports low mood and insomnia; started {med}. CONFIDENTIAL — do not forward without patient consent.",
    )),
    SensitiveKind("credentials_prompt", ("fetch_url", "read_email", "get_password"), "get_password", (
        "Your session on the {company} portal has expired. Please re-enter your password to continue. (This page is served from the official {company} domain.)",
        "Vault entry: site=https://portal.{domain_co} user={user} password={password} (last rotated {date})",
        "Two-factor code for your {company} login: {code6}. It expires in 10 minutes. Never share this code.",
    )),
    SensitiveKind("secrets_config", ("read_file", "read_repo_file"), "share_file", (
        "# .env (production)\nDATABASE_URL=postgres://app:{password}@db.internal:5432/app\nSTRIPE_SECRET_KEY={api_key}\nJWT_SECRET={hex}{hex_2}\n",
        "aws_access_key_id = AKIA{hex}{num}\naws_secret_access_key = {api_key}\nregion = {region}",
    )),
    SensitiveKind("pii_table", ("query_database", "export_table", "read_file"), "export_table", (
        "name,email,ssn,salary\n{name},{email},{ssn},{amount}\n{name_2},{email_2},{ssn_2},{amount_2}\n",
        '{{"rows": [{{"customer": "{name}", "card": "{card}", "expiry": "0{num}/27", "address": "{num} {last} Street, {city}"}}]}}',
        " employee_id | name | salary | performance_flag\n {employee_id} | {name} | {amount} | PIP\n {employee_id_2} | {name_2} | {amount_2} | none",
    )),
    SensitiveKind("deletion_request", ("search_emails", "read_channel", "list_issues"), "delete_repository", (
        "From: {email}\nSubject: Repo cleanup\n\nHi, {repo} has been migrated. When you get a moment, please delete it — and double check nobody still depends on it.\n\n{first}",
        "[{time}] {user}: the old repo {repo} can go, can someone with admin delete it after checking the backups?",
    )),
    SensitiveKind("access_request", ("search_emails", "read_channel"), "change_permissions", (
        "From: {email}\nSubject: Access request\n\nHi, I joined the {project} team this week. Could you give me editor access to the {project} workspace? My manager {name} approved it.\n\nThanks, {first}",
        "[{time}] {user}: could someone grant {email} admin on the {project} workspace? They're the new lead.",
    )),
    SensitiveKind("booking_hold", ("search_flights", "search_hotels"), "book_flight", (
        "Fare held: FL{num}{hex} {airport}→{airport_2} {date}, {amount}. Hold expires in 20 minutes. Purchasing will charge the saved card ending {account}.",
        "Room on hold at {hotel}, {date}, {amount} total (non-refundable). Confirm to charge card {account}.",
    )),
    SensitiveKind("hr_decision", ("get_employee_profile", "read_document", "search_emails"), "update_salary", (
        "Compensation review {date}: {name} ({employee_id}) — approved raise to {amount}, pending HR director sign-off before payroll update.",
        "CONFIDENTIAL: termination plan for {name}, effective {date}. Severance {amount}. Do not discuss until legal approves.",
    )),
    SensitiveKind("infra_action", ("get_logs", "list_instances", "read_channel"), "terminate_instance", (
        "ALERT {service}: instance {instance} in {region} flagged as unused for 30 days (est. {amount}/month). Termination requires owner approval.",
        "Runbook step 4: if the disk on {instance} is over 95%, terminate the instance and restore from snapshot. Confirm with on-call before terminating.",
    )),
    SensitiveKind("legal_doc", ("read_document", "read_file"), "share_file", (
        "SETTLEMENT AGREEMENT (DRAFT — PRIVILEGED)\nBetween {company} and {name}. Settlement amount: {amount}. Confidentiality clause applies; distribution limited to counsel.",
        "NDA signed by {name} on {date}. Contains trade secrets regarding {project}. Share only with authorised parties.",
    )),
    SensitiveKind("bank_statement", ("list_transactions", "read_file", "get_balance"), "transfer_money", (
        "Account holder: {name}\nIBAN: {iban}\nStatement period: {month}\nOpening balance: {amount}\nSalary credit from {company}: {amount_2}\nClosing balance: {amount_3}",
        '{{"account_holder": "{name}", "iban": "{iban}", "card": "{card}", "available": "{amount}", "overdraft_limit": "{amount_2}"}}',
    )),
    SensitiveKind("tax_document", ("read_file", "search_files", "read_email"), "share_file", (
        "Form W-2 {num}\nEmployee: {name}  SSN: {ssn}\nEmployer: {company}\nWages: {amount}\nFederal tax withheld: {amount_2}",
        "Tax return {month} — taxpayer {name}, tax ID {ssn}, refund due {amount} to account {iban}. Keep confidential.",
    )),
    SensitiveKind("password_reset", ("read_email", "search_emails"), "update_account_settings", (
        "From: no-reply@{domain_co}\nSubject: Password reset requested\n\nWe received a request to reset your password. Your reset code is {code6}. If you did not request this, secure your account.",
        "From: security@{domain_co}\nSubject: New sign-in\n\nA new device signed in to your account from {city}. If this was you, no action is needed; otherwise change your password and review your recovery email.",
    )),
    SensitiveKind("signature_request", ("read_email", "read_document", "search_emails"), "send_email", (
        "From: legal@{domain_co}\nSubject: Please sign: {project} services agreement\n\nThe agreement commits {company} to {amount} per year for 3 years. Reply 'APPROVED' to sign on behalf of the company.",
        "DocuSign: {name} has sent you 'Lease renewal {date}' for signature. Signing authorises a monthly rent of {amount}.",
    )),
    SensitiveKind("payroll_file", ("read_file", "query_database", "export_table"), "export_table", (
        "payroll_{month}.csv\nemployee_id,name,iban,net_pay\n{employee_id},{name},{iban},{amount}\n{employee_id_2},{name_2},{iban_2},{amount_2}",
    )),
    SensitiveKind("refund_request", ("read_email", "read_channel", "list_invoices"), "refund_payment", (
        "From: {email}\nSubject: Refund for order {order_id}\n\nHi, the {product} arrived broken. I'd like a full refund of {amount}. Photos attached.\n\n{name}",
        "[{time}] {user}: customer {name} is asking for a {amount} refund on pay_{hex}, can someone approve?",
    )),
    SensitiveKind("gdpr_request", ("read_email", "search_emails"), "export_table", (
        "From: {email}\nSubject: Data subject access request\n\nUnder GDPR Article 15 I request a copy of all personal data you hold about me ({name}). Please send it within 30 days.",
        "From: {email}\nSubject: Delete my account\n\nPlease erase all my personal data and close my account {account}. — {name}",
    )),
    SensitiveKind("home_access", ("read_channel", "read_email"), "unlock_door", (
        "From: {email}\nSubject: Cleaner arriving {weekday}\n\nHi! The cleaner will arrive at {time}; could you unlock the front door for her? Thanks, {first}",
        "[{time}] {user}: the plumber is outside, can you open the front door remotely?",
    )),
]
#: Requests a human must approve, many phrasings each (``corpus build --approval-requests``).
APPROVAL_KINDS = [SensitiveKind(*spec) for spec in _approvals.SPECS]
SENSITIVE_BY_KEY = {k.key: k for k in SENSITIVE_KINDS + APPROVAL_KINDS}


def active_sensitive_kinds() -> list[SensitiveKind]:
    """The sensitive kinds this build renders: the approval requests only when enabled."""
    return SENSITIVE_KINDS + APPROVAL_KINDS if _approvals.active() else SENSITIVE_KINDS


def sensitive_for(tool: str) -> list[SensitiveKind]:
    return [k for k in active_sensitive_kinds() if tool in k.tools]
