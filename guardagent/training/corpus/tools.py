"""The tool catalogue: JSON schemas across domains, each marked sensitive or not.

``TOOLS`` is a list of :class:`~guardagent.training.episode.ToolSpec`; ``TOOL_BY_NAME`` maps a
name to its spec and ``sample_args(name, rng)`` draws realistic arguments for a call (used by
the action rows and by the episodes' expected task arguments).
"""

from __future__ import annotations

import random
from typing import Any

from guardagent.training.episode import ToolSpec
from guardagent.training.corpus.slots import SlotDict, fill

# name: (domain, description, sensitive, {param: (json type, description, slot template)}, required)
_P = dict[str, tuple[str, str, Any]]
_CATALOGUE: list[tuple[str, str, str, bool, _P, list[str]]] = [
    # mail
    ("search_emails", "mail", "Search the user's mailbox and return matching messages.", False,
     {"query": ("string", "Search terms", "{project}"), "limit": ("integer", "Max results", 10)}, ["query"]),
    ("read_email", "mail", "Read one email by id.", False,
     {"email_id": ("string", "Message id", "msg-{hex}")}, ["email_id"]),
    ("send_email", "mail", "Send an email from the user's account.", False,
     {"to": ("string", "Recipient address", "{email}"), "subject": ("string", "Subject", "{project} follow-up"),
      "body": ("string", "Body text", "Hi {first}, following up on {project}. Best, {first_2}")}, ["to", "subject", "body"]),
    ("forward_email", "mail", "Forward an email (and its attachments) to another address.", True,
     {"email_id": ("string", "Message id", "msg-{hex}"), "to": ("string", "Recipient", "{email}")}, ["email_id", "to"]),
    ("delete_email", "mail", "Permanently delete emails.", True,
     {"email_ids": ("array", "Message ids", ["msg-{hex}"])}, ["email_ids"]),
    ("send_bulk_email", "mail", "Send one email to a mailing list or many recipients.", True,
     {"list_name": ("string", "Mailing list", "all-customers"), "subject": ("string", "Subject", "{company} newsletter"),
      "body": ("string", "Body", "Hello, here is our {month} update.")}, ["list_name", "subject", "body"]),
    # files
    ("list_files", "files", "List files in a directory.", False,
     {"path": ("string", "Directory", "{dir}")}, ["path"]),
    ("read_file", "files", "Read a text file.", False,
     {"path": ("string", "File path", "{path}")}, ["path"]),
    ("write_file", "files", "Create or overwrite a file.", False,
     {"path": ("string", "File path", "{dir}/draft_{num}.md"), "content": ("string", "Content", "# Notes on {topic}")}, ["path", "content"]),
    ("search_files", "files", "Full-text search over the user's files.", False,
     {"query": ("string", "Search terms", "{topic}")}, ["query"]),
    ("delete_file", "files", "Delete a file or directory permanently.", True,
     {"path": ("string", "Path", "{path}"), "recursive": ("boolean", "Delete directories", False)}, ["path"]),
    ("share_file", "files", "Share a file with a person (gives them access).", True,
     {"path": ("string", "File path", "{path}"), "with_email": ("string", "Recipient", "{email}"),
      "role": ("string", "viewer|editor", "viewer")}, ["path", "with_email"]),
    # calendar
    ("list_events", "calendar", "List calendar events in a date range.", False,
     {"start": ("string", "Start date", "{iso_date}"), "end": ("string", "End date", "{iso_date}")}, ["start"]),
    ("create_event", "calendar", "Create a calendar event and invite people.", False,
     {"title": ("string", "Title", "{project} sync"), "start": ("string", "Start", "{iso_date}T{time}"),
      "attendees": ("array", "Emails", ["{email}"])}, ["title", "start"]),
    ("cancel_event", "calendar", "Cancel an event and notify all attendees.", True,
     {"event_id": ("string", "Event id", "evt-{hex}")}, ["event_id"]),
    # banking
    ("get_balance", "banking", "Get account balances.", False, {"account": ("string", "Account", "checking")}, []),
    ("list_transactions", "banking", "List recent transactions.", False,
     {"account": ("string", "Account", "checking"), "days": ("integer", "How many days", 30)}, []),
    ("transfer_money", "banking", "Transfer money to an IBAN or saved payee.", True,
     {"recipient": ("string", "IBAN or payee", "{iban}"), "amount": ("number", "Amount", 250.0),
      "reference": ("string", "Reference", "Rent {month}")}, ["recipient", "amount"]),
    ("update_payee", "banking", "Add or change a saved payee's bank details.", True,
     {"payee": ("string", "Payee name", "{name}"), "iban": ("string", "New IBAN", "{iban}")}, ["payee", "iban"]),
    ("schedule_payment", "banking", "Schedule a recurring payment.", True,
     {"recipient": ("string", "IBAN", "{iban}"), "amount": ("number", "Amount", 80.0),
      "every": ("string", "Frequency", "month")}, ["recipient", "amount", "every"]),
    # payments / invoicing
    ("list_invoices", "payments", "List open and paid invoices.", False, {"status": ("string", "open|paid|all", "open")}, []),
    ("pay_invoice", "payments", "Pay an invoice from the company account.", True,
     {"invoice_id": ("string", "Invoice id", "{invoice_id}")}, ["invoice_id"]),
    ("refund_payment", "payments", "Refund a customer payment.", True,
     {"payment_id": ("string", "Payment id", "pay_{hex}"), "amount": ("number", "Amount", 49.0)}, ["payment_id"]),
    ("create_payment_link", "payments", "Create a checkout link for a customer.", False,
     {"amount": ("number", "Amount", 120.0), "description": ("string", "What for", "{product}")}, ["amount"]),
    # shell / system
    ("run_shell", "shell", "Run a shell command on the user's workstation.", True,
     {"command": ("string", "Command line", "ls -la {dir}")}, ["command"]),
    ("list_processes", "shell", "List running processes.", False, {"filter": ("string", "Name filter", "{service}")}, []),
    ("kill_process", "shell", "Stop a process by PID.", False, {"pid": ("integer", "Process id", 4242)}, ["pid"]),
    ("get_system_info", "shell", "Disk, memory and CPU usage.", False, {}, []),
    # database
    ("query_database", "database", "Run a read-only SQL query.", False,
     {"sql": ("string", "SELECT statement", "SELECT id, status FROM {table} LIMIT 20")}, ["sql"]),
    ("execute_sql", "database", "Run a SQL statement that modifies data.", True,
     {"sql": ("string", "Statement", "UPDATE {table} SET status = 'archived' WHERE id = {num}")}, ["sql"]),
    ("export_table", "database", "Export a table to a file or external destination.", True,
     {"table": ("string", "Table", "{table}"), "destination": ("string", "Path or URL", "/data/exports/{table}.csv")}, ["table", "destination"]),
    # web
    ("web_search", "web", "Search the web.", False, {"query": ("string", "Query", "{topic}")}, ["query"]),
    ("fetch_url", "web", "Fetch a web page and return its text.", False, {"url": ("string", "URL", "{url}")}, ["url"]),
    # chat
    ("read_channel", "chat", "Read recent messages in a chat channel.", False,
     {"channel": ("string", "Channel", "{channel}"), "limit": ("integer", "How many", 20)}, ["channel"]),
    ("post_message", "chat", "Post a message in a chat channel.", False,
     {"channel": ("string", "Channel", "{channel}"), "text": ("string", "Message", "Standup notes for {weekday} are in the doc.")}, ["channel", "text"]),
    ("send_direct_message", "chat", "Send a direct message to a colleague.", False,
     {"user": ("string", "Recipient", "{user}"), "text": ("string", "Message", "Can we move our 1:1 to {time}?")}, ["user", "text"]),
    # travel
    ("search_flights", "travel", "Search flights.", False,
     {"origin": ("string", "From", "{airport}"), "destination": ("string", "To", "{airport_2}"), "date": ("string", "Date", "{iso_date}")}, ["origin", "destination", "date"]),
    ("book_flight", "travel", "Book a flight with the saved card.", True,
     {"flight_id": ("string", "Flight", "FL{num}{hex}"), "passengers": ("integer", "Count", 1)}, ["flight_id"]),
    ("search_hotels", "travel", "Search hotels in a city.", False,
     {"city": ("string", "City", "{city}"), "check_in": ("string", "Date", "{iso_date}")}, ["city"]),
    ("book_hotel", "travel", "Book a hotel room with the saved card.", True,
     {"hotel": ("string", "Hotel", "{hotel}"), "nights": ("integer", "Nights", 2)}, ["hotel"]),
    ("cancel_booking", "travel", "Cancel a flight or hotel booking.", True,
     {"booking_id": ("string", "Booking", "BK-{hex}")}, ["booking_id"]),
    # health
    ("get_medical_record", "health", "Read the user's own medical record.", False,
     {"section": ("string", "Section", "lab_results")}, []),
    ("share_medical_record", "health", "Share medical records with a provider or person.", True,
     {"recipient": ("string", "Who", "{email}"), "section": ("string", "Section", "all")}, ["recipient"]),
    ("book_appointment", "health", "Book a clinic appointment.", False,
     {"clinic": ("string", "Clinic", "{company}"), "date": ("string", "Date", "{iso_date}")}, ["date"]),
    ("list_prescriptions", "health", "List the user's active prescriptions.", False, {}, []),
    # HR
    ("get_employee_profile", "hr", "Look up an employee's directory profile.", False,
     {"employee": ("string", "Name or id", "{name}")}, ["employee"]),
    ("update_salary", "hr", "Change an employee's salary.", True,
     {"employee_id": ("string", "Employee", "{employee_id}"), "new_salary": ("number", "Annual salary", 72000)}, ["employee_id", "new_salary"]),
    ("submit_leave_request", "hr", "Submit a leave request for the user.", False,
     {"start": ("string", "Start", "{iso_date}"), "days": ("integer", "Days", 3)}, ["start", "days"]),
    ("list_open_positions", "hr", "List open job positions.", False, {"department": ("string", "Department", "{department}")}, []),
    # cloud admin
    ("list_instances", "cloud", "List compute instances.", False, {"region": ("string", "Region", "{region}")}, []),
    ("get_logs", "cloud", "Fetch recent logs of a service.", False,
     {"service": ("string", "Service", "{service}"), "lines": ("integer", "Lines", 100)}, ["service"]),
    ("terminate_instance", "cloud", "Terminate (destroy) a compute instance.", True,
     {"instance_id": ("string", "Instance", "{instance}")}, ["instance_id"]),
    ("update_iam_policy", "cloud", "Grant or revoke cloud permissions.", True,
     {"principal": ("string", "User or role", "{email}"), "role": ("string", "Role", "roles/viewer"),
      "action": ("string", "grant|revoke", "grant")}, ["principal", "role"]),
    ("create_api_key", "cloud", "Create a new API key.", True, {"name": ("string", "Key label", "{service}-key")}, ["name"]),
    # code
    ("read_repo_file", "code", "Read a file from a git repository.", False,
     {"repo": ("string", "owner/name", "{repo}"), "path": ("string", "Path", "src/{service}.py")}, ["repo", "path"]),
    ("list_issues", "code", "List issues of a repository.", False, {"repo": ("string", "owner/name", "{repo}")}, ["repo"]),
    ("create_pull_request", "code", "Open a pull request.", False,
     {"repo": ("string", "owner/name", "{repo}"), "branch": ("string", "Branch", "{branch}"), "title": ("string", "Title", "Fix {service} timeout")}, ["repo", "branch", "title"]),
    ("delete_repository", "code", "Delete a repository permanently.", True, {"repo": ("string", "owner/name", "{repo}")}, ["repo"]),
    # contacts / accounts / shopping / home / notes / social
    ("search_contacts", "contacts", "Search the address book.", False, {"query": ("string", "Name", "{first}")}, ["query"]),
    ("get_password", "accounts", "Retrieve a stored password from the vault.", True, {"site": ("string", "Site", "{url}")}, ["site"]),
    ("update_account_settings", "accounts", "Change security or account settings.", True,
     {"setting": ("string", "Setting", "notifications"), "value": ("string", "Value", "weekly")}, ["setting", "value"]),
    ("change_permissions", "accounts", "Change who can access a shared workspace or folder.", True,
     {"resource": ("string", "Resource", "{project} workspace"), "user": ("string", "Email", "{email}"), "role": ("string", "Role", "editor")}, ["resource", "user", "role"]),
    ("search_products", "shopping", "Search an online store.", False, {"query": ("string", "Query", "{product}")}, ["query"]),
    ("place_order", "shopping", "Buy items with the saved card.", True,
     {"product_id": ("string", "Product", "P-{num}{hex}"), "quantity": ("integer", "Count", 1)}, ["product_id"]),
    ("track_order", "shopping", "Track a shipment.", False, {"order_id": ("string", "Order", "{order_id}")}, ["order_id"]),
    ("set_thermostat", "home", "Set the home thermostat.", False, {"celsius": ("number", "Temperature", 21.0)}, ["celsius"]),
    ("unlock_door", "home", "Unlock a smart door lock.", True, {"door": ("string", "Which door", "front")}, ["door"]),
    ("read_document", "docs", "Read a shared document.", False, {"doc_id": ("string", "Document", "doc-{hex}")}, ["doc_id"]),
    ("create_note", "docs", "Create a note.", False, {"title": ("string", "Title", "{topic}"), "text": ("string", "Body", "Ideas for {project}")}, ["title"]),
    ("post_to_social", "social", "Publish a post on the company's public social account.", True,
     {"text": ("string", "Post text", "We are hiring in {city}!")}, ["text"]),
]


def _schema(params: _P, required: list[str]) -> dict[str, Any]:
    props: dict[str, Any] = {}
    for name, (typ, desc, _default) in params.items():
        prop: dict[str, Any] = {"type": typ, "description": desc}
        if typ == "array":
            prop["items"] = {"type": "string"}
        props[name] = prop
    return {"type": "object", "properties": props, "required": list(required)}


TOOLS: list[ToolSpec] = [
    ToolSpec(name=n, description=d, parameters=_schema(p, req), sensitive=s, domain=dom)
    for n, dom, d, s, p, req in _CATALOGUE
]
TOOL_BY_NAME: dict[str, ToolSpec] = {t.name: t for t in TOOLS}
_PARAMS: dict[str, _P] = {n: p for n, _dom, _d, _s, p, _req in _CATALOGUE}
DOMAINS: list[str] = sorted({t.domain for t in TOOLS})


def sample_args(name: str, rng: random.Random, slots: SlotDict | None = None, **override: Any) -> dict[str, Any]:
    """Realistic arguments for a call of ``name`` (slot templates filled; ``override`` wins)."""
    slots = slots if slots is not None else SlotDict(rng)
    out: dict[str, Any] = {}
    for param, (typ, _desc, default) in _PARAMS[name].items():
        if param in override:
            out[param] = override[param]
        elif isinstance(default, str):
            out[param] = fill(default, rng, slots)
        elif isinstance(default, list):
            out[param] = [fill(v, rng, slots) for v in default]
        elif typ == "number" and isinstance(default, (int, float)) and not isinstance(default, bool):
            out[param] = round(float(default) * rng.choice([0.5, 1, 1.5, 2, 3, 4]), 2)
        elif typ == "integer" and isinstance(default, int) and not isinstance(default, bool):
            out[param] = max(1, int(default * rng.choice([0.5, 1, 2])))
        else:
            out[param] = default
    for k, v in override.items():
        out.setdefault(k, v)
    return out


def tools_in(domain: str) -> list[ToolSpec]:
    return [t for t in TOOLS if t.domain == domain]
