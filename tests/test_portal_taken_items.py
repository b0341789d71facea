"""An item already in a request: the portal says which request holds it and keeps the
customer moving, with the link to that request emailed again on request."""

from __future__ import annotations

import pytest

from extensions import db
from factories import make_request
from models import AuditEvent, OutboundEmail
from portal_helpers import lookup

EVERYTHING = [{"order_line": 0, "quantity": 2}, {"order_line": 1, "quantity": 1}]


@pytest.fixture
def earlier(shop, order):
    """A request of the customer's order that holds every unit of it."""
    request = make_request(shop, order, lines=EVERYTHING)
    db.session.commit()
    return request


def items_page(client, language: str = "en") -> str:
    lookup(client)
    return client.get(f"/returns/demo/items?lang={language}").get_data(as_text=True)


def test_a_taken_item_names_the_request_that_holds_it(client, earlier):
    page = items_page(client)

    assert f"Already in your return request {earlier.number} (Received)." in page
    assert f"Email me the link to {earlier.number}" in page


def test_with_nothing_left_to_choose_there_is_no_next_button_but_a_way_on(client, earlier):
    page = items_page(client)

    assert 'id="nothing-to-choose"' in page
    assert ">Next</button>" not in page
    assert 'id="earlier-requests"' in page


def test_a_partly_taken_order_still_offers_next(client, shop, order):
    make_request(shop, order, lines=[{"order_line": 1, "quantity": 1}])
    db.session.commit()

    page = items_page(client)

    assert ">Next</button>" in page
    assert 'id="nothing-to-choose"' not in page


def test_the_link_is_emailed_to_the_requests_address_not_shown(client, earlier):
    items_page(client)

    answer = client.post(f"/returns/demo/items/resend/{earlier.id}", follow_redirects=True)
    page = answer.get_data(as_text=True)

    assert f"We emailed the link to return request {earlier.number}" in page
    assert earlier.public_token not in page
    [mail] = db.session.query(OutboundEmail).filter_by(template="request_confirmation").all()
    assert mail.to_address == earlier.customer_email
    assert f"/status/{earlier.public_token}" in mail.body_text
    assert earlier.number in mail.body_text
    history = db.session.query(AuditEvent).filter_by(request_id=earlier.id).all()
    assert [event.action for event in history] == ["link_resent"]


def test_the_page_speaks_dutch(client, earlier):
    page = items_page(client, "nl")

    assert f"Zit al in je retouraanvraag {earlier.number} (Ontvangen)." in page
    assert f"Mail me de link naar {earlier.number}" in page


def test_only_a_request_of_the_found_order_can_be_resent(client, shop, earlier):
    stranger = make_request(shop)
    db.session.commit()
    items_page(client)

    assert client.post(f"/returns/demo/items/resend/{stranger.id}").status_code == 404
    assert db.session.query(OutboundEmail).count() == 0


def test_without_a_found_order_nothing_is_sent(client, earlier):
    answer = client.post(f"/returns/demo/items/resend/{earlier.id}")

    assert answer.status_code == 302
    assert db.session.query(OutboundEmail).count() == 0
