"""A shop's refunds go to one order platform. The admin refuses to connect Shopify to a shop
connected to WooCommerce (and the other way round), naming the one connected and how to
disconnect it first; "Disconnect" removes a connection and keeps its orders. A shop that has
both from before refunds an order synced from one of them there; for an order that does not
say where it came from, no refund is sent anywhere: resolving says why on the return page (and
settling on the request page), and nothing reaches either platform.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from api_helpers import bearer, make_key
from domain import workflow
from extensions import db
from factories import RETURN_ADDRESS, make_request
from harness import visible
from models import Order, Refund, Return, ReturnRequest, ShopConnection
from return_flow import create_label, run_jobs
from services.connectors import connections
from services.connectors import orders as connector_orders
from shopify_standin import ACCESS_TOKEN, APP_SECRET
from woocommerce_standin import CONSUMER_KEY, CONSUMER_SECRET, WEBHOOK_SECRET, woo_order

pytestmark = pytest.mark.shop(default_language="en", **RETURN_ADDRESS)

AMBIGUOUS = "This shop is connected to both WooCommerce and Shopify"


def page_url(shop) -> str:
    return f"/admin/shop_connections/{shop.id}"


def woo_form(url: str) -> dict:
    return {
        "base_url": url,
        "consumer_key": CONSUMER_KEY,
        "consumer_secret": CONSUMER_SECRET,
        "webhook_secret": WEBHOOK_SECRET,
        "restock_on_refund": "y",
    }


def shopify_form(url: str) -> dict:
    fields = {"shop_domain": url, "access_token": ACCESS_TOKEN, "app_secret": APP_SECRET}
    return {f"shopify-{name}": value for name, value in fields.items()}


def platforms(shop) -> set[str]:
    db.session.expire_all()
    return set(
        db.session.scalars(select(ShopConnection.platform).where(ShopConnection.shop_id == shop.id))
    )


def test_a_second_order_platform_is_refused_until_the_first_is_disconnected(
    client, auth, shop_staff, woocommerce, shopify
):
    woo_url, woo = woocommerce
    woo["orders"].append(woo_order(1001))
    shopify_url, _shopify = shopify
    shop = shop_staff.shop
    auth.login("admin@example.com")
    assert client.post(page_url(shop), data=woo_form(woo_url)).status_code == 302
    connector_orders.sync_orders(connections.connection_of(shop.id, "woocommerce").id)

    refused = client.post(f"{page_url(shop)}/shopify", data=shopify_form(shopify_url))

    page = visible(refused.get_data(as_text=True))
    assert refused.status_code == 200
    assert f"{shop.name} is already connected to WooCommerce." in page
    assert "disconnect WooCommerce first" in page and "then connect Shopify" in page
    assert platforms(shop) == {"woocommerce"}

    gone = client.post(
        f"{page_url(shop)}/disconnect", data={"platform": "woocommerce"}, follow_redirects=True
    )
    assert "WooCommerce was disconnected" in visible(gone.get_data(as_text=True))
    assert platforms(shop) == set()
    assert db.session.scalar(select(Order.number)) == "1001"  # its orders stay

    saved = client.post(f"{page_url(shop)}/shopify", data=shopify_form(shopify_url))
    assert saved.status_code == 302 and platforms(shop) == {"shopify"}
    again = client.post(page_url(shop), data=woo_form(woo_url), follow_redirects=True)
    assert "is already connected to Shopify" in visible(again.get_data(as_text=True))
    assert platforms(shop) == {"shopify"}


def test_mollie_beside_an_order_platform_is_fine(client, auth, shop_staff, woocommerce):
    woo_url, _woo = woocommerce
    shop = shop_staff.shop
    auth.login("admin@example.com")
    client.post(page_url(shop), data=woo_form(woo_url))

    saved = client.post(f"{page_url(shop)}/mollie", data={"mollie-api_key": "test_" + "a" * 30})

    assert saved.status_code == 302 and platforms(shop) == {"woocommerce", "mollie"}


@pytest.fixture
def connected_to_both(shop, woocommerce, shopify):
    """A shop connected to WooCommerce and Shopify, as could be saved before the admin
    refused a second order platform."""
    woo_url, woo = woocommerce
    shopify_url, shopify_state = shopify
    connections.save_connection(
        shop.id,
        "woocommerce",
        woo_url,
        {"consumer_key": CONSUMER_KEY, "consumer_secret": CONSUMER_SECRET},
        WEBHOOK_SECRET,
    )
    connections.save_connection(shop.id, "shopify", shopify_url, {"access_token": ACCESS_TOKEN}, "")
    db.session.commit()
    return woo, shopify_state


def received_return(shop, agent) -> Return:
    request = make_request(shop, language="en")
    workflow.approve(request, agent)
    db.session.commit()
    return_ = create_label(request)
    workflow.receive(return_, agent, {line.id: ("ok", 1) for line in request.lines})
    db.session.commit()
    return return_


def test_a_shop_on_both_platforms_sends_no_refund_and_the_return_says_why(
    client, auth, agent, shop, connected_to_both
):
    woo, shopify_state = connected_to_both
    return_ = received_return(shop, agent)
    auth.login(agent.email)

    answer = client.post(
        f"/admin/returns/{return_.id}/act",
        data={"action": "resolve", "kind": "refund"},
        follow_redirects=True,
    )

    page = visible(answer.get_data(as_text=True))
    assert AMBIGUOUS in page and "so it sent no refund" in page
    assert "Disconnect the one the shop does not use under Integration" in page
    db.session.expire_all()
    assert db.session.get(Return, return_.id).status == "received"
    assert db.session.scalar(select(func.count(Refund.id))) == 0
    assert woo["refunds"] == {} and not [c for c in woo["calls"] if "refunds" in c[1]]
    assert shopify_state["calls"] == []

    exchanged = client.post(
        f"/admin/returns/{return_.id}/act", data={"action": "resolve", "kind": "exchange"}
    )
    assert exchanged.status_code == 302  # nothing to pay: no platform needed
    db.session.expire_all()
    assert db.session.get(Return, return_.id).status == "resolved"


def test_the_api_refuses_it_with_the_reason(client, agent, shop, connected_to_both):
    return_ = received_return(shop, agent)
    key = make_key(shop)
    db.session.commit()

    answer = client.post(
        f"/api/v1/returns/{return_.number}/events",
        json={"event": "resolved", "resolution": "store_credit"},
        headers=bearer(key),
    )

    assert answer.status_code == 409
    assert AMBIGUOUS in str(answer.json)
    assert db.session.scalar(select(func.count(Refund.id))) == 0


def test_kept_items_on_both_platforms_are_not_settled_and_the_request_says_why(
    client, auth, agent, shop, connected_to_both
):
    request = make_request(shop, language="en")
    workflow.approve(request, agent, keep_items=True)
    db.session.commit()
    auth.login(agent.email)

    answer = client.post(
        f"/admin/requests/{request.id}/act",
        data={"action": "settle", "kind": "refund", "version": request.version},
        follow_redirects=True,
    )

    assert AMBIGUOUS in visible(answer.get_data(as_text=True))
    db.session.expire_all()
    assert db.session.get(ReturnRequest, request.id).status == "approved"
    assert db.session.scalar(select(func.count(Refund.id))) == 0


def test_on_both_platforms_an_order_that_says_where_it_came_from_is_refunded_there(
    client, auth, agent, shop, connected_to_both
):
    woo, shopify_state = connected_to_both
    woo["orders"].append(woo_order(1001))
    connector_orders.sync_orders(connections.connection_of(shop.id, "woocommerce").id)
    order = db.session.scalar(select(Order).where(Order.number == "1001"))
    assert order.platform == "woocommerce"
    request = make_request(
        shop,
        order,
        language="en",
        lines=[{"order_line": 0, "quantity": 1}, {"order_line": 1, "quantity": 1}],
    )
    workflow.approve(request, agent)
    db.session.commit()
    return_ = create_label(request)
    workflow.receive(return_, agent, {line.id: ("ok", 1) for line in request.lines})
    db.session.commit()
    auth.login(agent.email)

    client.post(f"/admin/returns/{return_.id}/act", data={"action": "resolve", "kind": "refund"})
    run_jobs()

    page = visible(client.get(f"/admin/returns/{return_.id}").get_data(as_text=True))
    assert AMBIGUOUS not in page and "WooCommerce confirmed the refund" in page
    assert len(woo["refunds"][woo_order(1001)["id"]]) == 1
    assert not [call for call in shopify_state["calls"] if call[1] == "refundCreate"]
