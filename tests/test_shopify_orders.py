"""Shopify orders arriving the three ways, over HTTP and as the job runs them: the signed
webhook (``X-Shopify-Hmac-Sha256``), the sync job (pages, cursor, throttling) and the portal's
lookup of an order the desk does not have yet. All go through the CSV import's upsert."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from extensions import db
from models import Order, OrderLine, ShopConnection
from portal_helpers import lookup
from services.connectors import connections
from services.connectors.orders import sync_orders
from shopify_standin import ACCESS_TOKEN, APP_SECRET, START, shopify_order, webhook

pytestmark = pytest.mark.shop(default_language="en")

WEBHOOK_PATH = "/connectors/demo/shopify/orders"


def connect(shop, url: str, access_token: str = ACCESS_TOKEN) -> ShopConnection:
    connection = connections.save_connection(
        shop.id, "shopify", url, {"access_token": access_token}, APP_SECRET
    )
    db.session.commit()
    return connection


def order_count() -> int:
    return db.session.scalar(select(func.count(Order.id)))


def stored(number: str) -> Order:
    db.session.expire_all()
    return db.session.scalar(select(Order).where(Order.number == number))


def test_a_forged_webhook_is_refused_and_nothing_is_written(client, shop, shopify):
    url, state = shopify
    state["orders"] = [shopify_order(1001)]
    connect(shop, url)
    body, headers = webhook(shopify_order(1001), secret="not-the-apps-secret")
    assert client.post(WEBHOOK_PATH, data=body, headers=headers).status_code == 403
    unsigned = {k: v for k, v in headers.items() if k != "X-Shopify-Hmac-Sha256"}
    assert client.post(WEBHOOK_PATH, data=body, headers=unsigned).status_code == 403
    assert order_count() == 0
    assert state["calls"] == []  # a forged webhook makes ReturnDesk ask Shopify nothing


def test_a_signed_webhook_creates_the_order_once_even_replayed(client, shop, shopify):
    url, state = shopify
    state["orders"] = [shopify_order(1001)]
    connect(shop, url)
    body, headers = webhook(state["orders"][0], topic="orders/create")
    for _replay in range(2):
        assert client.post(WEBHOOK_PATH, data=body, headers=headers).status_code == 200
    assert order_count() == 1
    order = stored("1001")
    assert order.customer_email == "fenna@example.nl"
    assert [(line.sku, line.quantity, line.total_cents) for line in order.lines] == [
        ("SHIRT-LIN", 2, 3490),
        ("shopify-40", 1, 1000),
    ]


def test_a_replayed_older_webhook_does_not_undo_a_newer_change(client, shop, shopify):
    url, state = shopify
    older = shopify_order(1001, email="old@example.nl", modified=START)
    state["orders"] = [older]
    connect(shop, url)
    old_body, old_headers = webhook(older)
    assert client.post(WEBHOOK_PATH, data=old_body, headers=old_headers).status_code == 200
    state["orders"] = [
        shopify_order(1001, email="new@example.nl", modified=START + timedelta(hours=1))
    ]
    body, headers = webhook(state["orders"][0], topic="orders/updated")
    assert client.post(WEBHOOK_PATH, data=body, headers=headers).status_code == 200
    assert client.post(WEBHOOK_PATH, data=old_body, headers=old_headers).status_code == 200
    assert stored("1001").customer_email == "new@example.nl"
    assert order_count() == 1


def test_a_signed_webhook_while_shopify_is_down_is_acknowledged_and_the_sync_catches_up(
    client, shop, shopify
):
    url, state = shopify
    state["orders"] = [shopify_order(1001)]
    connection = connect(shop, url)
    state["answers"] = [(503, {})]
    body, headers = webhook(state["orders"][0])
    assert client.post(WEBHOOK_PATH, data=body, headers=headers).status_code == 200
    assert order_count() == 0
    sync_orders(connection.id)
    assert order_count() == 1


def test_the_sync_imports_every_page_and_records_how_many(runner, shop, shopify):
    url, state = shopify
    state["orders"] = [shopify_order(n) for n in range(1, 8)]  # 7 orders, pages of 3
    connection = connect(shop, url)
    result = runner.invoke(args=["connectors", "sync"])
    assert "1 connections handed to the order sync" in result.output
    assert sorted(int(n) for n in db.session.scalars(select(Order.number))) == list(range(1, 8))
    db.session.refresh(connection)
    assert (connection.last_sync_state, connection.last_sync_count) == ("ok", 7)
    assert connection.sync_cursor == "2026-11-01T09:07:00Z|"


def test_the_sync_resumes_from_its_cursor_without_duplicates(app, shop, shopify):
    url, state = shopify
    app.config["CONNECTOR_ATTEMPTS"] = 2
    state["orders"] = [shopify_order(n) for n in range(1, 8)]
    connection = connect(shop, url)
    state["fail_from_call"] = 2  # page 1 arrives, then Shopify breaks down
    sync_orders(connection.id)
    db.session.refresh(connection)
    assert connection.last_sync_state == "failed"
    assert "HTTP 503" in connection.last_sync_error
    assert order_count() == 3
    saved_cursor = connection.sync_cursor
    assert saved_cursor.split("|")[1]  # Shopify's page cursor, saved after page 1
    state["fail_from_call"] = None
    calls_before = len(state["calls"])
    sync_orders(connection.id)
    db.session.refresh(connection)
    assert connection.last_sync_state == "ok"
    assert state["calls"][calls_before][2]["after"] == saved_cursor.split("|")[1]
    numbers = list(db.session.scalars(select(Order.number)))
    assert sorted(numbers, key=int) == [str(n) for n in range(1, 8)]
    assert db.session.scalar(select(func.count(OrderLine.id))) == 14  # two lines each, once


def test_a_throttled_sync_waits_and_goes_on(app, shop, shopify):
    url, state = shopify
    state["orders"] = [shopify_order(1)]
    state["throttled"] = 1
    connection = connect(shop, url)
    sync_orders(connection.id)
    db.session.refresh(connection)
    assert connection.last_sync_state == "ok"
    assert order_count() == 1
    assert len(state["calls"]) == 2


def test_a_failed_sync_says_what_failed(app, shop, shopify):
    connection = connect(shop, shopify[0], access_token="shpat_wrong")
    sync_orders(connection.id)
    db.session.refresh(connection)
    assert connection.last_sync_state == "failed"
    assert "HTTP 401" in connection.last_sync_error
    assert "access token" in connection.last_sync_error


def test_the_portal_finds_an_order_only_shopify_has(client, shop, shopify):
    url, state = shopify
    state["orders"] = [shopify_order(1001)]
    connect(shop, url)
    response = lookup(client, "#1001", "fenna@example.nl")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/returns/demo/items")
    page = client.get("/returns/demo/items").get_data(as_text=True)
    assert "Linen shirt" in page


def test_the_portal_does_not_give_shopifys_order_to_the_wrong_email(client, shop, shopify):
    url, state = shopify
    state["orders"] = [shopify_order(1001)]
    connect(shop, url)
    response = lookup(client, "1001", "someone@else.nl")
    assert "could not find an order" in response.get_data(as_text=True)
