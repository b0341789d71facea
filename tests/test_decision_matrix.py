"""The decision matrix, cell by cell: what the customer reads about every decision.

A cell is a resolution (refund, exchange, store credit, or keep the items), a whole or a
partial approval (the jumper refused with a reason), free shipping or the shop's fee, and the
customer's language. The approval email and the status page are a function of the request,
not of the entry point: each cell's are kept as reviewed snapshots (``__snapshots__/``,
normalised: numbers, tokens and dates as placeholders) and checked for what a customer must
find in them; every entry point that can take the decision must then write the very same
email. The later steps (label, in transit, received, resolved, a cancelled return) are built
through the workflow and snapshotted per resolution and language.

Change what customers read, then ``pytest tests/test_decision_matrix.py --snapshot-update``
and review the diff of the ``.ambr`` file: the explicit assertions stay beside it.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from itertools import product

import pytest

from desk_helpers import (
    AFTER_A_REJECTION,
    APPROVING,
    EXCHANGE_NOTE,
    KEEPING,
    REJECTION,
    Desk,
    Email,
    customer_email,
    customer_emails,
    decided,
    listed_in_html,
    listed_in_text,
    open_desk,
    status_path,
    status_url,
    without_request_specifics,
)
from domain import workflow
from extensions import db
from factories import RETURN_ADDRESS
from harness import client_at
from models import Return, ReturnRequest
from return_flow import create_label
from services import labels

RESOLUTIONS = ("refund", "exchange", "store_credit")
LANGUAGES = ("nl", "en")
BLOUSES = "2 × Linnen blouse (M)"
JUMPER = "1 × Wollen trui (M)"


def money(cents: int, language: str) -> str:
    euros, rest = divmod(cents, 100)
    return f"€{euros}.{rest:02d}" if language == "en" else f"€\xa0{euros},{rest:02d}"


# The desk's request: two blouses (€49.95) and a jumper (€59.95); the fee is €5.95.
FEE = 595
ITEMS_CENTS = {False: 2 * 4995 + 5995, True: 2 * 4995}  # whole, partial (jumper refused)


@dataclass(frozen=True)
class Cell:
    resolution: str  # refund, exchange, store_credit or keep
    partial: bool
    free: bool
    language: str

    @property
    def id(self) -> str:
        parts = (
            self.resolution,
            "partial" if self.partial else "whole",
            "free" if self.free else "fee",
        )
        return "-".join((*parts, self.language))

    @property
    def keep(self) -> bool:
        return self.resolution == "keep"

    @property
    def asked(self) -> str:
        """The resolution the customer asked for (with the items kept: a refund)."""
        return "refund" if self.keep else self.resolution

    @property
    def entries(self) -> tuple[str, ...]:
        """The entry points that can take this decision; the request page first."""
        if self.keep:
            return KEEPING
        if self.partial:
            return (*AFTER_A_REJECTION, "api")  # a rule approves before anyone rejects
        return APPROVING

    @property
    def amount_cents(self) -> int:
        return ITEMS_CENTS[self.partial] - (0 if self.free or self.keep else FEE)


@pytest.fixture
def matrix_desk(client, auth) -> Desk:
    """A desk whose every resolution ships at the shop's fee unless free shipping is on."""
    return open_desk(client, auth, free_shipping_resolutions="", **RETURN_ADDRESS)


# --- reading what the customer reads ------------------------------------------------------------

PLACEHOLDERS = (
    (re.compile(r"/(status|label)/[A-Za-z0-9_-]{16,}"), r"/\1/{token}"),
    (re.compile(r"\bRET-\d{4}-\d{5}\b"), "{return_number}"),
    (re.compile(r"\bR-\d{4}-\d{5}\b"), "{request_number}"),
    (re.compile(r"\bDEMO-\d+\b"), "{order_number}"),
    (re.compile(r"\bRD\d{11}\b"), "{tracking_number}"),
    (re.compile(r"\beva\d+@example\.nl\b"), "{customer_email}"),
    # Dates as NL and EN write them (30 nov. 2026, 30 November 2026, Nov 30, 2026, 2026-11-30).
    (re.compile(r"\b\d{1,2} [a-z]{3,9}\.? \d{4}(,? \d{1,2}:\d{2})?", re.I), "{date}"),
    (re.compile(r"\b[A-Z][a-z]{2,8}\.? \d{1,2}, \d{4}(,? \d{1,2}:\d{2}( [AP]M)?)?"), "{date}"),
    (re.compile(r"\b\d{4}-\d{2}-\d{2}\b"), "{date}"),
)


def normalised(text: str) -> str:
    """Text without what differs between runs: numbers, tokens, addresses, dates."""
    for pattern, placeholder in PLACEHOLDERS:
        text = pattern.sub(placeholder, text)
    return text


def as_read(email: Email) -> str:
    """An email as a snapshot keeps it: its subject and its plain text, normalised."""
    return normalised(f"Subject: {email.subject}\n\n{email.text.strip()}\n")


def visible_lines(markup: str) -> str:
    """The text a reader sees, line by line: no tags, entities decoded, blank lines gone
    (runs of spaces as one; a no-break space, as in "€ 5,95", stays)."""
    markup = re.sub(r"<(script|style)\b.*?</\1>", "", markup, flags=re.S)
    text = html.unescape(re.sub(r"<[^>]+>", " ", markup))
    lines = (re.sub(r"[ \t\r]+", " ", line).strip(" ") for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def status_page(desk: Desk, req: ReturnRequest) -> str:
    """The main part of the customer's status page, in her browser's language."""
    customer = client_at(desk.client.application, "192.0.2.10")
    response = customer.get(status_path(req), headers={"Accept-Language": req.language})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    main = page[page.index("<main") : page.index("</main>")]
    return visible_lines(main)


def staff_page(desk: Desk, req: ReturnRequest) -> str:
    """The staff's request page, in the language of the customer (Anna has no preference)."""
    response = desk.client.get(
        f"/admin/requests/{req.id}", headers={"Accept-Language": req.language}
    )
    assert response.status_code == 200
    return visible_lines(response.get_data(as_text=True))


# --- the words a customer must find ---------------------------------------------------------------

WORDS = {
    "en": {
        "approved": "Approved",
        "free": "Returning is free of charge.",
        "fee_sentence": "The return shipping costs {fee}",
        # What the fee is deducted from, in the words of the resolution (nothing: exchange).
        "deducted_from": {"refund": "refund", "store_credit": "store credit", "exchange": None},
        "refused": "These items cannot be returned:",
        "next_step": "Next step: create your return label",
        "button": "Create your return label",
        "keep": "You may keep the items; there is no need to send anything back.",
        "keep_status": "you may keep the items: there is nothing to send back",
        "not_approved": "These items are not part of the approval:",
        "money": {
            "refund": "Expected refund: {amount}.",
            "store_credit": (
                "Expected store credit: {amount}, as store credit for your next order at "
                "Demo Winkel."
            ),
            "exchange": f"In exchange for {{items}} we will send you: {EXCHANGE_NOTE}.",
        },
        "refund_word": "refund",
        "staff": {
            "refund": "Refund the customer will get",
            "store_credit": "Store credit the customer will get",
            "exchange": "Exchange the customer will get",
        },
    },
    "nl": {
        "approved": "Goedgekeurd",
        "free": "Retourneren is gratis.",
        "fee_sentence": "Het retourneren kost {fee}",
        "deducted_from": {"refund": "terugbetaling", "store_credit": "tegoed", "exchange": None},
        "refused": "Deze artikelen kunnen niet retour:",
        "next_step": "Volgende stap: maak",
        "button": "retourlabel aan",
        "keep": "artikelen houden",
        "keep_status": "artikelen houden",
        "not_approved": "Deze artikelen vallen niet onder de goedkeuring:",
        "money": {
            "refund": "Verwachte terugbetaling: {amount}.",
            "store_credit": (
                "Verwacht tegoed: {amount}, als tegoed voor je volgende bestelling bij Demo Winkel."
            ),
            "exchange": f"In ruil voor {{items}} sturen we je: {EXCHANGE_NOTE}.",
        },
        "refund_word": "terugbetaling",
        "staff": {
            "refund": "Terugbetaling voor de klant",
            "store_credit": "Tegoed voor de klant",
            "exchange": "Ruil voor de klant",
        },
    },
}


def items_sent_back(cell: Cell) -> list[str]:
    return [BLOUSES] if cell.partial else [BLOUSES, JUMPER]


def money_words(cell: Cell, cents: int | None = None, items: str | None = None) -> str:
    words = WORDS[cell.language]["money"][cell.asked]
    amount = money(cell.amount_cents if cents is None else cents, cell.language)
    return words.format(amount=amount, items=items or ", ".join(items_sent_back(cell)))


def assert_fee_told(cell: Cell, text: str) -> None:
    """Free, or the fee and (for money) what it is deducted from, in one sentence."""
    words = WORDS[cell.language]
    fee = money(FEE, cell.language)
    if cell.free:
        assert words["free"] in text and fee not in text
        return
    [sentence] = [
        line for line in text.splitlines() if line.startswith(words["fee_sentence"].format(fee=fee))
    ]
    deducted_from = words["deducted_from"][cell.asked]
    if deducted_from:
        assert deducted_from in sentence, sentence
    else:
        assert sentence == words["fee_sentence"].format(fee=fee) + ".", sentence


def assert_approval_tells_what_to_send_and_the_money(cell: Cell, email: Email, req) -> None:
    words = WORDS[cell.language]
    refused = [f"Wollen trui: {REJECTION}"] if cell.partial else []
    assert listed_in_text(email.text) == items_sent_back(cell) + refused
    assert listed_in_html(email.html) == items_sent_back(cell) + refused
    assert_fee_told(cell, email.text)
    for body in (email.text, html.unescape(email.html)):
        assert (words["refused"] in body) == cell.partial
        assert "Sneakers" not in body
        assert money_words(cell) in body
        if cell.asked == "exchange":
            assert words["refund_word"] not in body.lower()
            assert money(cell.amount_cents, cell.language) not in body
    assert re.search(rf"{words['next_step']}[^\n]*\n{re.escape(status_url(req))}\n", email.text)
    assert re.search(
        rf'<a href="{re.escape(status_url(req))}"[^>]*>[^<]*{words["button"]}</a>', email.html
    )


def assert_approval_says_keep_the_items(cell: Cell, email: Email) -> None:
    """Keep the items: no label, no fee; the refused item and its reason, and the money."""
    words = WORDS[cell.language]
    refused = [f"Wollen trui: {REJECTION}"] if cell.partial else []
    assert listed_in_text(email.text) == refused and listed_in_html(email.html) == refused
    for body in (email.text, html.unescape(email.html)):
        assert words["keep"] in body
        assert (words["not_approved"] in body) == cell.partial
        assert words["button"] not in body and "Sneakers" not in body
        assert money(FEE, cell.language) not in body
        assert money_words(cell) in body


def assert_status_page_agrees(cell: Cell, page: str) -> None:
    words = WORDS[cell.language]
    assert f"Status: {words['approved']}" in page
    assert money_words(cell) in page
    if cell.keep:
        assert words["keep_status"] in page
        assert words["button"] not in page and money(FEE, cell.language) not in page
        return
    assert (money(FEE, cell.language) in page) != cell.free
    if cell.asked == "exchange":
        assert words["refund_word"] not in page.lower()


# --- the approval, cell by cell ------------------------------------------------------------------


def decide_cell(desk: Desk, cell: Cell, snapshot) -> None:
    """The cell's request approved on the request page (or its first entry point): its email
    and status page as snapshots and checked; then every other entry point writes the same."""
    shape = {
        "language": cell.language,
        "resolution": cell.asked,
        "reject": cell.partial,
        "free_shipping": cell.free,
        "keep": cell.keep,
    }
    first, *others = cell.entries
    req = decided(desk, first, **shape)
    email = customer_email(req, "request_approved")
    page = status_page(desk, req)

    assert as_read(email) == snapshot(name=f"{cell.id}-email")
    assert normalised(page) == snapshot(name=f"{cell.id}-status_page")
    if cell.keep:
        assert_approval_says_keep_the_items(cell, email)
    else:
        assert_approval_tells_what_to_send_and_the_money(cell, email, req)
    assert_status_page_agrees(cell, page)
    assert WORDS[cell.language]["staff"][cell.asked] in staff_page(desk, req)

    expected = without_request_specifics(email, req)
    for entry in others:
        other = decided(desk, entry, **shape)
        written = without_request_specifics(customer_email(other, "request_approved"), other)
        assert written == expected, f"{cell.id}: {entry} wrote another email than {first}"


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("resolution", (*RESOLUTIONS, "keep"))
def test_every_cell_of_a_resolution_emails_and_shows_the_decision(
    matrix_desk, resolution, language, snapshot
):
    """The four cells of a resolution and language (whole or partial, free or the fee) in
    one app: each cell's snapshots are named after it, e.g. ``refund-partial-fee-nl-email``."""
    for partial, free in product((False, True), (False, True)):
        decide_cell(matrix_desk, Cell(resolution, partial, free, language), snapshot)


# --- the later steps, per resolution and language -------------------------------------------------

# The inspection: one of the two blouses came back, and the jumper; both as sold.
RECEIVED_CENTS = 4995 + 5995 - FEE
RECEIVED_ITEMS = "1 × Linnen blouse (M), 1 × Wollen trui (M)"

STEP_STATUS = {
    "en": {
        "label_created": "Return label created",
        "in_transit": "On its way",
        "received": "Received and checked",
        "resolved": "Completed",
        "return_cancelled": "Return label cancelled",
        "label_again": "Approved",
        "request_cancelled": "Not approved",
    },
    "nl": {
        "label_created": "Retourlabel aangemaakt",
        "in_transit": "Onderweg",
        "received": "Ontvangen en gecontroleerd",
        "resolved": "Afgerond",
        "return_cancelled": "Retourlabel geannuleerd",
        "label_again": "Goedgekeurd",
        "request_cancelled": "Niet goedgekeurd",
    },
}
# What the customer got, once settled: fragments of the sentence (the amount is added).
SETTLED = {
    "en": {
        "refund": ("We refunded {amount} to you.",),
        "store_credit": (
            "We issued you store credit of {amount}, for your next order at Demo Winkel.",
        ),
    },
    "nl": {
        "refund": ("{amount}", "terugbetaald"),
        "store_credit": (
            "een tegoed van {amount} gekregen, voor je volgende bestelling bij Demo Winkel.",
        ),
    },
}
INSPECTED = "- Linnen blouse (M): 1/2"


def approved_request(desk: Desk, language: str, resolution: str) -> ReturnRequest:
    """The desk's request (two blouses and a jumper) approved through the workflow."""
    req = desk.submit(language, resolution)
    workflow.approve(req, desk.agent)
    db.session.commit()
    return desk.request(req.number)


def settled_words(language: str, resolution: str, cents: int) -> tuple[str, ...]:
    cell = Cell(resolution, False, False, language)
    if resolution == "exchange":
        return (money_words(cell, items=RECEIVED_ITEMS),)
    amount = money(cents, language)
    return tuple(part.format(amount=amount) for part in SETTLED[language][resolution])


def step(
    desk: Desk, req: ReturnRequest, name: str, snapshot, email: str | None, case: str = ""
) -> tuple[Email | None, str]:
    """After a step: the customer's email of it (if one) and status page, as snapshots named
    ``[case-]name-…``; the status page says the step's status words."""
    req = desk.request(req.number)
    page = status_page(desk, req)
    assert f"Status: {STEP_STATUS[req.language][name]}" in page, name
    label = f"{case}-{name}" if case else name
    assert normalised(page) == snapshot(name=f"{label}-status_page")
    if email is None:
        return None, page
    sent = customer_emails(req, email)[-1]
    assert as_read(sent) == snapshot(name=f"{label}-email")
    return sent, page


def assert_in_resolution_words(resolution: str, language: str, *texts: str) -> None:
    """No refund in words nor amount where the resolution is an exchange."""
    if resolution != "exchange":
        return
    for text in texts:
        assert WORDS[language]["refund_word"] not in text.lower()
        assert money(RECEIVED_CENTS, language) not in text


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("resolution", RESOLUTIONS)
def test_a_return_tells_each_step_from_its_label_to_settled(
    matrix_desk, resolution, language, snapshot
):
    desk = matrix_desk
    req = approved_request(desk, language, resolution)
    cell = Cell(resolution, False, False, language)

    return_ = create_label(req)
    email, page = step(desk, req, "label_created", snapshot, "return_label")
    assert status_url(req) in email.text and return_.tracking_number in email.text
    assert money_words(cell) in page

    workflow.mark_in_transit(return_, desk.agent)
    db.session.commit()
    _none, page = step(desk, req, "in_transit", snapshot, None)
    assert money_words(cell) in page

    blouses, jumper = desk.request(req.number).lines
    workflow.receive(return_, desk.agent, {blouses.id: ("ok", 1), jumper.id: ("ok", 1)})
    db.session.commit()
    email, page = step(desk, req, "received", snapshot, "return_received")
    expected = money_words(cell, RECEIVED_CENTS, RECEIVED_ITEMS)
    assert INSPECTED in email.text
    assert expected in email.text and expected in page
    assert_in_resolution_words(resolution, language, email.text, page)

    workflow.resolve(db.session.get(Return, return_.id), desk.agent, resolution)
    db.session.commit()
    if resolution != "exchange":  # refunded by hand: settled once staff mark it so
        desk.client.post(f"/admin/returns/{return_.id}/act", data={"action": "mark_refunded"})
    email, page = step(desk, req, "resolved", snapshot, "return_resolved")
    for words in settled_words(language, resolution, RECEIVED_CENTS):
        assert words in email.text and words in page
    assert_in_resolution_words(resolution, language, email.text, page)
    assert WORDS[language]["staff"][resolution] in staff_page(desk, req)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("resolution", RESOLUTIONS)
def test_a_cancelled_return_is_told_then_a_new_label_or_the_end(
    matrix_desk, resolution, language, snapshot
):
    """The return's label is voided; the agent then lets the customer make a new label (one
    request) or cancels the request (another)."""
    desk = matrix_desk
    for choice in ("label_again", "request_cancelled"):
        req = approved_request(desk, language, resolution)
        return_ = create_label(req)
        labels.cancel_return(return_, desk.agent)
        db.session.commit()
        _none, page = step(desk, req, "return_cancelled", snapshot, None, case=choice)
        assert f"Status: {STEP_STATUS[language]['label_created']}" not in page
        req = desk.request(req.number)
        if choice == "label_again":
            desk.act_on_page(req, "label_again")
            email, page = step(desk, req, choice, snapshot, "label_cancelled", case=choice)
            assert status_url(req) in email.text
            assert money_words(Cell(resolution, False, False, language)) in page
        else:
            desk.act_on_page(req, "cancel", reason="Het pakket kwam nooit aan.")
            email, page = step(desk, req, choice, snapshot, "request_cancelled", case=choice)
            assert "Het pakket kwam nooit aan." in email.text and "Het pakket" in page


@pytest.mark.parametrize("language", LANGUAGES)
def test_kept_items_are_settled_in_the_words_of_each_resolution(matrix_desk, language, snapshot):
    """Approved with the items kept, then settled on the request page as a refund, an
    exchange or store credit: the full amount, as nothing ships and no fee is due."""
    desk = matrix_desk
    kept_cents = ITEMS_CENTS[False]
    for resolution in RESOLUTIONS:
        req = desk.submit(language, "refund")
        workflow.approve(req, desk.agent, keep_items=True)
        db.session.commit()
        desk.act_on_page(desk.request(req.number), "settle", kind=resolution)
        if resolution != "exchange":  # refunded by hand: settled once staff mark it so
            desk.act_on_page(desk.request(req.number), "mark_refunded")
        email, page = step(desk, req, "resolved", snapshot, "return_resolved", case=resolution)
        if resolution == "exchange":
            for text in (email.text, page):
                assert money(kept_cents, language) not in text
                assert WORDS[language]["refund_word"] not in text.lower()
            continue
        for words in settled_words(language, resolution, kept_cents):
            assert words in email.text and words in page
