"""The daily retention job: closed requests past their shop's date are anonymised (no trace
of the customer's name, address or words in any table, none of their files in storage, the
numbers and amounts kept), those before it and open ones stay; old outbox bodies and webhook
payloads are trimmed; a second run changes nothing; the job is on the workers' schedule."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import JSON, String, Text, select, update

from customer_helpers import EMAIL, NAME, PERSONAL, customer_story, texts_holding
from domain import audit
from extensions import db
from factories import RETURN_ADDRESS, make_order, make_request, make_shop
from models import (
    CANCELLED,
    COMPLETED,
    NEW,
    OutboundEmail,
    RetentionRun,
    ReturnRequest,
    WebhookDelivery,
    WebhookEndpoint,
    utcnow,
)
from services import retention, schedule, stores

pytestmark = pytest.mark.shop(**RETURN_ADDRESS)

DAY = timedelta(days=1)
# 24 months of 30 days: the default anonymisation date of a closed request.
DEFAULT_DAYS = 24 * 30


def closed_days_ago(numbers: list[str], days: float) -> None:
    """The requests were last changed (closed) ``days`` ago."""
    db.session.execute(
        update(ReturnRequest)
        .where(ReturnRequest.number.in_(numbers))
        .values(updated_at=utcnow() - days * DAY)
    )
    db.session.commit()


def someone(shop, name: str, email: str, status: str, closed_ago: float) -> str:
    """A customer's request in ``status``, last changed ``closed_ago`` days ago; its number."""
    order = make_order(shop, customer_name=name, customer_email=email)
    request = make_request(shop, order, status=status)
    request.lines[0].comment = f"Opmerking van {name}"
    db.session.commit()
    closed_days_ago([request.number], closed_ago)
    return request.number


@pytest.fixture
def story(shop_staff):
    """Zoë's two requests closed a day past the default 24 months; Noor's closed a day before
    it; Mila's open for three years; Lotte's closed 25 months ago in a shop that keeps
    requests 36 months."""
    shop = shop_staff.shop
    zoe = customer_story(shop, shop_staff.agent)
    first = db.session.scalar(
        select(ReturnRequest).where(ReturnRequest.number == zoe.request_numbers[0])
    )
    # As a portal submission records its customer (domain/submission.py).
    audit.record(first, audit.Actor(label=f"{NAME} <{EMAIL}>"), "submitted", to_status=NEW)
    db.session.commit()
    closed_days_ago(zoe.request_numbers, DEFAULT_DAYS + 1)
    patient = make_shop("patient", "Geduldige Winkel", anonymise_after_months=36)
    kept = {
        "Noor de Vries": someone(shop, "Noor de Vries", "noor@example.nl", CANCELLED, 719),
        "Mila Bakker": someone(shop, "Mila Bakker", "mila@example.nl", NEW, 3 * 365),
        "Lotte Smit": someone(patient, "Lotte Smit", "lotte@example.nl", COMPLETED, 25 * 30),
    }
    return zoe, kept


def all_texts() -> dict[str, list]:
    """Every text, string and JSON cell of every table but the job's own record."""
    db.session.expire_all()
    cells = {}
    for table in db.metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, String | Text | JSON)]
        if columns and table.name != RetentionRun.__tablename__:
            rows = db.session.execute(select(*columns).order_by(*table.primary_key.columns))
            cells[table.name] = [json.dumps(list(row), default=str) for row in rows]
    return cells


def test_the_job_anonymises_exactly_the_requests_past_their_date(app, story):
    zoe, kept = story
    assert texts_holding(PERSONAL)

    done = retention.run()

    assert done.requests_anonymised == 2 and done.finished_at is not None
    assert texts_holding(PERSONAL) == []
    store = stores.current()
    assert not any(store.exists(key) for key in zoe.storage_keys)
    assert done.files_deleted == len(zoe.storage_keys)
    for name, number in kept.items():
        assert texts_holding((name,)), name
        request = db.session.scalar(select(ReturnRequest).where(ReturnRequest.number == number))
        assert request.customer_name == name and request.anonymised_at is None
    anonymised = db.session.scalars(
        select(ReturnRequest).where(ReturnRequest.number.in_(zoe.request_numbers))
    ).all()
    assert {r.number: r.total_cents for r in anonymised} == zoe.totals
    assert all(r.customer_name == "[erased]" and r.anonymised_at for r in anonymised)
    assert {r.order_number for r in anonymised} == set(zoe.order_numbers)


def test_a_second_run_changes_nothing(app, story):
    retention.run()
    before = all_texts()

    again = retention.run()

    assert (again.requests_anonymised, again.files_deleted, again.bodies_trimmed) == (0, 0, 0)
    assert all_texts() == before


def test_an_order_keeps_its_customer_while_another_request_of_it_is_kept(app, shop_staff):
    shop = shop_staff.shop
    order = make_order(shop, customer_name="Sem Visser", customer_email="sem@example.nl")
    old = make_request(shop, order, status=COMPLETED)
    make_request(shop, order, status=NEW)
    db.session.commit()
    closed_days_ago([old.number], DEFAULT_DAYS + 1)

    assert retention.run().requests_anonymised == 1

    db.session.expire_all()
    assert old.customer_name == "[erased]" and order.customer_name == "Sem Visser"


def sent_long_ago(days: float, status: str) -> OutboundEmail:
    email = OutboundEmail(
        template="request_approved",
        to_address="klant@example.nl",
        subject="Je retour",
        body_text=f"Beste klant, {days} dagen geleden",
        body_html="<p>Beste klant</p>",
        status=status,
    )
    db.session.add(email)
    db.session.flush()
    email.created_at = utcnow() - days * DAY
    return email


def delivered_long_ago(endpoint, days: float, status: str) -> WebhookDelivery:
    delivery = WebhookDelivery(
        endpoint=endpoint,
        event="request.created",
        payload={"data": {"customer_name": "Klant"}},
        status=status,
    )
    db.session.add(delivery)
    db.session.flush()
    delivery.created_at = utcnow() - days * DAY
    return delivery


def test_outbox_bodies_and_webhook_payloads_are_trimmed_after_90_days(app, shop):
    endpoint = WebhookEndpoint(shop=shop, url="https://hooks.example.com/x", events=[])
    db.session.add(endpoint)
    old_email, recent_email = sent_long_ago(91, "sent"), sent_long_ago(89, "sent")
    unsent_email = sent_long_ago(100, "failed")
    old_delivery = delivered_long_ago(endpoint, 91, "delivered")
    failed_delivery = delivered_long_ago(endpoint, 120, "failed")
    unsent_delivery = delivered_long_ago(endpoint, 100, "failed")
    db.session.commit()
    # Still to be sent (a retry), set after the commit so the outbox does not send them now.
    for row in (unsent_email, unsent_delivery):
        db.session.execute(update(type(row)).where(type(row).id == row.id).values(status="pending"))
    db.session.commit()

    assert retention.run().bodies_trimmed == 3

    db.session.expire_all()
    assert (old_email.body_text, old_email.body_html) == ("", None)
    assert old_email.subject == "Je retour" and old_email.trimmed_at is not None
    assert old_delivery.payload == {} and failed_delivery.payload == {}
    assert old_delivery.event == "request.created"
    assert recent_email.body_text.startswith("Beste klant") and recent_email.body_html
    assert unsent_email.body_text.startswith("Beste klant")
    assert unsent_delivery.payload == {"data": {"customer_name": "Klant"}}
    assert retention.trim_outbox() == 0


def test_the_job_is_on_the_workers_daily_schedule(app):
    daily = [each for each in schedule.schedules() if each.name == "retention"]
    assert len(daily) == 1
    assert daily[0].every == 24 * 3600 and daily[0].work is retention.run


def test_the_command_runs_it_and_says_what_it_did(app, runner, story):
    result = runner.invoke(args=["retention", "run"])
    assert result.exit_code == 0, result.output
    assert "2 requests anonymised" in result.output
    assert db.session.scalar(select(RetentionRun.requests_anonymised)) == 2


def test_it_works_through_many_requests_in_batches(app, shop):
    numbers = [
        someone(shop, f"Klant {index}", f"klant{index}@example.nl", COMPLETED, DEFAULT_DAYS + 5)
        for index in range(5)
    ]
    record = RetentionRun(
        started_at=utcnow(), files_deleted=0, requests_anonymised=0, bodies_trimmed=0
    )
    db.session.add(record)
    db.session.commit()

    assert retention.anonymise_expired(batch=2, record=record) == (5, 0)

    db.session.expire_all()
    assert record.requests_anonymised == 5
    names = db.session.scalars(
        select(ReturnRequest.customer_name).where(ReturnRequest.number.in_(numbers))
    ).all()
    assert set(names) == {"[erased]"}
    assert texts_holding(tuple(f"Klant {index}" for index in range(5))) == []
