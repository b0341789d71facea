"""The founding document's path end to end, in Chromium, in Dutch and in English, for a refund
and for an exchange.

The customer asks for a return in the portal and follows the links in the emails the SMTP
sink receives; the agent approves on the request page and takes the parcel through the
return page (in transit, received with an inspection, resolved). After every step the
customer's status page, in her language, says where her return is; an exchange never talks
of a refund.
"""

from __future__ import annotations

import re
import time
from urllib.parse import urlparse

import pytest
from playwright.sync_api import Page

from browser_helpers import find_order, log_in, next_step
from extensions import db
from factories import RETURN_ADDRESS
from models import Return, ReturnRequest

# The labels go to the shop's return address; refunds ship at the €5.95 fee, exchanges free.
pytestmark = [pytest.mark.browser, pytest.mark.shop(**RETURN_ADDRESS)]

CUSTOMER = "klant@example.com"
LOCALES = {"en": "en-US", "nl": "nl-NL"}
STATUS = {
    "en": {
        "submitted": "Received",
        "approved": "Approved",
        "label": "Return label created",
        "in_transit": "On its way",
        "received": "Received and checked",
        "resolved": "Completed",
    },
    "nl": {
        "submitted": "Ontvangen",
        "approved": "Goedgekeurd",
        "label": "Retourlabel aangemaakt",
        "in_transit": "Onderweg",
        "received": "Ontvangen en gecontroleerd",
        "resolved": "Afgerond",
    },
}
# What each email's subject says (a part of it), in the customer's language.
SUBJECTS = {
    "en": {
        "confirmation": "received",
        "approved": "is approved",
        "label": "label",
        "received": "We received your return",
        "accepted": "is accepted",
        "resolved": "is settled",
    },
    "nl": {
        "confirmation": "ontvangen",
        "approved": "is goedgekeurd",
        "label": "label",
        "received": "ontvangen",
        "accepted": "is geaccepteerd",
        "resolved": "afgehandeld",
    },
}
REFUND_WORD = {"en": "refund", "nl": "terugbetaling"}
REFUNDED = {"en": "We refunded", "nl": "aan je terugbetaald"}
# One blouse of €49.95: refunded less the €5.95 fee; an exchange ships free and pays nothing.
ITEM = "1 × Linnen blouse (M / wit)"
REFUND = {"en": ("€5.95", "€44.00"), "nl": ("€\xa05,95", "€\xa044,00")}
FREE = {"en": "Returning is free of charge.", "nl": "Retourneren is gratis."}
EXCHANGED = {
    "en": "In exchange for 1 × Linnen blouse (M / wit) we will send you: Maat L.",
    "nl": "In ruil voor 1 × Linnen blouse (M / wit) sturen we je: Maat L.",
}
LINK = re.compile(r"http://returndesk\.test(/\S+)")


class Inbox:
    """The customer's mailbox: the emails the SMTP sink received for her, one by one."""

    def __init__(self, smtp_sink, language: str) -> None:
        self.sink = smtp_sink
        self.language = language
        self.read = 0

    def next(self, kind: str) -> str:
        """The next email, which must be of ``kind`` (by its subject); its plain text, with
        the line ends as written."""
        deadline = time.monotonic() + 10
        while len(self.sink.to(CUSTOMER)) <= self.read and time.monotonic() < deadline:
            time.sleep(0.05)
        message = self.sink.to(CUSTOMER)[self.read]
        self.read += 1
        assert SUBJECTS[self.language][kind] in message["Subject"], message["Subject"]
        return message.get_body(("plain",)).get_content().replace("\r\n", "\n")


def link_in(text: str) -> str:
    return LINK.search(text).group(1)


def customer_sees(customer: Page, base: str, path: str, language: str, step: str) -> str:
    """The status page at ``path`` says the step's status words; returns its visible text."""
    customer.goto(base + path)
    assert customer.locator("#status-words").inner_text().strip() == STATUS[language][step]
    return customer.locator("main").inner_text()


def ask_for_a_return(customer: Page, base: str, portal_demo, resolution: str) -> None:
    """One blouse, too big; refund, or an exchange for size L."""
    _shop, order, reasons, question = portal_demo
    blouse = order.lines[0]
    customer.goto(base + "/returns/demo/")
    find_order(customer)
    customer.wait_for_url("**/items")
    customer.locator(f"label[for=line-{blouse.id}]").click()
    customer.locator(f"#qty-{blouse.id}").fill("1")
    next_step(customer)
    customer.wait_for_url("**/details")
    customer.locator(f"#reason-{blouse.id}").select_option(value=str(reasons["too_big"].id))
    next_step(customer)
    customer.wait_for_url("**/questions")
    customer.locator(f"#q-{question.id}").fill("Te ruim")
    next_step(customer)
    customer.wait_for_url("**/resolution")
    customer.locator(f"label[for=resolution-{resolution}]").click()
    if resolution == "exchange":
        customer.locator("#exchange_note").fill("Maat L")
    next_step(customer)
    customer.wait_for_url("**/review")
    next_step(customer)
    customer.wait_for_url("**/status/**")


def the_request() -> ReturnRequest:
    db.session.expire_all()
    [request] = db.session.query(ReturnRequest).all()
    return request


def staff_step(staff: Page, base: str, return_id: int, button: str) -> None:
    staff.goto(f"{base}/admin/returns/{return_id}")
    staff.get_by_role("button", name=button, exact=True).click()
    staff.wait_for_load_state()


def assert_money_in_its_words(text: str, language: str, resolution: str, amount: str) -> None:
    if resolution == "exchange":
        assert EXCHANGED[language] in text
        assert REFUND_WORD[language] not in text.lower() and amount not in text
    else:
        assert amount in text


@pytest.mark.parametrize("resolution", ("refund", "exchange"))
@pytest.mark.parametrize("language", ("nl", "en"))
def test_a_return_end_to_end_in_the_customers_language(
    browser, live_server, portal_demo, smtp_sink, language, resolution
):
    base = live_server.url
    inbox = Inbox(smtp_sink, language)
    customer = browser.new_context(locale=LOCALES[language]).new_page()
    staff = browser.new_context(locale="en-US").new_page()
    for page in (customer, staff):
        page.set_default_timeout(10_000)
    fee, refunded = REFUND[language]
    exchange = resolution == "exchange"

    def never_a_refund(text: str) -> str:
        if exchange:
            assert REFUND_WORD[language] not in text.lower()
        return text

    # The customer asks; the confirmation email links to her status page.
    ask_for_a_return(customer, base, portal_demo, resolution)
    status = link_in(inbox.next("confirmation"))
    assert urlparse(customer.url).path == status
    never_a_refund(customer_sees(customer, base, status, language, "submitted"))
    request = the_request()
    assert (request.language, request.resolution) == (language, resolution)

    # The agent finds it under Requests and approves it.
    log_in(staff, base, "agent@example.com")
    staff.goto(base + "/admin/requests/")
    staff.get_by_role("link", name=request.number).first.click()
    staff.get_by_role("button", name="Approve", exact=True).click()
    assert staff.locator("#request-status").inner_text() == "Approved"
    approval = inbox.next("approved")
    assert f"- {ITEM}\n" in approval
    assert (FREE[language] in approval) if exchange else (fee in approval)
    assert link_in(approval) == status
    assert_money_in_its_words(approval, language, resolution, refunded)
    page = never_a_refund(customer_sees(customer, base, status, language, "approved"))
    assert (fee in page) != exchange

    # The customer follows the email's link and creates her label.
    customer.goto(base + link_in(approval))
    customer.locator("#return-label a.btn").click()
    customer.wait_for_url("**/label")
    never_a_refund(customer.locator("main").inner_text())
    customer.locator("form button[type=submit]").click()
    customer.wait_for_load_state()
    label_email = inbox.next("label")
    assert link_in(label_email) == status
    never_a_refund(customer_sees(customer, base, status, language, "label"))
    db.session.expire_all()
    return_id = db.session.query(Return.id).filter_by(request_id=request.id).scalar()

    # Staff take the parcel through the return page.
    staff_step(staff, base, return_id, "In transit")
    never_a_refund(customer_sees(customer, base, status, language, "in_transit"))

    staff.goto(f"{base}/admin/returns/{return_id}")
    staff.get_by_role("button", name="Mark received").click()
    staff.wait_for_load_state()
    received = never_a_refund(inbox.next("received"))
    assert_money_in_its_words(received, language, resolution, refunded)
    page = never_a_refund(customer_sees(customer, base, status, language, "received"))
    assert_money_in_its_words(page, language, resolution, refunded)

    staff_step(staff, base, return_id, f"Resolve: {'Exchange' if exchange else 'Refund'}")
    if not exchange:  # no connector: refunded by hand, settled once staff mark it so
        accepted = inbox.next("accepted")
        assert refunded in accepted and REFUNDED[language] not in accepted
        staff_step(staff, base, return_id, "Mark as refunded")
    settled = never_a_refund(inbox.next("resolved"))
    assert_money_in_its_words(settled, language, resolution, refunded)
    page = never_a_refund(customer_sees(customer, base, status, language, "resolved"))
    assert_money_in_its_words(page, language, resolution, refunded)

    customer.context.close()
    staff.context.close()
