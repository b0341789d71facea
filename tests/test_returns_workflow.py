"""A return's journey through workflow.py: label → transit → delivered → received → resolved."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, update

from domain import audit, refunds, workflow
from extensions import db
from factories import RETURN_ADDRESS
from models import APPROVED, COMPLETED, LABEL_CREATED, Return, utcnow
from return_flow import approved_request, create_label, emails_to, return_audit, run_jobs
from services import label_jobs, labels

# The labels go back to the shop's return address.
pytestmark = pytest.mark.shop(**RETURN_ADDRESS)


def count_returns(request) -> int:
    return db.session.scalar(
        select(func.count()).select_from(Return).where(Return.request_id == request.id)
    )


def received(return_, condition="ok"):
    return {line.id: (condition, line.quantity) for line in return_.request.lines}


def test_creating_a_label_makes_one_return_and_marks_the_request(request_):
    return_ = labels.create_return(request_, "own", audit.CUSTOMER)
    db.session.commit()

    assert return_.number.startswith("RET-")
    assert return_.status == "label_created" and return_.label_status == "pending"
    assert request_.status == LABEL_CREATED
    assert return_audit(return_) == [("return_created", None, "label_created")]


def test_creating_twice_gives_the_same_return(request_):
    first = labels.create_return(request_, "own", audit.CUSTOMER)
    db.session.commit()
    second = labels.create_return(request_, "own", audit.CUSTOMER)
    db.session.commit()

    assert first.id == second.id
    assert count_returns(request_) == 1


def test_fee_shown_before_is_recorded_on_the_return(shop, agent):
    paid = approved_request(shop, agent)
    free = approved_request(shop, agent, free_shipping=True)

    assert labels.create_return(paid, "own", audit.CUSTOMER).cost_cents == 595
    assert labels.create_return(free, "own", audit.CUSTOMER).cost_cents == 0


@pytest.mark.parametrize("status", ["new", "concept", "cancelled"])
def test_no_label_for_a_request_that_is_not_approved(shop, agent, status):
    from factories import make_request

    request = make_request(shop, status=status)
    with pytest.raises(workflow.TransitionRefused):
        labels.create_return(request, "own", audit.CUSTOMER)
    assert count_returns(request) == 0


def test_no_label_when_the_customer_keeps_the_items(shop, agent):
    from factories import make_request

    request = make_request(shop)
    workflow.approve(request, agent, keep_items=True)
    db.session.commit()
    with pytest.raises(workflow.TransitionRefused):
        labels.create_return(request, "own", audit.CUSTOMER)
    assert request.status == APPROVED


def test_no_label_with_a_carrier_the_shop_does_not_offer(request_):
    with pytest.raises(workflow.TransitionRefused):
        labels.create_return(request_, "sendcloud", audit.CUSTOMER)


def test_the_whole_journey_is_audited(request_, agent):
    return_ = create_label(request_)
    workflow.mark_in_transit(return_, agent)
    workflow.mark_delivered(return_, agent)
    workflow.receive(return_, agent, received(return_))
    workflow.resolve(return_, agent, "refund")
    db.session.commit()

    assert return_.status == "resolved"
    assert request_.status == COMPLETED
    assert [action for action, _, _ in return_audit(return_)] == [
        "return_created",
        "label_ready",
        "in_transit",
        "delivered",
        "received",
        "resolved_refund",
    ]
    assert return_audit(return_)[-1][1:] == ("received", "resolved")


@pytest.mark.parametrize(
    ("step", "from_status"),
    [
        ("in_transit", "delivered"),
        ("delivered", "received"),
        ("in_transit", "resolved"),
        ("delivered", "cancelled"),
    ],
)
def test_a_step_is_refused_from_the_wrong_status(request_, agent, step, from_status):
    return_ = create_label(request_)
    return_.status = from_status
    db.session.commit()
    operation = {"in_transit": workflow.mark_in_transit, "delivered": workflow.mark_delivered}

    with pytest.raises(workflow.TransitionRefused):
        operation[step](return_, agent)

    db.session.refresh(return_)
    assert return_.status == from_status


def test_resolving_before_receiving_is_refused(request_, agent):
    return_ = create_label(request_)
    with pytest.raises(workflow.TransitionRefused):
        workflow.resolve(return_, agent, "refund")
    assert return_.status == "label_created" and request_.status == LABEL_CREATED


def test_a_step_a_colleague_took_meanwhile_is_refused(request_, agent):
    return_ = create_label(request_)
    assert return_.status == "label_created"  # what this agent's page shows
    with db.engine.begin() as colleague:  # meanwhile, in another connection
        colleague.execute(update(Return).where(Return.id == return_.id).values(status="delivered"))

    with pytest.raises(workflow.TransitionRefused):
        workflow.mark_in_transit(return_, agent)

    db.session.refresh(return_)
    assert return_.status == "delivered"
    assert "in_transit" not in [a for a, _, _ in return_audit(return_)]


def test_receiving_records_each_lines_condition_and_quantity(request_, agent):
    return_ = create_label(request_)
    first, second = request_.lines
    workflow.receive(return_, agent, {first.id: ("ok", 1), second.id: ("damaged", 1)})
    db.session.commit()

    assert (first.condition, first.received_quantity) == ("ok", 1)
    assert (second.condition, second.received_quantity) == ("damaged", 1)


@pytest.mark.parametrize(
    "inspection",
    [
        {"missing_line": True},
        {"condition": "broken"},
        {"quantity": 5},
    ],
)
def test_an_incomplete_or_impossible_inspection_is_refused(request_, agent, inspection):
    return_ = create_label(request_)
    first, second = request_.lines
    inspections = {
        first.id: (inspection.get("condition", "ok"), inspection.get("quantity", 1)),
        second.id: ("ok", 1),
    }
    if inspection.get("missing_line"):
        del inspections[second.id]
    with pytest.raises(workflow.TransitionRefused):
        workflow.receive(return_, agent, inspections)
    assert return_.status == "label_created"


def test_refund_amount_equals_the_breakdown(request_, agent):
    return_ = create_label(request_)
    first, second = request_.lines
    workflow.receive(return_, agent, {first.id: ("ok", 1), second.id: ("wrong_item", 1)})
    expected = refunds.refund_breakdown(request_).total_cents
    workflow.resolve(return_, agent, "refund")
    db.session.commit()

    assert expected == 4995 - 595
    assert return_.refund_cents == expected
    assert return_.resolution == "refund" and return_.resolved_at is not None


def test_exchange_and_store_credit_complete_the_request(shop, agent):
    outcomes = {}
    for kind in ("exchange", "store_credit"):
        request = approved_request(shop, agent)
        return_ = create_label(request)
        workflow.receive(return_, agent, received(return_))
        workflow.resolve(return_, agent, kind)
        db.session.commit()
        outcomes[kind] = (return_.resolution, return_.refund_cents, request.status)

    assert outcomes["exchange"] == ("exchange", None, COMPLETED)
    assert outcomes["store_credit"] == ("store_credit", 4995 + 5995 - 595, COMPLETED)


def test_customer_is_emailed_at_received_and_resolved_with_the_amount(request_, agent):
    return_ = create_label(request_)
    workflow.receive(return_, agent, received(return_))
    db.session.commit()
    [received_mail] = emails_to(request_.customer_email, "return_received")
    assert request_.number in received_mail.subject
    assert "€103.95" in received_mail.body_text  # 49.95 + 59.95 - 5.95 fee

    workflow.resolve(return_, agent, "refund")
    db.session.commit()
    [resolved_mail] = emails_to(request_.customer_email, "return_resolved")
    # Refunded by hand: the customer hears "refunded" only once staff mark it so.
    assert "Expected refund: €103.95" in resolved_mail.body_text
    assert "We refunded" not in resolved_mail.body_text
    assert "€103.95" in resolved_mail.body_html


def test_emails_are_written_in_the_customers_language(shop, agent):
    request = approved_request(shop, agent, language="nl")
    return_ = create_label(request)
    workflow.receive(return_, agent, received(return_))
    db.session.commit()
    [mail] = emails_to(request.customer_email, "return_received")
    assert mail.language == "nl"


def test_cancelling_voids_the_label_and_the_agent_recreating_keeps_the_return(request_, agent):
    return_ = create_label(request_)
    old_tracking = return_.tracking_number
    labels.cancel_return(return_, agent)
    db.session.commit()
    assert return_.status == "cancelled" and return_.label_status == "cancelled"
    assert request_.status == LABEL_CREATED

    workflow.recreate_label(return_, agent)
    db.session.commit()
    label_jobs.start_label_job(return_.id)
    run_jobs()
    again = workflow.active_return(request_)

    assert again.id == return_.id
    assert count_returns(request_) == 1
    assert again.status == "label_created" and again.label_status == "ready"
    assert again.tracking_number and again.tracking_number != old_tracking
    assert [a for a, _, _ in return_audit(return_)][-3:] == [
        "return_cancelled",
        "label_recreated",
        "label_ready",
    ]


def test_a_lost_label_is_made_again_on_the_same_return(request_, agent):

    return_ = create_label(request_)
    tracking = return_.tracking_number
    workflow.recreate_label(return_, agent)
    db.session.commit()
    label_jobs.start_label_job(return_.id)
    run_jobs()
    db.session.refresh(return_)

    assert return_.label_status == "ready" and return_.tracking_number == tracking
    assert count_returns(request_) == 1


def test_a_received_return_cannot_be_cancelled(request_, agent):
    return_ = create_label(request_)
    workflow.receive(return_, agent, received(return_))
    with pytest.raises(workflow.TransitionRefused):
        labels.cancel_return(return_, agent)


def test_cancelling_while_the_label_is_being_made_is_refused(request_, agent):
    return_ = labels.create_return(request_, "own", audit.CUSTOMER)
    return_.label_status = "working"
    db.session.commit()

    with pytest.raises(workflow.TransitionRefused):
        labels.cancel_return(return_, agent)
    assert return_.status == "label_created"


def tracking(return_, status: str) -> labels.TrackingEvent:
    return labels.TrackingEvent(return_.tracking_number, status, utcnow(), "scan")


def test_tracking_events_move_the_return_and_old_news_changes_nothing(request_):
    return_ = create_label(request_)
    carrier = audit.Actor(label="own")

    moved = [
        workflow.apply_tracking_event(return_, tracking(return_, status), carrier)
        for status in ("in_transit", "in_transit", "delivered", "in_transit", "label_created")
    ]
    db.session.commit()

    assert moved == [True, False, True, False, False]
    assert return_.status == "delivered"
    assert [a for a, _, _ in return_audit(return_)][-2:] == [
        "tracking_in_transit",
        "tracking_delivered",
    ]


def test_a_label_the_carrier_cancelled_cancels_the_return(request_):
    return_ = create_label(request_)

    assert workflow.apply_tracking_event(return_, tracking(return_, "cancelled"), None)
    assert (return_.status, return_.label_status) == ("cancelled", "cancelled")
