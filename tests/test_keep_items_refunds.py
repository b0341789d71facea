"""A request approved with the items kept, settled on its page with a refund or store credit,
goes through the same refund pipeline as a received return: once to the shop's platform, the
customer emailed only when the platform confirms, a failure shown on the request page (there
is no return page) with Retry, and by hand ("Mark as refunded") without a connection.

Before, settling such a request wrote no refund and sent nothing to the platform, and told
the customer "We refunded" at once.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from api_helpers import bearer, make_key
from domain import workflow
from extensions import db
from factories import RETURN_ADDRESS, make_request, make_user
from harness import visible
from models import Order, Refund, ReturnRequest, ShopConnection, utcnow
from return_flow import emails_to, run_jobs
from services import refund_jobs
from services.connectors import connections
from services.connectors import orders as connector_orders
from woocommerce_standin import CONSUMER_KEY, CONSUMER_SECRET, WEBHOOK_SECRET, woo_order

pytestmark = pytest.mark.shop(default_language="en", **RETURN_ADDRESS)

ORDER_ID = woo_order(1001)["id"]
GATEWAY_REFUSAL = (
    500,
    "woocommerce_rest_cannot_create_order_refund",
    "Mollie: the payment was charged back and cannot be refunded.",
)


@pytest.fixture
def woo(shop, woocommerce):
    """The shop connected to WooCommerce's stand-in, its order 1001 synced."""
    url, state = woocommerce
    state["orders"].append(woo_order(1001))
    connection: ShopConnection = connections.save_connection(
        shop.id,
        "woocommerce",
        url,
        {"consumer_key": CONSUMER_KEY, "consumer_secret": CONSUMER_SECRET},
        WEBHOOK_SECRET,
    )
    db.session.commit()
    connector_orders.sync_orders(connection.id)
    return state


@pytest.fixture
def staff(client, auth, agent):
    db.session.commit()
    auth.login(agent.email)
    return client


def kept_request(shop, agent, order: Order | None = None) -> ReturnRequest:
    """A request (one shirt and the socks of WooCommerce order 1001, else a fresh order)
    approved with the customer keeping the items."""
    order = order or db.session.scalar(select(Order).where(Order.number == "1001"))
    request = make_request(
        shop,
        order,
        language="en",
        lines=[{"order_line": 0, "quantity": 1}, {"order_line": 1, "quantity": 1}],
    )
    workflow.approve(request, agent, keep_items=True)
    db.session.commit()
    return request


def settle(client, request: ReturnRequest, kind: str = "refund") -> str:
    """Click "Settle: …" on the request's page; the page it leads to."""
    response = client.post(
        f"/admin/requests/{request.id}/act",
        data={"action": "settle", "kind": kind, "version": request.version},
    )
    run_jobs()
    db.session.expire_all()
    return visible(client.get(response.headers["Location"]).get_data(as_text=True))


def the_refund(request: ReturnRequest) -> Refund:
    db.session.expire_all()
    [refund] = db.session.scalars(select(Refund).where(Refund.request_id == request.id))
    return refund


def test_a_kept_items_refund_reaches_woocommerce_once_without_restocking(staff, shop, agent, woo):
    request = kept_request(shop, agent)

    page = settle(staff, request)
    again = settle(staff, request)  # a double click

    refund = the_refund(request)
    [made] = woo["refunds"][ORDER_ID]
    assert made["amount"] == f"{request.settled_cents / 100:.2f}"
    assert made["refunded_payment"] is True
    assert made["restocked"] is False and woo["stock"] == {}  # the customer kept them
    assert (refund.status, refund.destination, refund.return_id) == (
        "succeeded",
        "woocommerce",
        None,
    )
    assert refund.idempotency_key == f"request-{request.number}-refund"
    assert f"WooCommerce confirmed the refund (its refund {made['id']})" in page
    assert "WooCommerce confirmed the refund" in again
    [email] = emails_to(request.customer_email, "return_resolved")
    assert f"We refunded €{request.settled_cents / 100:.2f} to you" in email.body_text


def test_kept_items_store_credit_is_a_coupon_and_the_email_gives_its_code(staff, shop, agent, woo):
    request = kept_request(shop, agent)

    page = settle(staff, request, "store_credit")

    [coupon] = woo["coupons"]
    code = the_refund(request).provider_id
    assert coupon["code"] == code.lower()
    assert coupon["email_restrictions"] == [request.customer_email]
    assert f"WooCommerce made the store credit: code {code}." in page
    [email] = emails_to(request.customer_email, "return_resolved")
    assert f"enter the code {code} at checkout" in email.body_text


def test_a_refused_kept_items_refund_shows_on_the_request_page_and_support_retries(
    client, auth, staff, shop, agent, woo
):
    request = kept_request(shop, agent)
    woo["post_answers"].extend([GATEWAY_REFUSAL] * 10)
    settle(staff, request)
    later = utcnow()
    while the_refund(request).status != "failed":
        later += timedelta(hours=1)
        refund_jobs.sweep_refunds(now=later)
        run_jobs()
    woo["post_answers"].clear()

    page = visible(staff.get(f"/admin/requests/{request.id}").get_data(as_text=True))
    dashboard = staff.get("/admin/").get_data(as_text=True)
    assert "WooCommerce did not carry it out" in page and "cannot be refunded" in page
    assert "Refunds that failed" in dashboard and request.number in dashboard
    assert f"/admin/requests/{request.id}" in dashboard
    assert emails_to(request.customer_email, "return_resolved") == []
    status_page = f"/returns/demo/status/{request.public_token}"
    assert "We refunded" not in visible(staff.get(status_page).get_data(as_text=True))
    refused = staff.post(f"/admin/requests/{request.id}/act", data={"action": "retry_refund"})
    assert refused.status_code == 403

    make_user("support@example.com", is_support=True)
    db.session.commit()
    auth.logout()
    auth.login("support@example.com")
    assert "Retry" in visible(client.get(f"/admin/requests/{request.id}").get_data(as_text=True))
    client.post(f"/admin/requests/{request.id}/act", data={"action": "retry_refund"})
    run_jobs()

    assert the_refund(request).status == "succeeded"
    assert len(woo["refunds"][ORDER_ID]) == 1
    [email] = emails_to(request.customer_email, "return_resolved")
    assert "We refunded" in email.body_text
    assert "We refunded" in visible(client.get(status_page).get_data(as_text=True))


def test_the_api_settles_kept_items_with_a_refund_at_woocommerce(client, shop, agent, woo):
    request = kept_request(shop, agent)
    key = make_key(shop)
    db.session.commit()

    answer = client.post(
        f"/api/v1/return-requests/{request.number}/actions",
        json={"action": "settle", "resolution": "refund"},
        headers=bearer(key),
    )
    run_jobs()

    assert answer.status_code == 200, answer.json
    assert len(woo["refunds"][ORDER_ID]) == 1
    assert the_refund(request).status == "succeeded"
    assert len(emails_to(request.customer_email, "return_resolved")) == 1
    shown = client.get(f"/api/v1/return-requests/{request.number}", headers=bearer(key)).json
    assert shown["refund"]["kind"] == "refund"
    assert shown["refund"]["status"] == "succeeded"
    assert shown["refund"]["destination"] == "woocommerce"
    assert shown["refund"]["amount_cents"] == the_refund(request).amount_cents > 0


def test_without_a_connection_kept_items_are_refunded_by_hand_and_marked(staff, shop, agent):
    request = make_request(shop, language="en")
    workflow.approve(request, agent, keep_items=True)
    db.session.commit()
    status_page = f"/returns/demo/status/{request.public_token}"

    page = settle(staff, request)

    assert "Refund by hand in your shop's back office" in page and "moved no money" in page
    assert "Mark as refunded" in page
    refund = the_refund(request)
    assert (refund.destination, refund.status) == ("manual", "pending")
    [accepted] = emails_to(request.customer_email, "return_resolved")
    assert "is accepted" in accepted.subject and "We refunded" not in accepted.body_text
    assert "Expected refund" in accepted.body_text
    assert "We refunded" not in visible(staff.get(status_page).get_data(as_text=True))

    staff.post(
        f"/admin/requests/{request.id}/act",
        data={"action": "mark_refunded", "version": request.version},
    )
    again = staff.post(f"/admin/requests/{request.id}/act", data={"action": "mark_refunded"})

    page = visible(staff.get(f"/admin/requests/{request.id}").get_data(as_text=True))
    assert the_refund(request).status == "succeeded"
    assert "Refunded by hand in the shop's back office." in page
    assert again.status_code == 302
    emails = sorted(emails_to(request.customer_email, "return_resolved"), key=lambda e: e.id)
    assert len(emails) == 2 and "We refunded" in emails[1].body_text
    assert "is settled" in emails[1].subject
    assert "We refunded" in visible(staff.get(status_page).get_data(as_text=True))
