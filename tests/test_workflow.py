"""The state machine of a return request (workflow.py)."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from domain import audit, workflow
from extensions import db
from factories import make_request, make_user
from models import (
    APPROVED,
    CANCELLED,
    COMPLETED,
    CONCEPT,
    NEW,
    ON_HOLD,
    REQUEST_STATUSES,
    AuditEvent,
    Return,
    utcnow,
)


@pytest.fixture
def bram(shop):
    return make_user("bram@example.com", shop, name="Bram")


def audit_actions(request):
    return [
        e.action
        for e in db.session.scalars(
            select(AuditEvent).where(AuditEvent.request_id == request.id).order_by(AuditEvent.id)
        )
    ]


def test_approve_emails_customer_once_with_link_to_status_page(shop, anna, smtp_sink):
    request = make_request(shop, language="en")
    workflow.approve(request, anna)
    db.session.commit()
    assert request.status == APPROVED
    assert request.decided_by == anna
    assert all(line.decision == "approved" for line in request.lines)
    [message] = smtp_sink.to(request.customer_email)
    assert request.number in message["Subject"] and "Demo Winkel" in message["Subject"]
    body = message.get_body(("plain",)).get_content()
    assert f"/returns/demo/status/{request.public_token}" in body
    assert "deducted from your refund" in body
    assert audit_actions(request) == ["approve"]


def test_approval_email_says_free_when_free_shipping_is_on(shop, anna, smtp_sink):
    request = make_request(shop, language="en", free_shipping=True)
    workflow.approve(request, anna)
    db.session.commit()
    body = smtp_sink.to(request.customer_email)[0].get_body(("plain",)).get_content()
    assert "free of charge" in body


def test_cancel_requires_a_reason_and_emails_it(shop, anna, smtp_sink):
    request = make_request(shop, language="en")
    with pytest.raises(workflow.TransitionRefused):
        workflow.cancel(request, anna, "  ")
    workflow.cancel(request, anna, "Worn and washed")
    db.session.commit()
    assert request.status == CANCELLED
    body = smtp_sink.to(request.customer_email)[0].get_body(("plain",)).get_content()
    assert "Worn and washed" in body


def test_hold_remembers_who_since_when_and_release_restores_status(shop, anna):
    request = make_request(shop, status=CONCEPT)
    workflow.hold(request, anna)
    db.session.commit()
    assert (request.status, request.held_by, request.status_before_hold) == (ON_HOLD, anna, CONCEPT)
    assert request.held_since is not None
    workflow.release(request, anna)
    db.session.commit()
    assert (request.status, request.held_by, request.held_since) == (CONCEPT, None, None)


def test_second_agent_cannot_approve_held_request(shop, anna, bram, smtp_sink):
    request = make_request(shop)
    workflow.hold(request, anna)
    db.session.commit()
    with pytest.raises(workflow.TransitionRefused, match="Held by Anna"):
        workflow.approve(request, bram)
    with pytest.raises(workflow.TransitionRefused, match="Held by Anna"):
        workflow.set_free_shipping(request, bram, True)
    db.session.rollback()
    assert request.status == ON_HOLD
    assert smtp_sink.messages == []


def test_agent_takes_over_only_a_stale_hold_and_it_is_audited(shop, anna, bram):
    request = make_request(shop)
    workflow.hold(request, anna)
    db.session.commit()
    with pytest.raises(workflow.TransitionRefused):
        workflow.take_over(request, bram)
    db.session.rollback()
    request.held_since = workflow.working_hours_ago(utcnow(), 9)
    db.session.commit()
    assert workflow.hold_is_stale(request)
    workflow.take_over(request, bram)
    workflow.approve(request, bram)
    db.session.commit()
    assert request.status == APPROVED
    assert audit_actions(request) == ["hold", "take_over", "approve"]


def test_shop_admin_may_take_over_any_hold(shop, anna):
    boss = make_user("boss@example.com", shop, role="admin", name="Boss")
    request = make_request(shop)
    workflow.hold(request, anna)
    workflow.take_over(request, boss)
    db.session.commit()
    assert request.held_by == boss


@pytest.mark.parametrize("start", REQUEST_STATUSES)
def test_every_illegal_transition_is_refused(shop, anna, start):
    request = make_request(
        shop,
        status=start,
        held_by=anna if start == ON_HOLD else None,
        status_before_hold=NEW if start == ON_HOLD else None,
    )
    db.session.commit()
    allowed = {to for (frm, to) in workflow.TRANSITIONS if frm == start}
    if APPROVED not in allowed:
        with pytest.raises(workflow.TransitionRefused):
            workflow.approve(request, anna)
    if CONCEPT not in allowed:
        with pytest.raises(workflow.TransitionRefused):
            workflow.set_concept(request, anna)
    if CANCELLED not in allowed:
        with pytest.raises(workflow.TransitionRefused):
            workflow.cancel(request, anna, "no")
    db.session.rollback()
    assert request.status == start


def test_free_shipping_toggle_is_audited_and_frozen_once_a_label_exists(shop, anna):
    request = make_request(shop)
    workflow.set_free_shipping(request, anna, True)
    workflow.approve(request, anna)
    db.session.add(Return(number="RT-1", shop=shop, request=request, carrier="own"))
    db.session.commit()
    with pytest.raises(workflow.TransitionRefused):
        workflow.set_free_shipping(request, anna, False)
    assert "free_shipping_on" in audit_actions(request)


def test_partial_approval_keeps_rejected_lines_and_tells_the_customer(shop, anna, smtp_sink):
    request = make_request(shop, language="en")
    first, second = request.lines
    with pytest.raises(workflow.TransitionRefused):
        workflow.decide_line(request, anna, second, approved=False)
    workflow.decide_line(request, anna, second, approved=False, reason="Worn")
    workflow.approve(request, anna)
    db.session.commit()
    assert (first.decision, second.decision) == ("approved", "rejected")
    body = smtp_sink.to(request.customer_email)[0].get_body(("plain",)).get_content()
    assert "cannot be returned" in body and "Worn" in body


def test_request_with_every_line_rejected_cannot_be_approved(shop, anna):
    request = make_request(shop)
    for line in request.lines:
        workflow.decide_line(request, anna, line, approved=False, reason="Worn")
    with pytest.raises(workflow.TransitionRefused, match="cancel"):
        workflow.approve(request, anna)


def test_keep_items_approval_goes_straight_to_completion(shop, anna, smtp_sink):
    request = make_request(shop, language="en")
    workflow.approve(request, anna, keep_items=True)
    with pytest.raises(workflow.TransitionRefused):
        workflow.mark_label_created(request, None)
    workflow.complete(request, anna)
    db.session.commit()
    assert request.status == COMPLETED
    assert (
        "keep the items"
        in smtp_sink.to(request.customer_email)[0].get_body(("plain",)).get_content()
    )


def test_label_then_completion(shop, anna):
    request = make_request(shop)
    workflow.approve(request, anna)
    with pytest.raises(workflow.TransitionRefused):
        workflow.complete(request, anna)
    workflow.mark_label_created(request, audit.Actor(label="customer"))
    workflow.complete(request, anna)
    db.session.commit()
    assert request.status == COMPLETED
    assert audit_actions(request) == ["approve", "label_created", "complete"]


def test_only_admin_reopens_cancelled_request(shop, anna):
    boss = make_user("boss@example.com", shop, role="admin")
    request = make_request(shop, status=CANCELLED)
    with pytest.raises(workflow.TransitionRefused):
        workflow.reopen(request, anna)
    workflow.reopen(request, boss)
    assert request.status == NEW


AMSTERDAM = ZoneInfo("Europe/Amsterdam")


@pytest.mark.parametrize(
    ("now", "hours", "expected"),
    [
        (datetime(2026, 11, 25, 15, 0), 4, datetime(2026, 11, 25, 11, 0)),  # same day
        (datetime(2026, 11, 25, 10, 0), 8, datetime(2026, 11, 24, 10, 0)),  # into yesterday
        (datetime(2026, 11, 23, 10, 0), 8, datetime(2026, 11, 20, 10, 0)),  # Monday → Friday
        (datetime(2026, 11, 28, 12, 0), 8, datetime(2026, 11, 27, 9, 0)),  # Saturday
        (datetime(2026, 11, 25, 19, 30), 2, datetime(2026, 11, 25, 15, 0)),  # evening
        (datetime(2026, 11, 25, 7, 0), 1, datetime(2026, 11, 24, 16, 0)),  # early morning
    ],
)
def test_holds_go_stale_after_working_hours_only(now, hours, expected):
    now = now.replace(tzinfo=AMSTERDAM)
    assert workflow.working_hours_ago(now, hours) == expected.replace(tzinfo=AMSTERDAM)


def test_a_hold_goes_stale_by_the_working_hours_of_the_shops_own_zone(shop, anna):
    tokyo = ZoneInfo("Asia/Tokyo")
    shop.time_zone = "Asia/Tokyo"
    request = make_request(shop)
    workflow.hold(request, anna)
    request.held_since = datetime(2026, 11, 30, 8, 30, tzinfo=tokyo)
    # A whole working day in Tokyo; in Amsterdam the office has not even opened yet.
    assert workflow.hold_is_stale(request, datetime(2026, 11, 30, 17, 30, tzinfo=tokyo))


def test_a_friday_afternoon_hold_is_not_stale_on_monday_morning(shop, anna):
    request = make_request(shop)
    workflow.hold(request, anna)
    request.held_since = datetime(2026, 11, 27, 15, 0, tzinfo=AMSTERDAM)
    assert not workflow.hold_is_stale(request, datetime(2026, 11, 30, 9, 30, tzinfo=AMSTERDAM))
    assert workflow.hold_is_stale(request, datetime(2026, 11, 30, 15, 30, tzinfo=AMSTERDAM))
