"""A shop without a connector: "Resolve: refund" moves no money, and says so.

Staff read on the return page that ReturnDesk paid nothing and that they refund by hand in the
shop's back office, then "Mark as refunded". The customer is told at resolving what to expect,
never "We refunded", until staff mark it refunded: then the settled email goes out, once.
Before, the customer's email said "We refunded €…" the moment staff resolved the return.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from domain import workflow
from extensions import db
from factories import RETURN_ADDRESS, make_request
from harness import visible
from models import Refund, Return, ReturnRequest
from return_flow import create_label, emails_to

pytestmark = pytest.mark.shop(default_language="en", **RETURN_ADDRESS)


@pytest.fixture
def staff(client, auth, agent):
    db.session.commit()
    auth.login(agent.email)
    return client


def received_return(shop, agent, language: str = "en", resolution: str = "refund") -> Return:
    request = make_request(shop, language=language, resolution=resolution)
    workflow.approve(request, agent)
    db.session.commit()
    return_ = create_label(request)
    workflow.receive(return_, agent, {line.id: ("ok", 1) for line in request.lines})
    db.session.commit()
    return return_


def resolve(client, return_: Return, kind: str = "refund") -> str:
    response = client.post(
        f"/admin/returns/{return_.id}/act", data={"action": "resolve", "kind": kind}
    )
    db.session.expire_all()
    return visible(client.get(response.headers["Location"]).get_data(as_text=True))


def status_page(client, request: ReturnRequest) -> str:
    path = f"/returns/{request.shop.slug}/status/{request.public_token}"
    return visible(client.get(path).get_data(as_text=True))


def resolved_emails(request: ReturnRequest) -> list:
    return sorted(emails_to(request.customer_email, "return_resolved"), key=lambda e: e.id)


def test_staff_see_that_no_money_moved_and_the_customer_hears_refunded_only_when_marked(
    staff, shop, agent
):
    return_ = received_return(shop, agent)
    request = return_.request

    page = resolve(staff, return_)

    assert "Refund by hand in your shop's back office" in page
    assert "so it moved no money" in page
    assert "only then is the customer told it was refunded" in page
    [accepted] = resolved_emails(request)
    assert accepted.subject == f"Your return {request.number} is accepted"
    assert "Expected refund" in accepted.body_text
    assert "We refunded" not in accepted.body_text and "is settled" not in accepted.body_text
    assert "We refunded" not in status_page(staff, request)
    assert "Expected refund" in status_page(staff, request)

    staff.post(f"/admin/returns/{return_.id}/act", data={"action": "mark_refunded"})
    staff.post(f"/admin/returns/{return_.id}/act", data={"action": "mark_refunded"})

    accepted, refunded = resolved_emails(request)
    assert refunded.subject == f"Your return {request.number} is settled"
    assert "We refunded" in refunded.body_text
    assert "We refunded" in status_page(staff, request)
    refund = db.session.scalar(select(Refund).where(Refund.return_id == return_.id))
    assert (refund.destination, refund.status) == ("manual", "succeeded")


def test_store_credit_by_hand_says_issue_it_by_hand(staff, shop, agent):
    return_ = received_return(shop, agent, resolution="store_credit")

    page = resolve(staff, return_, "store_credit")

    assert "Issue this store credit by hand in your shop's back office" in page
    [accepted] = resolved_emails(return_.request)
    assert "Expected store credit" in accepted.body_text
    assert "We issued you store credit" not in accepted.body_text


def test_store_credit_by_hand_is_marked_issued_not_refunded(staff, shop, agent):
    return_ = received_return(shop, agent, resolution="store_credit")

    page = resolve(staff, return_, "store_credit")
    assert "Mark as issued" in page and "Mark as refunded" not in page

    staff.post(f"/admin/returns/{return_.id}/act", data={"action": "mark_refunded"})
    page = staff.get(f"/admin/returns/{return_.id}").get_data(as_text=True)
    assert "Issued by hand in the shop&#39;s back office." in page
    assert "Refunded by hand" not in page


def test_an_exchange_is_settled_at_once(staff, shop, agent):
    return_ = received_return(shop, agent, resolution="exchange")

    page = resolve(staff, return_, "exchange")

    assert "Refund by hand" not in page
    [settled] = resolved_emails(return_.request)
    assert "is settled" in settled.subject


@pytest.mark.shop(default_language="nl", address_formally=True, **RETURN_ADDRESS)
def test_the_dutch_formal_email_says_accepted_in_the_u_form(staff, shop, agent):
    return_ = received_return(shop, agent, language="nl")

    resolve(staff, return_)

    [accepted] = resolved_emails(return_.request)
    assert accepted.subject == f"Uw retour {return_.request.number} is geaccepteerd"
    assert f"Uw retouraanvraag {return_.request.number} is geaccepteerd." in accepted.body_text
    assert "terugbetaald" not in accepted.body_text
