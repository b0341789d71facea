"""Erasing a customer (GDPR article 17): no trace of their name, address or words in any
table and none of their files in storage, while the books keep their numbers and amounts;
refused while a return is under way; scoped to the user's or the key's shops; idempotent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from api_helpers import bearer, make_key, order_body, post_request, request_body
from customer_helpers import EMAIL, NAME, PERSONAL, customer_story, other_customer, texts_holding
from domain import workflow
from extensions import db
from factories import RETURN_ADDRESS, make_order, make_request
from harness import visible
from models import (
    Attachment,
    AuditEvent,
    Order,
    Return,
    ReturnRequest,
    WebhookDelivery,
    WebhookEndpoint,
)
from return_flow import create_label
from services import customer_erasure, labels, stores

pytestmark = pytest.mark.shop(**RETURN_ADDRESS)

PAGE = "/admin/customer-data/"


@pytest.fixture
def story(shop_staff):
    customer = customer_story(shop_staff.shop, shop_staff.agent)
    other = other_customer(shop_staff.shop, shop_staff.agent)
    return customer, other


def erase_as_admin(client, auth, email: str = EMAIL):
    auth.login("admin@example.com")
    return client.post(PAGE + "erase", data={"email": email}, follow_redirects=True)


def test_the_confirmation_names_what_will_go(client, auth, shop_staff, story):
    auth.login("admin@example.com")
    page = visible(client.post(PAGE + "erase/confirm", data={"email": EMAIL}).get_data(True))
    assert "Orders: 2" in page and "Requests: 2" in page and "Files: 4" in page
    assert "Returns: 1" in page and "Erase for good" in page
    assert db.session.scalar(select(Order).where(Order.customer_name == NAME)) is not None


def test_erasure_leaves_no_trace_in_any_table_nor_file_in_storage(client, auth, shop_staff, story):
    customer, other = story
    assert texts_holding(PERSONAL)  # the scan finds them before
    page = visible(erase_as_admin(client, auth).get_data(as_text=True))
    assert "The customer's personal data was erased." in page

    assert texts_holding(PERSONAL) == []
    store = stores.current()
    assert not any(store.exists(key) for key in customer.storage_keys)
    mila_photo = db.session.scalar(select(Attachment).where(Attachment.request_id == other.id))
    assert store.exists(mila_photo.storage_key)
    assert texts_holding(("Mila Bakker", "mila@example.nl", "Groetjes van Mila"))


def test_the_books_keep_numbers_amounts_and_products(client, auth, shop_staff, story):
    customer, _ = story
    erase_as_admin(client, auth)
    db.session.expire_all()
    requests = db.session.scalars(
        select(ReturnRequest).where(ReturnRequest.number.in_(customer.request_numbers))
    ).all()
    assert {r.number: r.total_cents for r in requests} == customer.totals
    assert {r.order_number for r in requests} == set(customer.order_numbers)
    assert all(line.order_line.product_name for r in requests for line in r.lines)
    return_ = db.session.scalar(select(Return).where(Return.number == customer.return_numbers[0]))
    assert return_.refund_cents == customer.refunds[return_.number] and return_.resolution
    assert return_.tracking_number


def test_staff_still_open_the_erased_request_and_read_erased(client, auth, shop_staff, story):
    customer, _ = story
    erase_as_admin(client, auth)
    request = db.session.scalar(
        select(ReturnRequest).where(ReturnRequest.number == customer.request_numbers[0])
    )
    page = client.get(f"/admin/requests/{request.id}")
    assert page.status_code == 200
    text = visible(page.get_data(as_text=True))
    assert "[erased]" in text and NAME not in text and customer.request_numbers[0] in text
    return_ = db.session.scalar(select(Return).where(Return.number == customer.return_numbers[0]))
    page = client.get(f"/admin/returns/{return_.id}")
    assert page.status_code == 200 and NAME not in page.get_data(as_text=True)


def test_erasure_is_audited_without_the_person_and_announced(client, auth, shop_staff, story):
    db.session.scalar(select(WebhookEndpoint)).events = ["customer.erased"]
    db.session.commit()
    customer, _ = story
    erase_as_admin(client, auth)
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "customer_erased"))
    assert event.actor_id == shop_staff.admin.id and "requests: 2" in event.note
    delivery = db.session.scalar(
        select(WebhookDelivery).where(WebhookDelivery.event == "customer.erased")
    )
    assert delivery.payload["data"] == {
        "order_numbers": customer.order_numbers,
        "request_numbers": customer.request_numbers,
    }


def test_erasing_again_changes_nothing(client, auth, shop_staff, story):
    erase_as_admin(client, auth)
    page = visible(erase_as_admin(client, auth).get_data(as_text=True))
    assert "Nothing was left to erase for this address." in page
    assert db.session.query(AuditEvent).filter_by(action="customer_erased").count() == 1


def test_erasure_of_a_return_in_transit_is_refused_with_the_reason(client, auth, shop_staff):
    request = make_request(shop_staff.shop, make_order(shop_staff.shop, customer_email=EMAIL))
    workflow.approve(request, shop_staff.agent)
    db.session.commit()
    return_ = create_label(request)
    workflow.mark_in_transit(return_, shop_staff.agent)
    db.session.commit()
    auth.login("admin@example.com")
    page = visible(client.post(PAGE + "erase/confirm", data={"email": EMAIL}).get_data(True))
    assert f"Return {return_.number} is still under way (In transit)" in page
    assert "Erase for good" not in page
    page = visible(erase_as_admin(client, auth).get_data(as_text=True))
    assert f"Return {return_.number} is still under way" in page
    db.session.expire_all()
    assert db.session.get(ReturnRequest, request.id).customer_email == EMAIL
    assert db.session.scalar(select(Attachment).where(Attachment.request_id == request.id))


def test_an_erasure_asked_for_while_in_transit_happens_once_the_return_settles(
    client, auth, shop_staff
):
    request = make_request(shop_staff.shop, make_order(shop_staff.shop, customer_email=EMAIL))
    workflow.approve(request, shop_staff.agent)
    db.session.commit()
    return_ = create_label(request)
    workflow.mark_in_transit(return_, shop_staff.agent)
    db.session.commit()
    auth.login("admin@example.com")
    page = client.post(PAGE + "erase/schedule", data={"email": EMAIL}, follow_redirects=True)
    assert "will be erased as soon as their returns have settled" in visible(page.get_data(True))

    assert customer_erasure.sweep_scheduled() == 0
    assert texts_holding((EMAIL,))
    workflow.mark_delivered(return_, shop_staff.agent)
    workflow.receive(return_, shop_staff.agent, {line.id: ("ok", 1) for line in request.lines})
    workflow.resolve(return_, shop_staff.agent, "refund")
    db.session.commit()
    assert customer_erasure.sweep_scheduled() == 1
    assert texts_holding((EMAIL, "Eva de Vries")) == []
    assert customer_erasure.sweep_scheduled() == 0
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "customer_erased"))
    assert event.actor_id == shop_staff.admin.id


def test_an_erased_address_can_start_a_new_request(client, auth, shop_staff, story):
    erase_as_admin(client, auth)
    key = make_key(shop_staff.shop)
    db.session.commit()
    delivered = (datetime.now(UTC) - timedelta(days=2)).isoformat()
    body = order_body("DW-9001", customer_email=EMAIL, customer_name=NAME, delivered_at=delivered)
    order = client.post("/api/v1/orders", json=body, headers=bearer(key)).get_json()
    response = post_request(client, key, request_body(order))
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["customer_email"] == EMAIL


# --- tenancy and the API ---------------------------------------------------------------------


DEMO_CUSTOMER = "griet@demo.example.nl"


def test_a_fashion_admin_cannot_erase_a_demo_customer(client, auth, tenants):
    auth.login("admin@fashion.example.com")
    page = visible(
        client.post(PAGE + "erase", data={"email": DEMO_CUSTOMER}, follow_redirects=True).get_data(
            True
        )
    )
    assert "Nothing was left to erase for this address." in page
    db.session.expire_all()
    assert db.session.get(ReturnRequest, tenants["demo"].rows[ReturnRequest].id).customer_name == (
        "Griet van Demohuizen"
    )


def test_the_api_erases_in_the_keys_shop_only_and_is_idempotent(client, tenants):
    fashion_key, demo_key = make_key(tenants["fashion"].shop), make_key(tenants["demo"].shop)
    db.session.commit()
    path = f"/api/v1/customers/{DEMO_CUSTOMER}/erase"
    refused = client.post(path, headers=bearer(fashion_key)).get_json()
    assert refused["erased"] is False and not any(refused["counts"].values())
    demo_request = tenants["demo"].rows[ReturnRequest]
    db.session.expire_all()
    assert db.session.get(ReturnRequest, demo_request.id).customer_name == "Griet van Demohuizen"

    assert client.post(path, headers=bearer(demo_key)).status_code == 409  # label made
    tenants["demo"].rows[Return].status = "resolved"
    db.session.commit()
    headers = {**bearer(demo_key), "Idempotency-Key": "erase-griet-1"}
    first = client.post(path, headers=headers)
    assert first.status_code == 200 and first.get_json()["erased"] is True
    assert client.post(path, headers=bearer(demo_key)).get_json()["erased"] is False
    left = texts_holding(("Griet van Demohuizen", DEMO_CUSTOMER))
    # The fixture's shop template quotes her name as the shop's own wording: not her data.
    assert [hit for hit in left if not hit.startswith("email_template.")] == []
    fashion_left = texts_holding(("Fenna Fashionista", "fenna@mode.example.nl"))
    assert fashion_left


def test_the_api_refuses_erasure_while_a_return_is_under_way(client, shop_staff):
    request = make_request(shop_staff.shop, make_order(shop_staff.shop, customer_email=EMAIL))
    workflow.approve(request, shop_staff.agent)
    db.session.commit()
    return_ = create_label(request)
    key = make_key(shop_staff.shop)
    db.session.commit()
    response = client.post(f"/api/v1/customers/{EMAIL}/erase", headers=bearer(key))
    assert response.status_code == 409
    assert f"Return {return_.number} is still under way" in response.get_json()["detail"]


def test_the_api_schedules_an_erasure_when_settled_if_asked(client, shop_staff):
    request = make_request(shop_staff.shop, make_order(shop_staff.shop, customer_email=EMAIL))
    workflow.approve(request, shop_staff.agent)
    db.session.commit()
    return_ = create_label(request)
    key = make_key(shop_staff.shop)
    db.session.commit()
    path = f"/api/v1/customers/{EMAIL}/erase"
    response = client.post(path, headers=bearer(key), query_string={"when_settled": "true"})
    assert response.status_code == 202
    assert response.get_json()["scheduled"] is True and response.get_json()["erased"] is False

    labels.cancel_return(return_, shop_staff.agent)
    db.session.commit()
    assert customer_erasure.sweep_scheduled() == 1
    assert texts_holding((EMAIL,)) == []
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "customer_erased"))
    assert event.actor_label == "API key 'webshop'"
