"""The money is told in the words of the resolution, on every page and in every email.

An exchange says what is sent instead and no refund amount; store credit says the credit's
amount and how it is given; a refund says the refund and its amount. Read as the customer and
the staff read them: the status page and the staff's request and return pages over HTTP, the
"We received your return" email from the SMTP sink, in Dutch and in English.
"""

from __future__ import annotations

import pytest

from domain import workflow
from extensions import db
from factories import RETURN_ADDRESS
from harness import visible
from return_flow import approved_request, create_label
from services import refund_jobs
from staff_helpers import emails_to

# The labels go back to the shop's return address; the shop's fee is the default €5.95.
pytestmark = pytest.mark.shop(**RETURN_ADDRESS)

LANGUAGES = ("en", "nl")
# approved_request: one €49.95 blouse and one €59.95 jumper; minus the €5.95 fee.
AMOUNT = {"en": "€103.95", "nl": "€\xa0103,95"}
ITEMS = "1 × Linnen blouse (M), 1 × Wollen trui (M)"
# What the customer's and the staff's words for a refund are.
REFUND_WORD = {"en": "refund", "nl": "terugbetaling"}
STAFF_REFUND_WORDS = {
    "en": ("Refund the customer will get", "Refund total", "deducted from the refund"),
    "nl": ("Terugbetaling voor de klant", "Totaal terug te betalen", "van de terugbetaling"),
}
RECEIVED_SUBJECT = {"en": "We received your return", "nl": "ontvangen"}


@pytest.fixture
def staff(client, auth, agent):
    db.session.commit()
    auth.login(agent.email)
    return client


def received_return(shop, agent, language: str, resolution: str):
    """A request of ``resolution`` approved, its label made and the parcel received (all OK)."""
    request = approved_request(
        shop,
        agent,
        language=language,
        resolution=resolution,
        exchange_note="Maat L" if resolution == "exchange" else None,
    )
    return_ = create_label(request)
    workflow.receive(return_, agent, {line.id: ("ok", line.quantity) for line in request.lines})
    db.session.commit()
    return request, return_


def status_page(client, request, language: str) -> str:
    path = f"/returns/{request.shop.slug}/status/{request.public_token}?lang={language}"
    response = client.get(path)
    assert response.status_code == 200
    return visible(response.get_data(as_text=True))


def staff_settlement(client, path: str, language: str) -> str:
    """What a staff page says the customer gets (without the "Resolve: …" buttons under it)."""
    response = client.get(path, headers={"Accept-Language": language})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    start = page.rindex("<section", 0, page.index('style="max-width: 48rem"'))
    ends = (page.find(tail, start) for tail in ("</section>", "<form"))
    return visible(page[start : min(end for end in ends if end != -1)])


def received_email(smtp_sink, request, language: str) -> tuple[str, str]:
    """The "We received your return" email as the customer got it: (text, visible HTML)."""
    [message] = [
        m
        for m in emails_to(smtp_sink, request.customer_email)
        if RECEIVED_SUBJECT[language] in m["Subject"]
    ]
    text = message.get_body(("plain",)).get_content()
    return text, visible(message.get_body(("html",)).get_content())


EXCHANGE = {
    "en": {
        "heading": "Your exchange",
        "outcome": f"In exchange for {ITEMS} we will send you: Maat L.",
        "staff": "Exchange the customer will get",
        "note": "In exchange: Maat L",
    },
    "nl": {
        "heading": "Je ruil",
        "outcome": f"In ruil voor {ITEMS} sturen we je: Maat L.",
        "staff": "Ruil voor de klant",
        "note": "In ruil: Maat L",
    },
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_an_exchange_says_what_is_sent_instead_and_no_refund(
    staff, smtp_sink, shop, agent, language
):
    request, return_ = received_return(shop, agent, language, "exchange")
    words = EXCHANGE[language]

    customer = status_page(staff, request, language)
    assert words["heading"] in customer and words["outcome"] in customer
    assert REFUND_WORD[language] not in customer.lower()
    assert AMOUNT[language] not in customer

    for body in received_email(smtp_sink, request, language):
        assert words["outcome"] in body
        assert REFUND_WORD[language] not in body.lower()
        assert AMOUNT[language] not in body

    request_page = staff_settlement(staff, f"/admin/requests/{request.id}", language)
    return_page = staff_settlement(staff, f"/admin/returns/{return_.id}", language)
    for page in (request_page, return_page):
        assert words["staff"] in page and words["note"] in page
        assert not any(word in page for word in STAFF_REFUND_WORDS[language])
        assert AMOUNT[language] not in page


STORE_CREDIT = {
    "en": {
        "heading": "Your store credit",
        "total": "Store credit total",
        "outcome": (
            f"Expected store credit: {AMOUNT['en']}, as store credit for your next order at "
            "Demo Winkel."
        ),
        "staff": "Store credit the customer will get",
        "fee": "Return fee (deducted from the store credit)",
    },
    "nl": {
        "heading": "Je tegoed",
        "total": "Totaal tegoed",
        "outcome": (
            f"Verwacht tegoed: {AMOUNT['nl']}, als tegoed voor je volgende bestelling bij "
            "Demo Winkel."
        ),
        "staff": "Tegoed voor de klant",
        "fee": "Retourkosten (verrekend met het tegoed)",
    },
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_store_credit_says_the_credit_its_amount_and_how_it_is_given(
    staff, smtp_sink, shop, agent, language
):
    request, return_ = received_return(shop, agent, language, "store_credit")
    words = STORE_CREDIT[language]

    customer = status_page(staff, request, language)
    assert words["heading"] in customer and words["total"] in customer
    assert words["fee"] in customer and words["outcome"] in customer
    assert REFUND_WORD[language] not in customer.lower()

    text, markup = received_email(smtp_sink, request, language)
    assert words["outcome"] in text
    assert words["outcome"] in markup and words["total"] in markup
    assert REFUND_WORD[language] not in text.lower() + markup.lower()

    request_page = staff_settlement(staff, f"/admin/requests/{request.id}", language)
    return_page = staff_settlement(staff, f"/admin/returns/{return_.id}", language)
    for page in (request_page, return_page):
        assert words["staff"] in page and words["total"] in page and AMOUNT[language] in page
        assert not any(word in page for word in STAFF_REFUND_WORDS[language])


REFUND = {
    "en": {
        "heading": "Your refund",
        "total": "Refund total",
        "outcome": f"Expected refund: {AMOUNT['en']}. We will let you know when it is paid.",
        "staff": "Refund the customer will get",
    },
    "nl": {
        "heading": "Je terugbetaling",
        "total": "Totaal terug te betalen",
        "outcome": f"Verwachte terugbetaling: {AMOUNT['nl']}.",
        "staff": "Terugbetaling voor de klant",
    },
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_refund_still_says_the_refund_and_its_amount(staff, smtp_sink, shop, agent, language):
    request, return_ = received_return(shop, agent, language, "refund")
    words = REFUND[language]

    customer = status_page(staff, request, language)
    assert words["heading"] in customer and words["total"] in customer
    assert AMOUNT[language] in customer and words["outcome"] in customer

    for body in received_email(smtp_sink, request, language):
        assert words["outcome"] in body

    request_page = staff_settlement(staff, f"/admin/requests/{request.id}", language)
    return_page = staff_settlement(staff, f"/admin/returns/{return_.id}", language)
    for page in (request_page, return_page):
        assert words["staff"] in page and words["total"] in page and AMOUNT[language] in page


@pytest.mark.parametrize("language", LANGUAGES)
def test_settled_store_credit_is_emailed_as_credit_not_as_a_refund(
    smtp_sink, shop, agent, language
):
    request, return_ = received_return(shop, agent, language, "store_credit")
    payout = workflow.resolve(return_, agent, "store_credit")
    db.session.commit()
    refund_jobs.mark_refunded(payout, agent)  # issued by hand: settled once marked so

    [message] = [
        m
        for m in emails_to(smtp_sink, request.customer_email)
        if {"en": "is settled", "nl": "afgehandeld"}[language] in m["Subject"]
    ]
    text = message.get_body(("plain",)).get_content()
    markup = visible(message.get_body(("html",)).get_content())
    issued = {
        "en": f"We issued you store credit of {AMOUNT['en']}, for your next order at Demo Winkel.",
        "nl": f"Je hebt een tegoed van {AMOUNT['nl']} gekregen, voor je volgende bestelling bij "
        "Demo Winkel.",
    }[language]
    for body in (text, markup):
        assert issued in body
        assert REFUND_WORD[language] not in body.lower()
    assert STORE_CREDIT[language]["total"] in markup
