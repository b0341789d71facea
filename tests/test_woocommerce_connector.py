"""The WooCommerce connector against the stand-in (woocommerce_standin.py): what it asks, how
it maps an order into the CSV import's ``OrderData``, how it pages, retries and fails."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.connectors import ConnectorError
from services.connectors.woocommerce import WooCommerce, address_problem
from woocommerce_standin import (
    CONSUMER_KEY,
    CONSUMER_SECRET,
    ORDERS_PATH,
    WEBHOOK_SECRET,
    webhook,
    woo_order,
)


def connector(url: str, **changes) -> WooCommerce:
    fields = {
        "base_url": url,
        "consumer_key": CONSUMER_KEY,
        "consumer_secret": CONSUMER_SECRET,
        "webhook_secret": WEBHOOK_SECRET,
        **changes,
    }
    return WooCommerce(**fields)


def test_an_order_maps_into_the_csv_imports_order_data(woocommerce):
    url, state = woocommerce
    state["orders"] = [woo_order(1001)]
    found = connector(url).fetch_order("#1001")
    assert found is not None
    order = found.order
    assert (order.number, order.customer_name, order.customer_email) == (
        "1001",
        "Fenna de Vries",
        "fenna@example.nl",
    )
    assert (order.customer_postcode, order.customer_street, order.customer_city) == (
        "1234 AB",
        "Kerkstraat 1",
        "Utrecht",
    )
    assert order.currency == "EUR"
    assert order.delivered_at == found.modified_at  # completed counts as delivered
    shirt, socks = order.lines
    assert (shirt.sku, shirt.product_name, shirt.variant, shirt.quantity) == (
        "SHIRT-LIN",
        "Linen shirt - M",
        "Size: M",
        2,
    )
    # 2 × €19.95 before the coupon, €5.00 off the line: €34.90 paid, as WooCommerce says.
    assert (shirt.unit_price_cents, shirt.discount_cents) == (1995, 500)
    assert shirt.image_url == "https://shop.example/shirt.jpg"
    assert (socks.sku, socks.variant, socks.image_url) == ("woo-40", None, None)


def test_an_unfinished_order_is_not_delivered_yet(woocommerce):
    url, state = woocommerce
    state["orders"] = [woo_order(1002, status="processing")]
    assert connector(url).fetch_order("1002").order.delivered_at is None


def test_an_order_the_shop_does_not_have_is_none(woocommerce):
    url, state = woocommerce
    state["orders"] = [woo_order(1001)]
    assert connector(url).fetch_order("999") is None
    assert state["calls"][-1][2]["search"] == "999"


def test_orders_are_asked_oldest_change_first_page_by_page_from_the_cursor(woocommerce):
    url, state = woocommerce
    state["orders"] = [woo_order(n) for n in range(1, 8)]  # 7 orders, pages of 3
    woo = connector(url)
    first = woo.fetch_orders_since(None)
    assert [o.order.number for o in first.orders] == ["1", "2", "3"]
    assert first.more
    second = woo.fetch_orders_since(first.next_cursor)
    third = woo.fetch_orders_since(second.next_cursor)
    # Each page starts a second before the last change seen, so an order changed in the same
    # second as a page boundary comes again rather than never (the upsert is idempotent).
    assert [o.order.number for o in second.orders] == ["3", "4", "5"]
    assert [o.order.number for o in third.orders] == ["5", "6", "7"]
    assert not third.more
    asked = state["calls"][1][2]
    assert asked["orderby"] == "modified" and asked["order"] == "asc"
    assert asked["modified_after"] == "2026-11-01T09:02:59"  # order 3's change, less a second
    assert asked["per_page"] == "3" and asked["page"] == "1"


def test_a_full_page_changed_in_one_second_moves_on_by_page_not_lost(woocommerce):
    url, state = woocommerce
    same = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
    state["orders"] = [woo_order(n, modified=same) for n in range(1, 8)]
    woo = connector(url)
    seen, cursor, more = [], None, True
    while more:
        page = woo.fetch_orders_since(cursor)
        seen += [o.order.number for o in page.orders]
        cursor, more = page.next_cursor, page.more
    assert sorted(set(seen), key=int) == [str(n) for n in range(1, 8)]


def test_the_signature_is_checked_against_the_raw_body(woocommerce):
    url, _state = woocommerce
    body, headers = webhook(woo_order(1001))
    woo = connector(url)
    assert woo.verify_webhook(headers, body)
    assert not woo.verify_webhook(headers, body.replace(b"1001", b"1009"))
    assert not woo.verify_webhook({**headers, "X-WC-Webhook-Signature": "forged"}, body)
    assert not connector(url, webhook_secret=None).verify_webhook(headers, body)


def test_a_wrong_key_is_named_as_such(woocommerce):
    url, _state = woocommerce
    with pytest.raises(ConnectorError, match=r"HTTP 401.*consumer key or secret"):
        connector(url, consumer_secret="cs_wrong").test_connection()


def test_a_site_without_woocommerce_is_named_as_such(woocommerce):
    url, state = woocommerce
    woo = connector(url + "/not-wordpress")
    with pytest.raises(ConnectorError, match="not a WooCommerce shop"):
        woo.test_connection()
    assert state["calls"][-1][1] == "/not-wordpress" + ORDERS_PATH


def test_too_many_requests_waits_as_asked_then_succeeds(app, woocommerce):
    url, state = woocommerce
    state["orders"] = [woo_order(1001)]
    state["answers"] = [(429, {"Retry-After": "1"})]
    assert connector(url).fetch_order("1001") is not None
    (first, *_), (second, *_) = state["calls"]
    # Retry-After said 1 s; the tests cap a wait at 0.3 s (the backoff alone would be 0.01 s).
    assert second - first >= 0.3


def test_a_platform_that_stays_down_is_tried_a_bounded_number_of_times(app, woocommerce):
    url, state = woocommerce
    app.config["CONNECTOR_ATTEMPTS"] = 3
    state["answers"] = [(503, {})] * 5
    with pytest.raises(ConnectorError, match=r"HTTP 503.*Tried 3 times"):
        connector(url).fetch_order("1001")
    assert len(state["calls"]) == 3


def test_keys_go_over_https_only_except_to_loopback_in_development(app, woocommerce):
    url, _state = woocommerce
    app.config["OUTBOUND_ALLOW_PRIVATE"] = False
    with pytest.raises(ConnectorError, match="https://"):
        connector(url).test_connection()
    assert "https://" in address_problem("http://shop.example")
    assert "private network" in address_problem("https://10.0.0.5")


def test_a_shop_that_does_not_answer_in_time_is_named_as_such(app, woocommerce):
    url, state = woocommerce
    app.config["CONNECTOR_TIMEOUT_SECONDS"] = 0.2
    state["delay"] = 1
    with pytest.raises(ConnectorError, match=r"did not answer within 0\.2 seconds"):
        connector(url).test_connection()
