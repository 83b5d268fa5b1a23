"""Automated notices and developer forum posts: clean tool results that *look* consequential.

A card-charge alert, a payout receipt, a shipping notice or a subscription renewal mentions
money, cards and accounts, yet asks the agent for nothing: reading it is routine (benign),
unlike a payment request that waits for approval (``tool.st.payment_request``). Without these
the screen learns "money words -> sensitive" and flags ordinary inbox contents. Developer
questions with code, stack traces and "what I tried" are the code-side counterpart: imperative
sentences ("run this", "try that") addressed to a human reader are not injections.

Each generator is one template family (``tool.bt.<key>``); written from general knowledge.
"""

from __future__ import annotations

import json
import random

from guardagent.training.corpus import outputs_foreign as fx
from guardagent.training.corpus.slots import SlotDict, fill

_MERCHANTS = ["Figma", "Notion Labs", "Dropbox", "Zoom Video", "Atlassian", "DigitalOcean", "Slack Technologies",
              "Adobe", "GitHub", "Heroku", "Twilio", "Mailchimp", "Canva", "Spotify", "Uber", "Lyft", "Amazon",
              "Shell Station 214", "Corner Cafe", "City Parking", "Hotel Riverside", "Airbnb", "Delta Air Lines"]
_BANKS = ["Mercury", "Revolut", "Monzo", "Chase", "Wise", "N26", "Brex", "Ramp", "Starling", "Capital One"]

# (subject, body) pairs; every one informs and asks for nothing that an agent would do.
_NOTICES = [
    ("Your card was charged {amt} by {merchant}",
     "Hi {first}, your {bank} card ending {last4} was charged {amt} by {merchant} on {date}. The final amount may differ "
     "slightly once the transaction settles. If you recognise this payment, no action is needed."),
    ("You received {amt} from {merchant}",
     "Good news, {first}! Your {bank} account ending {last4} received a credit of {amt} from {merchant}. The funds are "
     "available now. View the details in the app under Transactions."),
    ("Receipt for your payment to {merchant}",
     "Thanks for your payment. Amount: {amt}. Paid with: card ending {last4}. Date: {date}. Receipt number: {receipt}. "
     "Keep this email for your records."),
    ("Your {merchant} subscription has renewed",
     "Hi {first}, your {plan} plan renewed on {date} for {amt}. Your next billing date is {date_2}. You can change or "
     "cancel your plan at any time from your account settings."),
    ("Your order {order} has shipped",
     "Hi {first}, good news: your {product} is on its way. Carrier: {carrier}, tracking number {tracking}. "
     "Estimated delivery: {weekday}. Order total: {amt}."),
    ("Delivered: {product}",
     "Your package was delivered on {date} at {time} and left at the front door. Order {order}. "
     "We hope you enjoy it! Rate your delivery experience in the app."),
    ("Your {month} statement is ready",
     "Your {bank} statement for {month} is now available in online banking. Opening balance {amt}, closing balance "
     "{amt_2}. Statements are kept for seven years."),
    ("Payout sent",
     "A payout of {amt} was sent to your bank account ending {last4} on {date}. It usually arrives within 1-2 business "
     "days. Payout ID: po_{hex}."),
    ("Invoice {invoice_id} paid",
     "This is a confirmation that invoice {invoice_id} for {amt} was paid on {date} by {company}. Thank you for your "
     "business. A PDF copy is attached."),
    ("Price drop on an item you watched",
     "The {product} you saved is now {amt} (was {amt_2}). Prices change often, and this offer is valid while stock lasts."),
    ("Your trip receipt",
     "Thanks for riding with {merchant}, {first}. Trip on {date}, {time}: {city} centre to the airport, 18.4 km, "
     "{amt} charged to the card ending {last4}. Tip your driver in the app."),
    ("Booking confirmed: {hotel}",
     "Your stay at {hotel}, {city} is confirmed for {date}. Confirmation number {receipt}. Total paid: {amt}. "
     "Check-in from 3 pm; free cancellation until 48 hours before arrival."),
    ("{merchant} product update — {month}",
     "Here's what we shipped in {month}: faster search, a redesigned sidebar and new keyboard shortcuts. Read the full "
     "changelog on our blog. Thanks for being a customer!"),
    ("Your monthly usage summary",
     "In {month} your team used {num} of {num_2} seats and {gb} GB of storage. Your bill of {amt} will be charged to "
     "the card on file on {date}. No action is needed."),
    ("Welcome to {merchant}",
     "Hi {first}, welcome aboard! Your account is ready. Start by creating your first project, then invite your "
     "teammates. Questions? Our help centre is open 24/7."),
    ("Reminder: direct debit on {date}",
     "A direct debit of {amt} to {merchant} will be collected from your account ending {last4} on {date}. If the details "
     "are correct you don't need to do anything."),
    ("Refund processed",
     "We've refunded {amt} to your card ending {last4} for order {order}. Refunds take 5-10 business days to appear on "
     "your statement."),
    ("Your {bank} card is on its way",
     "Your new card ending {last4} was posted on {date} and should arrive within 5 working days. Your old card keeps "
     "working until you activate the new one."),
    ("Webinar: {topic}",
     "Join us on {date} at {time} for a live session on {topic}. Speakers: {name} and {name_2}. The recording will be "
     "sent to everyone who registers."),
    ("Tax summary {year} available",
     "Your annual summary of fees and interest for {year} is available to download. It lists {num} transactions and "
     "{amt} of interest earned."),
]

_CARRIERS = ["UPS", "DHL", "FedEx", "Royal Mail", "USPS", "PostNL", "La Poste"]
_PLANS = ["Pro", "Team", "Business", "Starter", "Premium", "Family", "Plus"]


def _notice_slots(r: random.Random, s: SlotDict) -> dict[str, str]:
    return dict(
        amt=f"{r.choice(['$', '€', '£'])}{r.randint(3, 4800):,}.{r.randint(0, 99):02d}",
        amt_2=f"{r.choice(['$', '€', '£'])}{r.randint(3, 9800):,}.{r.randint(0, 99):02d}",
        merchant=r.choice(_MERCHANTS), bank=r.choice(_BANKS), last4=r.choice(["••", "**", "x", "…", ""]) + str(r.randint(1000, 9999)),
        receipt=f"{r.randint(1000, 9999)}-{r.randint(1000, 9999)}", order=f"#{r.randint(100000, 999999)}",
        tracking=f"1Z{r.randint(10**9, 10**10 - 1)}", carrier=r.choice(_CARRIERS), plan=r.choice(_PLANS),
        gb=str(r.randint(2, 900)), year=str(r.randint(2019, 2026)), date_2=fill("{date}", r, SlotDict(r)),
    )


def _notice_email(r: random.Random, s: SlotDict) -> str:
    subject, body = r.choice(_NOTICES)
    slots = _notice_slots(r, s)
    subject, body = fill(subject, r, s, **slots), fill(body, r, s, **slots)
    sender = f"{slots['merchant'].split()[0].lower()}@notifications.{r.choice(['com', 'io', 'net', 'co'])}"
    footer = r.choice(["", "", "You're receiving this email because you have an account with us. Unsubscribe | Privacy",
                       "This is an automated message; replies to this address are not monitored.",
                       f"{slots['merchant']}, {r.randint(1, 999)} Market Street, {s['city']}"])
    style = r.randrange(4)
    if style == 0:  # headers on lines
        text = f"From: {slots['merchant']} <{sender}>\nTo: {s['email']}\nDate: {s['date']}\nSubject: {subject}\n\n{body}"
        return text + (f"\n\n{footer}" if footer else "")
    if style == 1:  # one line, as some mail APIs flatten it
        return f"Subject: {subject} | From: {sender} | Body: {body} {footer}".strip()
    if style == 2:  # JSON message object
        return json.dumps({"from": sender, "subject": subject, "date": s["iso_date"], "snippet": body[:120],
                           "body": body + (" " + footer if footer else "")}, ensure_ascii=False)
    return f"{subject}\n\n{body}" + (f"\n\n{footer}" if footer else "")


# ------------------------------------------------------------------ developer forum posts
_Q_INTRO = [
    "I'm trying to {goal} but I keep getting an error.", "How do I {goal}? Nothing I found so far works.",
    "Newbie question: what's the right way to {goal}?", "My code should {goal}, but the output is wrong.",
    "I need to {goal} in a script for work. Here's what I have:",
]
_GOALS = ["read a CSV file and sum one column", "parse dates in a pandas DataFrame", "sort a list of dictionaries by a key",
          "connect to PostgreSQL from Python", "reverse a linked list", "debounce a button click in JavaScript",
          "remove duplicates from an array", "read a JSON config file", "run two HTTP requests in parallel",
          "center a div horizontally", "split a string on several delimiters", "merge two sorted lists",
          "upload a file with fetch", "write a recursive function for factorial", "convert a string to an integer safely"]
# (language, code, error, answer): each answer fixes its own snippet.
_SNIPPETS = [
    ("python", "import pandas as pd\n\ndf = pd.read_csv('data.csv')\ntotal = df['amount'].sum()\nprint(total)",
     "TypeError: unsupported operand type(s) for +: 'int' and 'str'",
     "The column contains strings; clean it with pd.to_numeric(df['amount'], errors='coerce') before summing."),
    ("python", "def fact(n):\n    return n * fact(n - 1)\n\nprint(fact(5))", "RecursionError: maximum recursion depth exceeded",
     "Add a base case: if n <= 1: return 1."),
    ("python", "items = [{'n': 2}, {'n': 1}]\nitems.sort(key='n')", "TypeError: 'str' object is not callable",
     "Use key=lambda d: d['n'] instead of a string."),
    ("python", "import json\nwith open('config.json') as f:\n    cfg = json.load(f)\nprint(cfg['port'])",
     "json.decoder.JSONDecodeError: Expecting property name enclosed in double quotes: line 3 column 1 (char 24)",
     "Your JSON has a trailing comma; strict parsers reject it."),
    ("javascript", "const btn = document.getElementById('save');\nbtn.addEventListener('click', save());",
     "Uncaught TypeError: Cannot read properties of null (reading 'addEventListener')",
     "Run the script after the DOM has loaded, and pass save, not save(): you are passing the result of the call."),
    ("javascript", "const data = await fetch('/api/items').then(r => r.json);\nconsole.log(data.length);", "undefined",
     "r.json is a method: call it, then(r => r.json())."),
    ("java", "List<Integer> xs = List.of(3, 1, 2);\nCollections.sort(xs);", "java.lang.UnsupportedOperationException",
     "List.of returns an immutable list; copy it into a new ArrayList first."),
    ("sql", "SELECT name, COUNT(*) FROM orders GROUP BY customer_id;",
     "ERROR: column \"orders.name\" must appear in the GROUP BY clause or be used in an aggregate function",
     "Group by the column you select, or aggregate it."),
    ("c", "char *s = \"hello\";\ns[0] = 'H';\nprintf(\"%s\\n\", s);", "Segmentation fault (core dumped)",
     "String literals are read-only; copy into a char array first: char s[] = \"hello\";"),
    ("bash", "for f in *.txt do\n  wc -l $f\ndone", "syntax error near unexpected token `done'",
     "You're missing a semicolon (or a newline) before do."),
    # topics that sound risky but are ordinary programming
    ("python", "import os\n\ntoken = os.environ['API_TOKEN']\nprint(len(token))", "KeyError: 'API_TOKEN'",
     "The variable isn't exported in the shell that runs the script; use os.environ.get('API_TOKEN') and export it first."),
    ("python", "import psutil\nfor p in psutil.process_iter():\n    print(p.name(), p.memory_info().rss)",
     "psutil.AccessDenied: (pid=4, name='System')", "Some system processes are protected; wrap the call in try/except psutil.AccessDenied."),
    ("python", "import subprocess\nout = subprocess.run('ls -l', capture_output=True)\nprint(out.stdout)",
     "FileNotFoundError: [Errno 2] No such file or directory: 'ls -l'", "Pass a list (['ls', '-l']) or set shell=True."),
    ("python", "import socket\ns = socket.socket()\ns.bind(('0.0.0.0', 80))", "PermissionError: [Errno 13] Permission denied",
     "Ports below 1024 need root; bind to 8080 and put a reverse proxy in front."),
    ("javascript", "document.cookie = 'theme=dark';\nconsole.log(document.cookie.theme);", "undefined",
     "document.cookie is a single string; split it on '; ' and parse the pairs."),
    ("python", "import requests\nr = requests.get('https://localhost:8443/health')\nprint(r.status_code)",
     "requests.exceptions.SSLError: certificate verify failed: self signed certificate",
     "Point verify= at your local CA bundle (verify='ca.pem') rather than turning verification off."),
    ("bash", "rm -rf $BUILD_DIR/*", "rm: cannot remove '/*': Permission denied",
     "BUILD_DIR was empty, so this expanded to /*. Use ${BUILD_DIR:?} so the script stops when it is unset."),
    ("python", "import threading\ncount = 0\ndef work():\n    global count\n    for _ in range(10**6):\n        count += 1",
     "the final count is lower than expected", "count += 1 is not atomic; protect it with a threading.Lock()."),
    ("python", "import smtplib\nserver = smtplib.SMTP('smtp.example.com', 587)\nserver.login(user, pwd)",
     "smtplib.SMTPNotSupportedError: SMTP AUTH extension not supported by server.",
     "Call server.starttls() before login(); the server only offers AUTH over TLS."),
    ("go", "var m map[string]int\nm[\"a\"] = 1", "panic: assignment to entry in nil map",
     "Initialise the map first: m := make(map[string]int)."),
    ("javascript", "const ws = new WebSocket('ws://localhost:3000');\nws.send('hi');",
     "InvalidStateError: Failed to execute 'send' on 'WebSocket': Still in CONNECTING state.",
     "Send inside ws.onopen = () => ws.send('hi')."),
    ("python", "with open('/proc/meminfo') as f:\n    print(f.readline())\nimport resource\nresource.setrlimit(resource.RLIMIT_AS, (2**30, 2**30))",
     "MemoryError", "A 1 GiB address-space limit is too low for numpy; raise it or drop the limit."),
]
_TRIED = ["I tried converting the column with astype(int) first, same error.", "I already searched the docs and a few old threads.",
          "Restarting the kernel didn't help.", "It works on my laptop but not on the server.",
          "I'm on version {num}.{num_2} if that matters.", "Any pointers appreciated, thanks in advance!"]


_WHY = ["The error ({err}) happens because the original line runs before its input is ready.",
        "You got `{err}` because of that one line; everything else in your code is fine.",
        "That's what `{err}` means here. The docs have a short section on it.",
        "Same thing happened to me; after this change the {err} message is gone.",
        "Explanation: the interpreter reports {err} at the first line it cannot run, not where the mistake is."]
_SIGNOFF = ["Hope this helps!", "Edit: fixed a typo.", "Tested on Python 3.12 and Node 20.", "Upvote if it worked for you.",
            "See also the linked duplicate question."]


# Explanations in the second person, as accepted answers are written: they tell a human reader
# what to call, assign, print or check, which is what an injection looks like to a word counter.
_EXPLAIN = [
    "The reason is that `{thing}` hands back a fresh {obj}; yours stays as it was, so keep the return value.",
    "You can also do this with `{thing}`, which saves you the extra import.",
    "Keep in mind that the {obj} is shared between threads, so take a lock before you change it.",
    "In newer releases the {obj} comes back as {example}, so update your parsing code accordingly.",
    "Update: the commenters are right, pass the {obj} in as an argument instead of reading a global.",
    "Under the hood `{thing}` copies the whole {obj}, so on large inputs you will want a streaming approach.",
    "A single vectorised call to `{thing}` replaces your loop and runs far faster.",
    "Rule of thumb: don't add or remove items from a {obj} while you loop over it; build a new one instead.",
    "Print the {obj} and its type just before the line that fails and compare them with what you expected.",
    "For reference, this is what it prints on my machine: {example}",
    "Your approach works, but I'd suggest `{thing}` because it states the intent more clearly.",
]
_THINGS = ["sorted()", "str.join()", "itertools.chain()", "collections.Counter()", "dict.get()", "pathlib.Path.mkdir()",
           "Array.prototype.filter()", "Object.assign()", "re.findall()", "pd.merge()", "np.where()", "zip()"]
_OBJS = ["array", "list", "DataFrame", "string", "dictionary", "queue", "timestamp", "response body", "column"]
_EXAMPLES = ["`{'id': 7, 'tags': []}`", "`[1, 2, 3]`", "`1970-01-01 00:00:00`", "`Counter({'a': 2, 'b': 1})`", "`NaN`"]


def _explanation(r: random.Random) -> str:
    return " ".join(r.choice(_EXPLAIN).format(thing=r.choice(_THINGS), obj=r.choice(_OBJS), example=r.choice(_EXAMPLES))
                    for _ in range(r.randint(1, 3)))


def _forum_post(r: random.Random, s: SlotDict) -> str:
    lang, code, err, answer = r.choice(_SNIPPETS)
    if fx.second_person() and r.random() < 0.5:  # opt-in: answers that address the reader (outputs_foreign.py)
        answer = f"{answer} {_explanation(r)}" if r.random() < 0.5 else f"{_explanation(r)}\n\n{answer}"
    if r.random() < 0.35:  # an answer page alone: the fix, the code, why
        fenced = r.random() < 0.7
        parts = [answer, "", f"```{lang}\n{code}\n```" if fenced else code, "", r.choice(_WHY).format(err=err)]
        if r.random() < 0.5:
            parts += ["", r.choice(_SIGNOFF)]
        return "\n".join(parts)
    q = fill(r.choice(_Q_INTRO), r, s, goal=r.choice(_GOALS))
    parts = [f"Title: {q.rstrip('.:?')}", f"Asked by {s['user']} · {r.randint(1, 50)} views", "", q, "",
             f"```{lang}\n{code}\n```", "", "Error:", err]
    if r.random() < 0.7:
        parts += ["", fill(r.choice(_TRIED), r, s)]
    if r.random() < 0.6:
        parts += ["", f"Answer ({r.randint(0, 40)} votes): " + answer]
    text = "\n".join(parts)
    if r.random() < 0.3:  # flattened, as a search API might return it
        text = " ".join(text.split())
    return text
