"""The return fee the customer was told at approval is the fee, whatever the shop charges later.

The customer's status page, the label page, the label itself (its Return), the staff's return
page and the emails all show the fee recorded on the request when it was approved, and the
fee's words follow the resolution: only a refund has a refund to deduct it from.
"""

from __future__ import annotations

import re

import pytest

from domain import audit, workflow
from extensions import db
from factories import RETURN_ADDRESS, make_request
from harness import visible
from return_flow import approved_request, create_label
from services import labels
from staff_helpers import emails_to

# The labels go back to the shop's return address; the shop's fee is €5.95 at approval.
pytestmark = pytest.mark.shop(**RETURN_ADDRESS, return_fee_cents=595)

NEW_FEE = 795


def status_path(request) -> str:
    return f"/returns/{request.shop.slug}/status/{request.public_token}"


def return_shipping(client, request, language: str = "en") -> str:
    """The status page's "Return shipping: …" as the customer reads it."""
    page = visible(client.get(f"{status_path(request)}?lang={language}").get_data(as_text=True))
    word = {"en": "Return shipping", "nl": "Retourzending"}[language]
    return re.search(rf"{word}: (€\xa0?[\d.,]+|\w+)", page).group(1)


def label_page_fee(client, request) -> str:
    page = client.get(f"{status_path(request)}/label").get_data(as_text=True)
    return visible(re.search(r'<p id="label-fee">(.*?)</p>', page, re.S).group(1)).strip()


def shop_fee_becomes(shop, cents: int) -> None:
    shop.return_fee_cents = cents
    db.session.commit()


def mail_body(smtp_sink, request, subject_part: str) -> str:
    [message] = [
        m for m in emails_to(smtp_sink, request.customer_email) if subject_part in m["Subject"]
    ]
    return message.get_body(("plain",)).get_content()


def test_the_status_and_label_pages_keep_the_fee_of_the_approval(client, shop, agent, smtp_sink):
    request = approved_request(shop, agent)
    shop_fee_becomes(shop, NEW_FEE)

    assert return_shipping(client, request) == "€5.95"
    assert return_shipping(client, request, "nl") == "€\xa05,95"
    assert label_page_fee(client, request) == "Cost: €5.95 deducted from your refund."
    assert "The return shipping costs €5.95, deducted from your refund." in mail_body(
        smtp_sink, request, "is approved"
    )

    return_ = labels.create_return(request, "own", audit.CUSTOMER)
    db.session.commit()
    assert return_.cost_cents == 595
    shop_fee_becomes(shop, 995)
    assert return_shipping(client, request) == "€5.95"


def test_a_bulk_approval_records_the_fee_too(client, auth, shop, agent):
    request = make_request(shop, language="en")
    db.session.commit()
    auth.login(agent.email)
    response = client.post(
        "/admin/requests/bulk",
        query_string={"ids": str(request.id), "action": "approve"},
        data={"action": "approve"},
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert request.status == "approved"
    shop_fee_becomes(shop, NEW_FEE)

    assert return_shipping(client, request) == "€5.95"
    assert create_label(request).cost_cents == 595


def test_the_staff_return_page_and_the_received_email_keep_the_recorded_fee(
    client, auth, shop, agent, smtp_sink
):
    request = approved_request(shop, agent)
    shop_fee_becomes(shop, NEW_FEE)  # before the customer makes the label
    return_ = create_label(request)
    workflow.receive(return_, agent, {line.id: ("ok", line.quantity) for line in request.lines})
    db.session.commit()
    auth.login(agent.email)

    page = visible(client.get(f"/admin/returns/{return_.id}").get_data(as_text=True))
    body = mail_body(smtp_sink, request, "We received your return")

    assert "€5.95, deducted from the refund" in page and "€7.95" not in page
    assert "Expected refund: €103.95." in body  # 49.95 + 59.95 - 5.95


FEE_WORDS = {
    ("en", "store_credit"): (
        "The return shipping costs €5.95, deducted from your store credit.",
        "Cost: €5.95 deducted from your store credit.",
    ),
    ("nl", "store_credit"): (
        "Het retourneren kost €\xa05,95; dit gaat van je tegoed af.",
        "Kosten: €\xa05,95 gaat van je tegoed af.",
    ),
    ("en", "exchange"): ("The return shipping costs €5.95.", "Cost: €5.95"),
    ("nl", "exchange"): ("Het retourneren kost €\xa05,95.", "Kosten: €\xa05,95"),
}
REFUND_WORD = {"en": "refund", "nl": "terugbetaling"}


@pytest.mark.parametrize(("language", "resolution"), list(FEE_WORDS))
def test_the_fee_is_not_said_to_come_off_a_refund_there_is_not(
    client, shop, agent, smtp_sink, language, resolution
):
    request = approved_request(
        shop, agent, language=language, resolution=resolution, exchange_note="Maat L"
    )
    sentence, label_words = FEE_WORDS[language, resolution]

    approval = mail_body(smtp_sink, request, {"en": "is approved", "nl": "goedgekeurd"}[language])
    assert sentence in approval
    assert REFUND_WORD[language] not in approval.lower()
    assert label_page_fee(client, request) == label_words
