"""Refunds and store credit on Shopify's stand-in, as staff resolve a return on its page: the
refund (``refundCreate``: lines, restock per the shop's choice, a refund transaction, no
Shopify email) and the gift card reach Shopify exactly once, also after a timeout; the
customer is emailed once, when Shopify confirmed. And the whole journey from the order
webhook to the refund at Shopify."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from domain import workflow
from extensions import db
from factories import RETURN_ADDRESS, make_request
from harness import visible
from models import Order, Refund, Return, ReturnRequest, ShopConnection, utcnow
from portal_helpers import choose, choose_resolution, give_details, lookup, submission_key, submit
from return_flow import create_label, emails_to, run_jobs
from services import refund_jobs
from services.connectors import connections
from services.connectors import orders as connector_orders
from shopify_standin import ACCESS_TOKEN, APP_SECRET, shopify_order, webhook

pytestmark = pytest.mark.shop(default_language="en", **RETURN_ADDRESS)


def connect(shop, url: str, restock: bool = True) -> ShopConnection:
    connection = connections.save_connection(
        shop.id, "shopify", url, {"access_token": ACCESS_TOKEN}, APP_SECRET, restock
    )
    db.session.commit()
    return connection


def received_return(shop, agent, resolution: str = "refund") -> Return:
    """Shopify order 1001 (a shirt of two and socks), synced; one shirt and the socks
    returned with the shop's own label and received in good order."""
    order = db.session.scalar(select(Order).where(Order.number == "1001"))
    request = make_request(
        shop,
        order,
        language="en",
        resolution=resolution,
        lines=[{"order_line": 0, "quantity": 1}, {"order_line": 1, "quantity": 1}],
    )
    workflow.approve(request, agent)
    db.session.commit()
    return_ = create_label(request)
    workflow.receive(return_, agent, {line.id: ("ok", 1) for line in request.lines})
    db.session.commit()
    return return_


@pytest.fixture
def shop_at_shopify(shop, shopify):
    """The shop connected to the stand-in, which has order 1001, synced into ReturnDesk."""
    url, state = shopify
    state["orders"].append(shopify_order(1001))
    connection = connect(shop, url)
    connector_orders.sync_orders(connection.id)
    return state


@pytest.fixture
def staff(client, auth, agent):
    db.session.commit()
    auth.login(agent.email)
    return client


def resolve(client, return_: Return, kind: str = "refund") -> str:
    """Click "Resolve: …" on the return's page; the page it leads to."""
    response = client.post(
        f"/admin/returns/{return_.id}/act", data={"action": "resolve", "kind": kind}
    )
    run_jobs()
    db.session.expire_all()
    return client.get(response.headers["Location"]).get_data(as_text=True)


def the_refund(return_: Return) -> Refund:
    db.session.expire_all()
    [refund] = db.session.scalars(select(Refund).where(Refund.return_id == return_.id))
    return refund


def mutations(state: dict, name: str) -> list[dict]:
    return [variables for _at, root, variables in state["calls"] if root == name]


def test_a_refund_reaches_shopify_once_restocks_and_emails_the_customer_once(
    staff, shop, agent, shop_at_shopify
):
    state = shop_at_shopify
    return_ = received_return(shop, agent)

    page = visible(resolve(staff, return_))
    resolve(staff, return_)  # a double click

    db.session.refresh(return_)
    [made] = state["refunds"]
    assert made["amount"] == f"{return_.refund_cents / 100:.2f}"
    assert made["notify"] is False  # ReturnDesk emails the customer, not Shopify
    assert made["note"] == f"ReturnDesk return-{return_.number}-refund"
    assert [line["restockType"] for line in made["refundLineItems"]] == ["RETURN", "RETURN"]
    assert state["stock"] == {"SHIRT-LIN": 1, "": 1}
    assert len(mutations(state, "refundCreate")) == 1
    refund = the_refund(return_)
    assert (refund.status, refund.provider_id, refund.destination) == (
        "succeeded",
        made["id"],
        "shopify",
    )
    assert f"Shopify confirmed the refund (its refund {made['id']})" in page
    [email] = emails_to(return_.request.customer_email, "return_resolved")
    assert f"We refunded €{return_.refund_cents / 100:.2f} to you" in email.body_text


def test_a_shop_that_does_not_restock_refunds_without_restocking(shop, agent, shopify, staff):
    url, state = shopify
    state["orders"].append(shopify_order(1001))
    connector_orders.sync_orders(connect(shop, url, restock=False).id)
    return_ = received_return(shop, agent)

    resolve(staff, return_)

    [made] = state["refunds"]
    assert [line["restockType"] for line in made["refundLineItems"]] == ["NO_RESTOCK"] * 2
    assert state["stock"] == {}


def test_store_credit_is_a_gift_card_and_the_email_gives_its_code(
    staff, shop, agent, shop_at_shopify
):
    state = shop_at_shopify
    return_ = received_return(shop, agent, resolution="store_credit")

    page = visible(resolve(staff, return_, "store_credit"))

    db.session.refresh(return_)
    [card] = state["gift_cards"]
    code = the_refund(return_).provider_id
    assert card["code"] == code and card["initialValue"] == f"{return_.refund_cents / 100:.2f}"
    assert return_.request.customer_email in card["note"]
    assert f"Shopify made the store credit: code {code}." in page
    [email] = emails_to(return_.request.customer_email, "return_resolved")
    assert f"enter the code {code} at checkout" in email.body_text


def test_a_timeout_mid_refund_then_the_retry_refunds_once(app, staff, shop, agent, shop_at_shopify):
    state = shop_at_shopify
    app.config["CONNECTOR_TIMEOUT_SECONDS"] = 0.3
    state["slow_mutations"] = 1.0  # Shopify refunds, but answers after we gave up
    return_ = received_return(shop, agent)

    page = visible(resolve(staff, return_))

    refund = the_refund(return_)
    assert refund.status == "pending" and "did not answer within" in refund.provider_message
    assert "Being sent to Shopify" in page
    assert emails_to(return_.request.customer_email, "return_resolved") == []
    assert len(state["refunds"]) == 1

    state["slow_mutations"] = 0
    assert refund_jobs.sweep_refunds(now=utcnow() + timedelta(hours=1)) == 1
    run_jobs()

    refund = the_refund(return_)
    assert refund.status == "succeeded" and refund.provider_id == state["refunds"][0]["id"]
    assert len(state["refunds"]) == 1 and len(mutations(state, "refundCreate")) == 1
    assert len(emails_to(return_.request.customer_email, "return_resolved")) == 1


def test_full_cycle_from_the_order_webhook_to_the_refund_at_shopify(
    client, auth, shop, agent, reasons, shopify
):
    url, state = shopify
    connect(shop, url)
    placed = shopify_order(1001, modified=utcnow() - timedelta(days=1))
    state["orders"].append(placed)
    body, headers = webhook(placed, topic="orders/create")
    assert (
        client.post("/connectors/demo/shopify/orders", data=body, headers=headers).status_code
        == 200
    )

    order = db.session.scalar(select(Order).where(Order.number == "1001"))
    shirt, socks = order.lines
    assert lookup(client, "#1001", "fenna@example.nl").status_code == 302
    assert choose(client, {shirt.id: 1, socks.id: 1}).status_code == 302
    assert give_details(client, [shirt.id, socks.id], reasons["too_big"]).status_code == 302
    assert choose_resolution(client, "refund").status_code == 302
    assert submit(client, submission_key(client)).status_code == 302
    request = db.session.scalar(select(ReturnRequest))

    auth.login(agent.email)
    client.post(f"/admin/requests/{request.id}/act", data={"action": "approve"})
    db.session.expire_all()
    assert request.status == "approved"
    return_ = create_label(request)
    client.post(
        f"/admin/returns/{return_.id}/act",
        data={
            "action": "receive",
            **{f"condition-{line.id}": "ok" for line in request.lines},
            **{f"quantity-{line.id}": "1" for line in request.lines},
        },
    )
    page = visible(resolve(client, return_))

    db.session.refresh(return_)
    assert return_.status == "resolved" and request.status == "completed"
    [made] = state["refunds"]
    assert made["amount"] == f"{return_.refund_cents / 100:.2f}" and made["notify"] is False
    assert state["stock"] == {"SHIRT-LIN": 1, "": 1}
    assert "Shopify confirmed the refund" in page
    assert db.session.scalar(select(func.count(Refund.id))) == 1
    [email] = emails_to("fenna@example.nl", "return_resolved")
    assert f"We refunded €{return_.refund_cents / 100:.2f} to you" in email.body_text
