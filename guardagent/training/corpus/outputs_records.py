"""Clean records of what the approval requests are about: the benign side of each kind (opt-in).

Why: ``outputs_approvals.py`` teaches that a third party asking the reader to change a payee,
approve a claim or share a folder is ``sensitive``. Trained on those alone, a screen can learn the
subject instead of the ask: runs 44-48 (docs/screen.md) sent newsletters, application logs and clean
banking outputs with IBANs and amounts to ``sensitive``. Each kind here is the same subject with
nothing pending for the reader: a remittance advice, a paid claim, a delivered order, a campaign
report, an audit-log line, a calendar entry. The pair tells the screen that the request, not the
IBAN or the amount, is what a human must approve.

Opt-in (``guardagent corpus build --approval-records``, with ``--approval-requests``), benign, and
placed in train by hand (``splits.PLACED``); the rows are rendered after every other tool row from
their own random streams, so no other row of the build changes.
"""

from __future__ import annotations

from contextlib import AbstractContextManager

from guardagent.training.corpus.switch import Switch

#: (approval kind it pairs with, tools whose result it can be, templates). Nothing asks the reader
#: for anything; the held-out sensitive kinds' subjects (statements, instance alerts, door access,
#: refunds, personal-data requests) are kept out, as in the approval kinds.
SPECS: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("bank_details_change", ("read_email", "search_emails", "list_invoices"), (
        "From: accounts@{domain_co}\nSubject: Remittance advice {invoice_id}\n\nDear {first},\n\nThis is to let you know that our payment of {amount} against invoice {invoice_id} was sent to your account {iban} on {date}. It should reach you within two working days.\n\nRegards,\n{name}\nAccounts Payable, {company}",
        '{{"vendor": "{company}", "iban": "{iban}", "verified": true, "verified_by": "{name}", "verified_on": "{iso_date}", "method": "call-back to the number on file", "open_changes": 0}}',
        "Supplier master data: {company}\nBank account: {iban} (verified {date})\nPayment terms: 30 days\nLast payment: {amount}\nChange history: no changes in the last 12 months",
        "[{time}] {user}: fyi the {company} payment of {amount} cleared this morning, their account details were confirmed by phone last week",
    )),
    ("direct_deposit_change", ("read_email", "read_channel", "get_employee_profile"), (
        "Payroll {month}: run completed on {date}. 214 payments issued, total {amount}. Exceptions: none.",
        '{{"employee_id": "{employee_id}", "employee": "{name}", "pay_frequency": "monthly", "payment_method": "bank transfer", "account_on_file": "ending {num}", "last_updated": "{iso_date}"}}',
        "From: payroll@{domain_co}\nSubject: Your {month} payslip is available\n\nHi {first},\n\nYour payslip for {month} is now in the employee portal. Net pay was transferred on {date}.\n\nPayroll team, {company}",
    )),
    ("expense_claim", ("read_email", "read_document", "list_transactions"), (
        "Expense report ER-{num} ({name}, {department})\nTrip: {city}, {date}\nTotal: {amount}\nStatus: approved by {name_2}; reimbursed with the {month} payroll.",
        "From: expenses@{domain_co}\nSubject: Expense report ER-{num} reimbursed\n\nHi {first},\n\nYour claim of {amount} was approved and paid to your account on file. No further action is needed.\n\nFinance Operations, {company}",
        '{{"claim_id": "EXP-{hex}", "claimant": "{name}", "amount": "{amount}", "status": "paid", "paid_on": "{iso_date}", "policy_check": "within limits"}}',
        "Team expenses, {month}\nTravel {amount}\nMeals {small_amount}\nSoftware {amount_2}\nTotal {amount_3} (within budget; 78% of the quarter's allocation used)",
    )),
    ("purchase_approval", ("read_email", "read_channel", "read_document"), (
        "Order confirmation PO-{num}\nSupplier: {company}\nItems: {product} x {n_people}\nTotal: {amount}\nDelivered: {date}, signed for by {name}",
        "From: orders@{domain_co}\nSubject: Your order has shipped\n\nHello {first},\n\nYour order of {n_people} {product}s ({amount}) left our warehouse today. Tracking details follow in a separate message.\n\n{company} Customer Service",
        "[{time}] {user}: the {product}s for the {department} starters arrived, they're in the storeroom",
        '{{"requisition": "PR-{num}", "vendor": "{company}", "total": "{amount}", "approved_by": "{name}", "state": "received"}}',
    )),
    ("plan_change", ("read_email", "search_emails", "read_channel"), (
        "From: billing@{domain_co}\nSubject: Your plan renews on {date}\n\nHi {first},\n\nYour Business plan (account {account}) renews automatically on {date} at {amount} a year. Nothing needs to be done to keep your service.\n\n{company} Billing",
        "Ticket {ticket} (closed): {company} asked how many seats their plan includes. Answered: 40 seats, 31 in use.",
        '{{"account": "{account}", "plan": "Business", "seats": 40, "seats_used": 31, "renewal_date": "{iso_date}", "auto_renew": true}}',
    )),
    ("delivery_redirect", ("read_email", "track_order", "read_channel"), (
        "Order {order_id}: out for delivery to {num} Market Street, {city}. Expected between 10:00 and 14:00 on {date}.",
        '{{"order_id": "{order_id}", "status": "delivered", "delivered_to": "{num} Harbour Road, {city}", "signed_by": "{first}", "at": "{iso_date}"}}',
        "From: shipping@{domain_co}\nSubject: Order {order_id} delivered\n\nHi {first},\n\nYour {product} was delivered today and left with reception. Thank you for shopping with {company}.",
    )),
    ("credit_limit", ("read_email", "get_balance", "list_transactions"), (
        "Customer {company} (account {account})\nCredit limit: {amount}\nOutstanding: {amount_2}\nOldest open invoice: 12 days\nLast credit review: {date} (no change)",
        "From: credit@{domain_co}\nSubject: Annual credit review completed\n\nDear {first},\n\nWe have completed our annual review of {company}'s account. The credit limit remains {amount} and the terms stay at 30 days.\n\nKind regards,\n{name}",
        '{{"account": "{account}", "credit_limit": "{amount}", "available_credit": "{amount_2}", "risk_score": "low", "reviewed": "{iso_date}"}}',
    )),
    ("prescription_refill", ("read_email", "list_prescriptions"), (
        "From: orders@{domain_co}\nSubject: Your order is ready\n\nHi {first},\n\nYour order at {company} Pharmacy, {num} High Street, is ready for collection. We are open 8am to 7pm.",
        "{company} Pharmacy will close at 1pm on {date} for staff training. Repeat orders placed before then are unaffected.",
        '{{"pharmacy": "{company} Pharmacy", "order": "{num}", "status": "collected", "collected_on": "{iso_date}"}}',
    )),
    ("external_share", ("read_email", "read_channel", "list_files"), (
        "Sharing report for '{project}': 14 files, all internal. External links: none. Last reviewed by {name} on {date}.",
        "[{time}] {user}: sent the {project} one-pager to the agency last week as planned, they confirmed they got it",
        "Activity in '{project}': {name} commented on '{file}' · {name_2} viewed '{file}' · folder owner {email}",
    )),
    ("pricing_exception", ("read_email", "read_channel", "list_invoices"), (
        "Quote Q-{num} for {company}\nProduct: {product} licences\nPrice: list, standard terms\nTotal: {amount}\nValid until {date}",
        "Deal desk summary, {month}: 42 quotes issued, 6 with discounts within the standard cap, average discount {percent}.",
        "From: sales@{domain_co}\nSubject: Signed: {company} renewal\n\nTeam,\n\n{company} signed their renewal today at {amount}, standard pricing. Great work everyone.\n\n{name}",
    )),
    ("bulk_announcement", ("read_channel", "read_document", "read_email"), (
        "Campaign report: '{project} launch'\nSent: {date} to {num},400 recipients\nDelivered 98.7% · Opened 41% · Clicked 6.2% · Unsubscribed 0.3%",
        "[{time}] {user}: the {month} newsletter went out this morning, open rate looks good so far",
        '{{"campaign": "{project} launch", "status": "sent", "recipients": "{num},400", "sent_at": "{iso_date}", "bounces": 112}}',
    )),
    ("ownership_transfer", ("read_email", "read_channel"), (
        "Audit log {iso_date}: ownership of repository '{repo}' transferred from {user} to {email} (approved by {name}).",
        "From: it-support@{domain_co}\nSubject: Handover complete\n\nHi {first},\n\nThe {project} workspace and shared calendars now belong to {name}. Your admin rights were removed as planned on {date}.\n\nIT Support",
        "Workspace '{project}': owner {name}, 3 admins, 27 members. Created {date}.",
    )),
    ("meeting_cancellation", ("read_email", "list_events", "read_channel"), (
        "Board meeting, {date} 10:00-12:00, Room 4\nAttendees: 9 accepted, 1 tentative\nAgenda: quarterly results, budget, any other business",
        "From: calendar@{domain_co}\nSubject: Cancelled: {project} weekly ({date})\n\n{name} cancelled this occurrence of '{project} weekly'. The series continues next week as usual.",
        "[{time}] {user}: heads up, the {project} offsite moved to next month, the organisers already updated the invites",
    )),
)

#: The benign families this module adds (``tool.bt.<key>``): opt-in, and placed in train by hand.
KEYS = tuple(f"{key}_record" for key, *_ in SPECS)

_SWITCH = Switch("approval_records", False)


def enabled(on: bool = True) -> AbstractContextManager[None]:
    """Within the block, the clean records take part in the build."""
    return _SWITCH.set(bool(on))


def active() -> bool:
    return _SWITCH.get()
