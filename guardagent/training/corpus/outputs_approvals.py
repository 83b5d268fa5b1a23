"""Sensitive tool results: requests from a third party that a human must approve (opt-in).

Why: each sensitive kind in ``outputs.SENSITIVE_KINDS`` has one to three templates, and the
held-out sensitive families are requests written *to the reader* (a data-subject request, a
refund ask). A request in a tool result is also what a task-hijacking injection looks like, so a
retrain could learn "a request in the data = malicious" and send those results to quarantine
instead of to a human (docs/screen.md, runs 10 and 41-43). These kinds teach the other side of
that line with many phrasings each: a colleague, customer or vendor asks the account owner for
something consequential (change where money goes, approve a purchase, share a folder outside
the company), in the carriers such requests arrive in (mail, chat, tickets, form submissions).
None of them addresses an AI or asks for an off-task action, and none is a near copy of a
held-out kind (no personal-data access or erasure requests, statements, instance alerts, door
access or refunds): the test split measures whether the class generalises, not whether its
phrasings were seen.

Opt-in (``guardagent corpus build --approval-requests``) and placed in train by hand
(``splits.PLACED``), so the default corpus and its held-out splits are unchanged.
"""

from __future__ import annotations

from contextlib import AbstractContextManager

from guardagent.taxonomy import GuardError
from guardagent.training.corpus.switch import Switch

#: (key, tools whose result it can be, the consequential follow-up tool, templates): the fields of
#: ``outputs.SensitiveKind``, which builds them (it imports this module).
SPECS: tuple[tuple[str, tuple[str, ...], str, tuple[str, ...]], ...] = (
    ("bank_details_change", ("read_email", "search_emails", "list_invoices"), "update_payee", (
        "From: accounts@{domain_co}\nSubject: Updated remittance details\n\nDear Accounts Payable,\n\nPlease note that {company} has moved its business account. From invoice {invoice_id} onwards, kindly remit to IBAN {iban}. Our previous account will be closed at the end of {month}.\n\nKind regards,\n{name}\nCredit Control, {company}",
        "From: {email}\nSubject: Change of bank for invoice {invoice_id}\n\nHi {first},\n\nBefore you release the {amount} payment this week, could you update our payee record? The new account is {iban}. Letter on company paper attached.\n\nThanks,\n{name}",
        "Supplier portal notice: {company} submitted a change of bank details (new IBAN {iban}). Status: pending verification by an authorised finance user. Payments to this supplier are on hold until confirmed.",
        '{{"vendor": "{company}", "change_type": "bank_account", "new_iban": "{iban}", "requested_by": "{email}", "effective": "{date}", "status": "pending_review"}}',
        "[{time}] {user}: {company} emailed that their bank changed, new IBAN is {iban}. Can someone in finance update the vendor before Friday's payment run?",
    )),
    ("direct_deposit_change", ("read_email", "read_channel", "get_employee_profile"), "update_payee", (
        "From: {email}\nSubject: Payroll - new bank account\n\nHi HR,\n\nI've switched banks. Could you pay my salary into {iban} starting with the {month} payroll? Employee ID {employee_id}.\n\nThanks so much,\n{name}",
        "Employee self-service request #{num}: {name} ({employee_id}) asks to change the salary account to {iban}. Requires payroll approval before the next run on {date}.",
        "[{time}] {user}: hey, can you switch my direct deposit to my new account {iban}? Want it in place before payday",
        '{{"request": "direct_deposit_update", "employee_id": "{employee_id}", "employee": "{name}", "new_account": "{iban}", "submitted": "{iso_date}", "approval": "required"}}',
    )),
    ("expense_claim", ("read_email", "read_document", "list_transactions"), "transfer_money", (
        "Expense report ER-{num} submitted by {name} ({department})\nTrip: {city}, {date}\nFlights {amount}\nHotel {amount_2}\nMeals {small_amount}\nTotal to reimburse: {amount_3}\nAwaiting manager approval.",
        "From: {email}\nSubject: Reimbursement for the client dinner\n\nHi {first},\n\nI paid {amount} for the {company} dinner on my own card (receipt attached). Could you approve the reimbursement so it goes out with this month's expenses?\n\nCheers,\n{name}",
        '{{"claim_id": "EXP-{hex}", "claimant": "{name}", "category": "travel", "amount": "{amount}", "receipts": 3, "policy_check": "over per-diem limit", "next_step": "approver sign-off"}}',
        "[{time}] {user}: submitted my conference expenses ({amount}), can you approve them in the portal when you get a sec?",
    )),
    ("purchase_approval", ("read_email", "read_channel", "read_document"), "place_order", (
        "From: {email}\nSubject: PO approval needed: {product}s\n\nHi {first},\n\nWe need {n_people} {product}s for the new {department} starters. Total {amount} including delivery, which is above my spending limit. Could you approve the order?\n\nThanks,\n{name}",
        "Purchase requisition PR-{num}\nRequested by: {name}\nItem: {product} x {n_people}\nSupplier: {company}\nTotal: {amount}\nBudget line: {department} capex\nStatus: waiting for budget-holder approval",
        "[{time}] {user}: found the {product}s we wanted at {company} for {amount}, ok to order them on the company card?",
        '{{"requisition": "PR-{num}", "vendor": "{company}", "total": "{amount}", "approver": "{name}", "state": "pending"}}',
    )),
    ("plan_change", ("read_email", "search_emails", "read_channel"), "update_account_settings", (
        "From: {email}\nSubject: Downgrade our plan\n\nHello,\n\nWe're a smaller team now. Please move account {account} from the Business plan to Starter at the next renewal and switch off auto-renew for the extra seats.\n\nBest,\n{name}, {company}",
        "Ticket {ticket}: customer {name} ({company}) asks to cancel the annual add-on and stop auto-renewal from {date}. Account owner verified by e-mail only.",
        "[{time}] {user}: {company} wants to drop to 10 seats from 40 before the renewal on {date}, can you change it on their account?",
        '{{"account": "{account}", "requested_change": "seats 40 -> 10", "requested_by": "{email}", "renewal_date": "{iso_date}", "status": "needs_account_manager_ok"}}',
    )),
    ("delivery_redirect", ("read_email", "track_order", "read_channel"), "update_account_settings", (
        "From: {email}\nSubject: Order {order_id} - new delivery address\n\nHi,\n\nI won't be home next week. Could you send order {order_id} ({product}, {amount}) to my office instead: {num} Market Street, {city}?\n\nThanks,\n{name}",
        "Order {order_id}: customer requested a delivery address change after dispatch. New address: {num} Harbour Road, {city}. Address changes on orders over {small_amount} need a supervisor check.",
        "[{time}] {user}: customer on chat wants order {order_id} redirected to a different city ({city}), ok for me to change it?",
    )),
    ("credit_limit", ("read_email", "get_balance", "list_transactions"), "update_account_settings", (
        "From: {email}\nSubject: Credit limit increase\n\nHello,\n\nOur order volume with you has doubled. Could you raise {company}'s credit limit from {amount} to {amount_2}? Our latest accounts are attached.\n\nRegards,\n{name}, Finance Director",
        "Customer {company} (account {account}) requested a temporary limit increase to {amount} for the {month} season. Risk score: medium. Requires credit-controller approval.",
        "[{time}] {user}: {company} asked if we can extend their payment terms to 90 days and bump the limit to {amount}, your call",
    )),
    ("prescription_refill", ("read_email", "list_prescriptions", "get_medical_record"), "share_medical_record", (
        "From: {email}\nSubject: Repeat prescription\n\nDear Doctor,\n\nI'm running low on {med}. Could you send a repeat prescription to the pharmacy on {num} High Street? My date of birth is 0{weekday_n}/0{weekday_n}/19{num}.\n\nMany thanks,\n{name}",
        "Patient portal message from {name}: requests early refill of {med} (travelling to {city} on {date}). Last refill 18 days ago. Clinician review required.",
        '{{"patient": "{name}", "request": "refill", "medication": "{med}", "pharmacy": "{company} Pharmacy", "status": "awaiting_prescriber"}}',
    )),
    ("external_share", ("read_email", "read_channel", "list_files"), "share_file", (
        "From: {email}\nSubject: Access to the {project} folder\n\nHi {first},\n\nThanks for today's call. Could you share the {project} working folder, including {file}, with me at this address so our team can review it before the contract is signed?\n\nBest,\n{name}, {company}",
        "[{time}] {user}: the agency needs {file} and the rest of the {project} drive, can you share it with their external account?",
        "Sharing request: {name} (external, {company}) requested edit access to '{project} / {file}'. The folder is marked Internal. Owner approval required.",
    )),
    ("pricing_exception", ("read_email", "read_channel", "list_invoices"), "create_payment_link", (
        "From: {email}\nSubject: Discount for {company}\n\nHi {first},\n\n{company} will sign today if we give them {percent} off the first year. That's beyond my approval level. Can you OK it so I can send them the payment link?\n\n{name}",
        "Deal desk: quote Q-{num} for {company} at {percent} discount ({amount} total) exceeds the standard cap. Approval needed from sales leadership.",
        "[{time}] {user}: customer is disputing invoice {invoice_id}, can we issue a {amount} credit note to keep them happy?",
    )),
    ("bulk_announcement", ("read_channel", "read_document", "read_email"), "send_bulk_email", (
        "[{time}] {user}: the pricing announcement is final. Can you send it to the whole customer list ({num},000 addresses) today at 5pm?",
        "From: {email}\nSubject: Newsletter ready to go\n\nHi {first},\n\nThe {month} newsletter is in the shared drive. Once you've had a look, please send it to all subscribers; legal hasn't reviewed the new terms paragraph yet.\n\n{name}",
        "Campaign '{project} launch' - audience: all active customers ({num},400 recipients). Status: draft, scheduled send {date} {time}. Requires marketing lead approval.",
    )),
    ("ownership_transfer", ("read_email", "read_channel"), "change_permissions", (
        "From: {email}\nSubject: Handing over before I leave\n\nHi {first},\n\nMy last day is {date}. Could you make {name} owner of the {project} workspace and the shared calendars, and remove me as admin?\n\nThanks for everything,\n{name_2}",
        "[{time}] {user}: I'm moving to the {department} team, can you transfer ownership of my {project} docs to {email}?",
        "Admin request #{num}: transfer ownership of repository '{repo}' from {user} to {email}. Requested by {name}. Org owner approval required.",
    )),
    ("meeting_cancellation", ("read_email", "list_events", "read_channel"), "cancel_event", (
        "From: {email}\nSubject: Board meeting\n\nHi {first},\n\nThe chair is unwell. Please cancel the board meeting on {date} for all attendees and let them know we'll reschedule.\n\n{name}",
        "[{time}] {user}: the {project} offsite is off, could you cancel the event and the hotel block for everyone?",
        "Calendar request from {name}: cancel the recurring '{project} weekly' series (14 attendees) from {date} onwards.",
    )),
)

#: The sensitive kinds this module adds (``tool.st.<key>``): opt-in, and placed in train by hand.
KEYS = tuple(key for key, *_ in SPECS)

_SWITCH = Switch("approval_requests", 0.0)


def share_of(option: bool | float | None) -> float:
    """Rows per kind as a share of another sensitive kind's count: ``True`` is 1, off is 0."""
    share = 1.0 if option is True else float(option or 0.0)
    if not 0.0 <= share <= 4.0:
        raise GuardError(f"approval-requests share {option!r} is out of range: expected a number from 0 (off) to 4")
    return share


def enabled(on: bool | float = True) -> AbstractContextManager[None]:
    """Within the block, these sensitive kinds take part in the build (``on``: their row share)."""
    return _SWITCH.set(share_of(on))


def active() -> bool:
    return _SWITCH.get() > 0.0


def share() -> float:
    """Rows per kind relative to the other sensitive kinds (1: the same count)."""
    return _SWITCH.get()
