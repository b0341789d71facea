"""Approved with the items kept: its own path, from approval to settled.

Before, such a request could never be finished (no action moved it on, no amount was
recorded) and its status page told the customer to create a label and pay the fee.
"""

from __future__ import annotations

import pytest

from api_helpers import bearer, make_key
from domain import workflow
from extensions import db
from factories import make_request
from models import APPROVED, COMPLETED, AuditEvent, OutboundEmail


@pytest.fixture
def kept(shop, agent):
    """A request of two items (€49.95 and €59.95) approved with the items kept."""
    request = make_request(shop, language="en")
    workflow.approve(request, agent, keep_items=True)
    db.session.commit()
    return request


@pytest.fixture
def logged_in(client, auth, agent):
    db.session.commit()
    auth.login(agent.email)
    return client


def status_page(client, request, language: str = "en") -> str:
    path = f"/returns/{request.shop.slug}/status/{request.public_token}?lang={language}"
    return client.get(path).get_data(as_text=True)


def settled_email(request) -> OutboundEmail:
    [email] = db.session.query(OutboundEmail).filter_by(
        request_id=request.id, template="return_resolved"
    )
    return email


def test_the_status_page_says_keep_the_items_not_make_a_label(client, kept):
    page = status_page(client, kept)
    dutch = status_page(client, kept, "nl")

    assert "you may keep the items: there is nothing to send back" in page
    assert "Create your return label" not in page
    assert "€5.95" not in page
    assert "je mag de artikelen houden" in dutch


def test_the_request_page_settles_it_as_a_refund_recorded_and_emailed(logged_in, kept):
    page = logged_in.get(f"/admin/requests/{kept.id}").get_data(as_text=True)
    assert "Settle: Refund" in page

    logged_in.post(
        f"/admin/requests/{kept.id}/act",
        data={"action": "settle", "kind": "refund", "version": kept.version},
    )
    db.session.refresh(kept)

    assert kept.status == COMPLETED
    assert (kept.settled_resolution, kept.settled_cents) == ("refund", 10990)
    assert kept.settled_at is not None
    history = db.session.query(AuditEvent).filter_by(request_id=kept.id).order_by(AuditEvent.id)
    assert [event.action for event in history][-1] == "resolved_refund"
    email = settled_email(kept)
    # No connector: refunded by hand, so the customer is told what to expect, not "refunded".
    assert "Expected refund: €109.90." in email.body_text
    assert "Expected refund: €109.90." in status_page(logged_in, kept)
    page = logged_in.get(f"/admin/requests/{kept.id}").get_data(as_text=True)
    assert "settled the request with a refund; the customer keeps the items" in page


def test_store_credit_is_settled_as_credit(logged_in, kept):
    logged_in.post(
        f"/admin/requests/{kept.id}/act",
        data={"action": "settle", "kind": "store_credit", "version": kept.version},
    )
    db.session.refresh(kept)

    assert (kept.settled_resolution, kept.settled_cents) == ("store_credit", 10990)
    assert "Expected store credit: €109.90" in settled_email(kept).body_text


def test_a_request_whose_items_come_back_is_not_settled_on_the_request(logged_in, shop, agent):
    request = make_request(shop)
    workflow.approve(request, agent)
    db.session.commit()

    page = logged_in.get(f"/admin/requests/{request.id}").get_data(as_text=True)
    answer = logged_in.post(
        f"/admin/requests/{request.id}/act",
        data={"action": "settle", "kind": "refund"},
        follow_redirects=True,
    ).get_data(as_text=True)
    db.session.refresh(request)

    assert "Settle: Refund" not in page
    assert "The return is settled when it is received." in answer
    assert request.status == APPROVED and request.settled_at is None


def test_the_api_settles_it_too(client, shop, kept):
    key = make_key(shop)
    db.session.commit()
    before = client.get(f"/api/v1/return-requests/{kept.number}", headers=bearer(key)).json
    assert "settle" in before["allowed_actions"]

    answer = client.post(
        f"/api/v1/return-requests/{kept.number}/actions",
        json={"action": "settle", "resolution": "exchange"},
        headers=bearer(key),
    )

    assert answer.status_code == 200, answer.json
    after = client.get(f"/api/v1/return-requests/{kept.number}", headers=bearer(key)).json
    assert after["status"] == "completed"
    assert (after["settled_resolution"], after["settled_cents"]) == ("exchange", None)
