"""The request page's template sees plain data, never an ORM object, and one GET of it asks
the database a bounded number of times (``services.request_page``)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from extensions import db
from factories import make_order, make_request, make_return
from models import (
    ON_HOLD,
    Attachment,
    AuditEvent,
    Message,
    Notice,
    NoticeRule,
    Refund,
    ReturnRequest,
    ReviewStage,
    utcnow,
)
from plain_templates import models_handed_to_templates
from query_counting import counted_queries

# What one GET of the request page below asks the database, all told (the login's user, the
# bell, the list's previous and next, the notifications it reads included); 19 before the
# page read plain data.
MAX_QUERIES = 8


def attachment(req: ReturnRequest, name: str, **links: int) -> Attachment:
    return Attachment(
        shop_id=req.shop_id,
        request_id=req.id,
        original_name=name,
        content_type="image/jpeg",
        size=2048,
        sha256="0" * 64,
        storage_key=f"key-{name}",
        **links,
    )


@pytest.fixture
def full_request(shop_staff) -> ReturnRequest:
    """A request with every section of the page filled at once: two lines with photos, a
    stage, notices by a rule and by hand, a thread with files and an internal note, a hold
    by the shop's admin, a resolved return with its refund, a refund of kept items, and
    history. (Test data: the statuses need not be reachable together.)"""
    shop, admin = shop_staff.shop, shop_staff.admin
    req = make_request(
        shop,
        make_order(shop, lines=2),
        ON_HOLD,
        held_by_id=admin.id,
        held_since=utcnow() - timedelta(hours=1),
        status_before_hold="new",
        answers={"gift": {"question": "A gift?", "kind": "yes_no", "value": "yes"}},
    )
    req.stage = ReviewStage(shop=shop, name_nl="Foto's gevraagd", name_en="Photos asked")
    rule = NoticeRule(shop=shop, name="Big order", message_nl="Groot", message_en="Big")
    db.session.add_all([req.stage, rule])
    db.session.flush()
    first, second = req.lines
    db.session.add_all(
        [
            attachment(req, "front.jpg", request_line_id=first.id),
            attachment(req, "back.jpg", request_line_id=second.id),
            Notice(
                request=req, rule_id=rule.id, severity="warning", text_nl="Groot", text_en="Big"
            ),
            Notice(request=req, author_id=admin.id, text_nl="Bellen", text_en="Call first"),
        ]
    )
    inbound = Message(request=req, direction="inbound", body="Here are the photos")
    note = Message(request=req, direction="internal", author_id=admin.id, body="Looks fine")
    db.session.add_all([inbound, note])
    db.session.flush()
    db.session.add(attachment(req, "receipt.pdf", message_id=inbound.id))
    shipment = make_return(req, status="resolved", resolution="refund", refund_cents=4995)
    req.settled_at, req.settled_resolution, req.settled_cents = utcnow(), "refund", 4995
    for key, return_id in (("return", shipment.id), ("kept", None)):
        db.session.add(
            Refund(
                request_id=req.id,
                return_id=return_id,
                shop_id=shop.id,
                kind="refund",
                amount_cents=4995,
                idempotency_key=f"{key}-{req.number}",
            )
        )
    db.session.add(AuditEvent(request_id=req.id, shop_id=shop.id, actor_id=admin.id, action="hold"))
    db.session.commit()
    return req


def test_the_request_page_template_sees_no_orm_object(app, client, auth, full_request):
    auth.login("agent@example.com")

    with models_handed_to_templates(app) as handed:
        answer = client.get(f"/admin/requests/{full_request.id}")

    assert answer.status_code == 200
    page = answer.get_data(as_text=True)
    # Every section is on the page: the test walks data that is really shown.
    for shown in ("receipt.pdf", "Rule: Big order", "Call first", "Looks fine", "Photos asked"):
        assert shown in page
    assert page.count(f"/admin/requests/{full_request.id}/photo/") == 4  # two links, two images
    assert 'id="holder-banner"' in page and 'id="returns"' in page and 'id="payout"' in page
    assert handed == []


def test_one_get_of_the_request_page_asks_a_bounded_number_of_queries(client, auth, full_request):
    auth.login("agent@example.com")
    client.get(f"/admin/requests/{full_request.id}")

    with counted_queries() as statements:
        answer = client.get(f"/admin/requests/{full_request.id}")

    assert answer.status_code == 200
    assert len(statements) <= MAX_QUERIES, "\n".join(statements)
