"""After a return's label is cancelled, the agent chooses: a new label, or cancel the request.

Before, the request stayed "label created" with no way out. Both ways are offered on the
request page (drawn from ``workflow.allowed_actions``), audited and emailed; the return page
draws its own buttons from ``workflow.allowed_return_actions``.
"""

from __future__ import annotations

import pytest

from domain import audit
from extensions import db
from factories import RETURN_ADDRESS
from models import APPROVED, CANCELLED, LABEL_CREATED, AuditEvent, Return
from return_flow import approved_request, create_label, emails_to
from services import labels

pytestmark = pytest.mark.shop(**RETURN_ADDRESS)

NEW_LABEL_BUTTON = "Let the customer make a new label"


@pytest.fixture
def cancelled_label(shop, agent):
    """An approved request whose customer made a label that the agent then cancelled."""
    request = approved_request(shop, agent)
    return_ = create_label(request)
    labels.cancel_return(return_, agent)
    db.session.commit()
    return request, return_


@pytest.fixture
def logged_in(client, auth, agent):
    db.session.commit()
    auth.login(agent.email)
    return client


def act(client, request, action: str, **form):
    return client.post(
        f"/admin/requests/{request.id}/act",
        data={"action": action, **form},
        follow_redirects=True,
    ).get_data(as_text=True)


def audit_actions(request) -> list[str]:
    events = db.session.query(AuditEvent).filter_by(request_id=request.id).order_by(AuditEvent.id)
    return [event.action for event in events]


def test_the_request_page_offers_a_new_label_or_cancelling(logged_in, cancelled_label):
    request, return_ = cancelled_label

    page = logged_in.get(f"/admin/requests/{request.id}").get_data(as_text=True)
    return_page = logged_in.get(f"/admin/returns/{return_.id}").get_data(as_text=True)

    assert NEW_LABEL_BUTTON in page
    assert 'id="cancel-reason"' in page
    assert 'id="after-cancelled-label"' in return_page
    assert f'href="/admin/requests/{request.id}"' in return_page


def test_a_new_label_approves_again_and_tells_the_customer(logged_in, cancelled_label):
    request, _return = cancelled_label

    act(logged_in, request, "label_again")
    db.session.refresh(request)

    assert request.status == APPROVED
    assert audit_actions(request)[-1] == "label_again"
    [mail] = emails_to(request.customer_email, "label_cancelled")
    assert "was cancelled and can no longer be used" in mail.body_text
    assert "Create a new return label on your return page" in mail.body_text
    assert f"/status/{request.public_token}" in mail.body_text


def test_after_a_new_label_is_allowed_the_customer_gets_a_second_return(logged_in, cancelled_label):
    request, old = cancelled_label
    act(logged_in, request, "label_again")
    db.session.refresh(request)

    fresh = create_label(request)

    assert fresh.id != old.id and fresh.status == "label_created"
    assert db.session.query(Return).filter_by(request_id=request.id).count() == 2
    assert request.status == LABEL_CREATED


def test_the_agent_may_cancel_the_request_instead(logged_in, cancelled_label):
    request, _return = cancelled_label

    act(logged_in, request, "cancel", reason="The item is sold out; we refund you by hand.")
    db.session.refresh(request)

    assert request.status == CANCELLED
    [mail] = emails_to(request.customer_email, "request_cancelled")
    assert "The item is sold out; we refund you by hand." in mail.body_text


def test_the_old_label_is_not_made_again_once_the_agent_chose(logged_in, cancelled_label):
    request, return_ = cancelled_label
    act(logged_in, request, "label_again")

    page = logged_in.get(f"/admin/returns/{return_.id}").get_data(as_text=True)
    answer = logged_in.post(
        f"/admin/returns/{return_.id}/act", data={"action": "recreate"}, follow_redirects=True
    ).get_data(as_text=True)
    db.session.refresh(return_)

    assert "Create the label again" not in page
    assert "no longer waits for this return" in answer
    assert return_.status == "cancelled"


def test_while_the_return_is_under_way_neither_is_offered_or_done(logged_in, shop, agent):
    request = approved_request(shop, agent)
    create_label(request)

    page = logged_in.get(f"/admin/requests/{request.id}").get_data(as_text=True)
    answer = act(logged_in, request, "label_again")
    refused = act(logged_in, request, "cancel", reason="changed my mind")
    db.session.refresh(request)

    assert NEW_LABEL_BUTTON not in page and 'id="cancel-reason"' not in page
    assert "cancel it first" in answer
    assert "cancel the return instead" in refused
    assert request.status == LABEL_CREATED
    assert emails_to(request.customer_email, "label_cancelled") == []


def test_the_customers_email_is_dutch_for_a_dutch_customer(logged_in, shop, agent):
    request = approved_request(shop, agent, language="nl")
    return_ = create_label(request)
    labels.cancel_return(return_, agent)
    db.session.commit()

    act(logged_in, request, "label_again")

    [mail] = emails_to(request.customer_email, "label_cancelled")
    assert "is geannuleerd en kan niet meer worden gebruikt" in mail.body_text
    assert "Maak een nieuw retourlabel aan" in mail.body_text


def test_a_label_being_made_offers_no_second_label_on_the_return_page(logged_in, shop, agent):
    request = approved_request(shop, agent)
    return_ = labels.create_return(request, "own", audit.CUSTOMER)
    db.session.commit()

    page = logged_in.get(f"/admin/returns/{return_.id}").get_data(as_text=True)

    assert return_.label_status == "pending"
    assert "Create the label again" not in page
    assert "Cancel return (void the label)" in page
