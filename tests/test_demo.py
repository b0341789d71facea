"""The demo data of ``flask demo seed``: loaded once, complete, and usable as printed.

Seeding takes a few seconds, so the module seeds once (and a second time, to prove that
changes nothing) and every test reads the result.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select

from demo import seeding
from extensions import db, limiter
from harness import app_config, empty_all_tables
from models import (
    REQUEST_STATUSES,
    AuditEvent,
    Message,
    Notice,
    Order,
    OrderLine,
    OutboundEmail,
    Return,
    ReturnRequest,
    ReturnRequestLine,
    Shop,
    User,
    utcnow,
)

COUNTED = (Shop, User, Order, OrderLine, ReturnRequest, ReturnRequestLine, Return, Notice)
COUNTED += (Message, AuditEvent, OutboundEmail)


@dataclass
class Seeded:
    app: Flask
    first_output: str
    second_output: str
    counts_after_first: dict[str, int]
    counts_after_second: dict[str, int]


def row_counts() -> dict[str, int]:
    return {t.__name__: db.session.scalar(select(func.count()).select_from(t)) for t in COUNTED}


@pytest.fixture(scope="module")
def seeded(migrated, smtp_sink, tmp_path_factory):
    from app import create_app

    storage = tmp_path_factory.mktemp("demo-storage")
    app = create_app(app_config(migrated, smtp_sink, storage))
    with app.app_context():
        first = seeding.seed()
        after_first = row_counts()
        second = seeding.seed()
        yield Seeded(app, first, second, after_first, row_counts())
        db.session.remove()
        empty_all_tables()
        db.engine.dispose()


def aware(moment):
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def test_seeding_twice_changes_nothing_and_says_so(seeded):
    assert seeded.counts_after_first == seeded.counts_after_second
    assert seeded.counts_after_first["Order"] == 400
    assert seeded.counts_after_first["ReturnRequest"] == 120
    assert "Demo data loaded" in seeded.first_output
    assert "nothing changed" in seeded.second_output


@pytest.mark.parametrize("slug", ["demo", "fashion"])
def test_every_request_status_is_present_in_each_shop(seeded, slug):
    shop = db.session.scalar(select(Shop).where(Shop.slug == slug))
    statuses = set(
        db.session.scalars(select(ReturnRequest.status).where(ReturnRequest.shop_id == shop.id))
    )
    assert statuses == set(REQUEST_STATUSES)


def test_held_requests_name_their_holder_and_the_status_before(seeded):
    held = db.session.scalars(select(ReturnRequest).where(ReturnRequest.status == "on_hold")).all()
    assert held
    assert all(r.held_by is not None and r.status_before_hold for r in held)


def test_label_created_and_completed_requests_have_a_return_shipment(seeded):
    shipped = db.session.scalars(
        select(ReturnRequest).where(ReturnRequest.status == "label_created")
    ).all()
    assert shipped
    for request in shipped:
        assert [r.status for r in request.returns] == ["label_created"]
        assert re.fullmatch(r"RET-\d{4}-\d{5}", request.returns[0].number)


def test_notice_counts_and_thread_timestamps_match_the_rows(seeded):
    requests = db.session.scalars(select(ReturnRequest)).all()
    assert any(r.notices for r in requests)
    assert any(r.awaiting_customer for r in requests)
    assert any(r.customer_replied for r in requests)
    for request in requests:
        assert request.notice_count == len(request.notices)
        outbound = [m for m in request.messages if m.direction == "outbound"]
        assert (request.last_outbound_at is None) == (not outbound)


def test_seed_emails_only_go_to_reserved_demo_domains(seeded):
    recipients = db.session.scalars(select(OutboundEmail.to_address)).all()
    assert recipients
    assert all(re.search(r"@example\.(nl|be|com)$", address) for address in recipients)


def test_request_numbers_are_human_friendly_and_unique(seeded):
    numbers = db.session.scalars(select(ReturnRequest.number)).all()
    assert all(re.fullmatch(r"R-\d{4}-\d{5}", number) for number in numbers)
    assert len(set(numbers)) == len(numbers)


@pytest.mark.parametrize(
    ("email", "sees", "does_not_see"),
    [
        ("support@example.com", ["Bakker Wonen", "Mode van Dijk"], []),
        ("admin@example.com", ["Bakker Wonen"], ["Mode van Dijk"]),
        ("agent@example.com", ["Bakker Wonen"], ["Mode van Dijk"]),
        ("agent@fashion.example.com", ["Mode van Dijk"], ["Bakker Wonen"]),
    ],
)
def test_demo_logins_work_with_password_demo_and_see_their_shops(seeded, email, sees, does_not_see):
    limiter.reset()
    client = seeded.app.test_client()
    response = client.post("/login", data={"email": email, "password": "demo"})
    assert response.status_code == 302
    page = client.get("/admin/").get_data(as_text=True)
    for name in sees:
        assert name in page
    for name in does_not_see:
        assert name not in page


def test_orders_named_in_the_output_are_delivered_and_returnable(seeded):
    named = re.findall(r"order (\S+)\s+email (\S+)", seeded.first_output)
    assert len(named) >= 4
    assert named == re.findall(r"order (\S+)\s+email (\S+)", seeded.second_output)
    for number, email in named:
        order = db.session.scalar(select(Order).where(Order.number == number))
        assert order is not None and order.customer_email == email
        assert order.delivered_at is not None
        delivered = aware(order.delivered_at)
        assert delivered <= utcnow()
        assert utcnow() - delivered < timedelta(days=order.shop.return_window_days)
        assert not db.session.scalar(select(func.count()).where(ReturnRequest.order_id == order.id))
