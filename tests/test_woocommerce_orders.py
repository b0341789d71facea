"""WooCommerce orders arriving the three ways, over HTTP and as the job runs them: the signed
webhook, the sync job (pages, cursor, retries) and the portal's lookup of an order the desk does
not have yet. All go through the CSV import's upsert, all idempotent."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, select

from extensions import db
from models import Order, OrderLine, ShopConnection
from portal_helpers import lookup
from services.connectors import connections
from woocommerce_standin import (
    CONSUMER_KEY,
    CONSUMER_SECRET,
    START,
    WEBHOOK_SECRET,
    webhook,
    woo_order,
)

pytestmark = pytest.mark.shop(default_language="en")

WEBHOOK_PATH = "/connectors/demo/woocommerce/orders"


def connect(shop, url: str, consumer_secret: str = CONSUMER_SECRET) -> ShopConnection:
    connection = connections.save_connection(
        shop.id,
        "woocommerce",
        url,
        {"consumer_key": CONSUMER_KEY, "consumer_secret": consumer_secret},
        WEBHOOK_SECRET,
    )
    db.session.commit()
    return connection


def order_count() -> int:
    return db.session.scalar(select(func.count(Order.id)))


def stored(number: str) -> Order:
    db.session.expire_all()
    return db.session.scalar(select(Order).where(Order.number == number))


# --- webhooks -----------------------------------------------------------------------------------


def test_a_forged_webhook_is_refused_and_nothing_is_written(client, shop, woocommerce):
    connect(shop, woocommerce[0])
    body, headers = webhook(woo_order(1001), secret="not-the-shops-secret")
    response = client.post(WEBHOOK_PATH, data=body, headers=headers)
    assert response.status_code == 403
    unsigned = {k: v for k, v in headers.items() if k != "X-WC-Webhook-Signature"}
    assert client.post(WEBHOOK_PATH, data=body, headers=unsigned).status_code == 403
    assert order_count() == 0


def test_a_signed_webhook_creates_the_order_once(client, shop, woocommerce):
    connect(shop, woocommerce[0])
    body, headers = webhook(woo_order(1001), topic="order.created")
    assert client.post(WEBHOOK_PATH, data=body, headers=headers).status_code == 200
    assert client.post(WEBHOOK_PATH, data=body, headers=headers).status_code == 200
    assert order_count() == 1
    order = stored("1001")
    assert order.customer_email == "fenna@example.nl"
    assert [(line.sku, line.quantity, line.total_cents) for line in order.lines] == [
        ("SHIRT-LIN", 2, 3490),
        ("woo-40", 1, 1000),
    ]


def test_a_replayed_older_webhook_does_not_overwrite_a_newer_order(client, shop, woocommerce):
    connect(shop, woocommerce[0])
    older = woo_order(1001, email="old@example.nl", modified=START)
    newer = woo_order(1001, email="new@example.nl", modified=START.replace(hour=10))
    for order in (newer, older):
        body, headers = webhook(order)
        assert client.post(WEBHOOK_PATH, data=body, headers=headers).status_code == 200
    assert stored("1001").customer_email == "new@example.nl"


def test_a_signed_order_that_cannot_be_read_is_acknowledged_and_not_written(
    client, shop, woocommerce
):
    connect(shop, woocommerce[0])
    unreadable = woo_order(1001, email="")
    unreadable["date_modified_gmt"] = "not a date"
    for order in (unreadable, woo_order(1002, items=[])):
        body, headers = webhook(order)
        assert client.post(WEBHOOK_PATH, data=body, headers=headers).status_code == 200
    assert order_count() == 0


def test_woocommerces_ping_on_saving_a_webhook_is_answered(client, shop, woocommerce):
    connect(shop, woocommerce[0])
    response = client.post(
        WEBHOOK_PATH,
        data=b"webhook_id=12",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200
    assert order_count() == 0


def test_a_webhook_for_a_shop_without_a_connection_is_not_found(client, shop):
    body, headers = webhook(woo_order(1001))
    assert client.post(WEBHOOK_PATH, data=body, headers=headers).status_code == 404


# --- the sync job -------------------------------------------------------------------------------


def test_the_sync_imports_every_page_and_records_how_many(runner, shop, woocommerce):
    url, state = woocommerce
    state["orders"] = [woo_order(n) for n in range(1, 8)]  # 7 orders, pages of 3
    connection = connect(shop, url)
    result = runner.invoke(args=["connectors", "sync"])
    assert "1 connections handed to the order sync" in result.output
    assert sorted(int(n) for n in db.session.scalars(select(Order.number))) == list(range(1, 8))
    db.session.refresh(connection)
    assert connection.last_sync_state == "ok"
    assert connection.last_sync_error is None
    assert connection.sync_cursor.startswith("2026-11-01T09:06:59")  # order 7's change - 1 s


def test_the_sync_resumes_from_its_cursor_after_a_failure_midway(app, shop, woocommerce):
    from services.connectors.orders import sync_orders

    url, state = woocommerce
    app.config["CONNECTOR_ATTEMPTS"] = 2
    state["orders"] = [woo_order(n) for n in range(1, 8)]
    connection = connect(shop, url)
    state["fail_from_call"] = 2  # page 1 arrives, then the shop breaks down
    sync_orders(connection.id)
    db.session.refresh(connection)
    assert connection.last_sync_state == "failed"
    assert "HTTP 500" in connection.last_sync_error
    assert order_count() == 3
    saved_cursor = connection.sync_cursor
    state["fail_from_call"] = None
    calls_before = len(state["calls"])
    sync_orders(connection.id)
    db.session.refresh(connection)
    assert connection.last_sync_state == "ok"
    resumed = state["calls"][calls_before][2]
    assert resumed["modified_after"] == saved_cursor.split("|")[0]  # not from the start
    numbers = list(db.session.scalars(select(Order.number)))
    assert sorted(numbers, key=int) == [str(n) for n in range(1, 8)]
    assert db.session.scalar(select(func.count(OrderLine.id))) == 14  # two lines each, once


def test_the_sync_waits_as_a_429_asks_and_goes_on(app, shop, woocommerce):
    from services.connectors.orders import sync_orders

    url, state = woocommerce
    state["orders"] = [woo_order(1)]
    state["answers"] = [(429, {"Retry-After": "1"})]
    connection = connect(shop, url)
    sync_orders(connection.id)
    db.session.refresh(connection)
    assert connection.last_sync_state == "ok"
    assert order_count() == 1
    (refused, *_), (retried, *_) = state["calls"]
    assert retried - refused >= 0.3  # Retry-After, capped at 0.3 s in the tests


def test_a_failed_sync_says_what_failed(app, shop, woocommerce):
    from services.connectors.orders import sync_orders

    connection = connect(shop, woocommerce[0], consumer_secret="cs_wrong")
    sync_orders(connection.id)
    db.session.refresh(connection)
    assert connection.last_sync_state == "failed"
    assert "HTTP 401" in connection.last_sync_error
    assert "consumer key or secret" in connection.last_sync_error


def test_rotating_the_key_keeps_the_credentials_readable(app, runner, shop, woocommerce):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    app.config["ENCRYPTION_KEY"] = old
    connect(shop, woocommerce[0])
    app.config["ENCRYPTION_KEY"] = f"{new},{old}"
    result = runner.invoke(args=["connectors", "rotate-key"])
    assert "1 connections encrypted again" in result.output
    app.config["ENCRYPTION_KEY"] = new
    db.session.expire_all()
    connection = connections.connection_of(shop.id, "woocommerce")
    assert connections.credentials_of(connection)["consumer_secret"] == CONSUMER_SECRET


# --- the portal ---------------------------------------------------------------------------------


def test_the_portal_finds_an_order_only_the_platform_has(client, shop, woocommerce):
    url, state = woocommerce
    state["orders"] = [woo_order(1001)]
    connect(shop, url)
    response = lookup(client, "1001", "fenna@example.nl")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/returns/demo/items")
    page = client.get("/returns/demo/items").get_data(as_text=True)
    assert "Linen shirt - M" in page


def test_the_portal_says_not_found_when_the_platform_is_down(app, client, shop, woocommerce):
    url, state = woocommerce
    state["orders"] = [woo_order(1001)]
    state["fail_from_call"] = 1
    connect(shop, url)
    response = lookup(client, "1001", "fenna@example.nl")
    assert response.status_code == 200
    assert "could not find an order" in response.get_data(as_text=True)
    assert order_count() == 0


def test_the_portal_does_not_give_the_platforms_order_to_the_wrong_email(client, shop, woocommerce):
    url, state = woocommerce
    state["orders"] = [woo_order(1001)]
    connect(shop, url)
    response = lookup(client, "1001", "someone@else.nl")
    assert "could not find an order" in response.get_data(as_text=True)
