"""The Shopify connector against the stand-in (shopify_standin.py): what it asks, how it maps
an order into the CSV import's ``OrderData``, how it pages, waits when throttled, and fails."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.connectors import ConnectorError, RefundLine
from services.connectors.shopify import Shopify, scheme_problem, shop_url
from shopify_standin import ACCESS_TOKEN, APP_SECRET, shopify_order, webhook


def connector(url: str, **changes) -> Shopify:
    fields = {"base_url": url, "access_token": ACCESS_TOKEN, "app_secret": APP_SECRET, **changes}
    return Shopify(**fields)


def test_an_order_maps_into_the_csv_imports_order_data(shopify):
    url, state = shopify
    state["orders"] = [shopify_order(1001)]
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
    assert order.delivered_at == found.modified_at  # the fulfilment's delivery
    shirt, socks = order.lines
    assert (shirt.sku, shirt.product_name, shirt.variant, shirt.quantity) == (
        "SHIRT-LIN",
        "Linen shirt",
        "M",
        2,
    )
    assert (shirt.unit_price_cents, shirt.discount_cents) == (1995, 500)
    assert shirt.image_url == "https://cdn.shopify.com/shirt.jpg"
    assert (socks.sku, socks.variant, socks.image_url) == ("shopify-40", None, None)
    _at, asked, variables = state["calls"][-1]
    assert asked == "orders" and variables["query"] == "name:'#1001'"


def test_an_unfulfilled_order_is_not_delivered_and_an_unknown_one_is_none(shopify):
    url, state = shopify
    state["orders"] = [shopify_order(1002, fulfilled=False)]
    assert connector(url).fetch_order("1002").order.delivered_at is None
    assert connector(url).fetch_order("999") is None


def test_orders_are_asked_by_update_page_by_page_from_the_cursor(shopify):
    url, state = shopify
    state["orders"] = [shopify_order(n) for n in range(1, 8)]  # 7 orders, pages of 3
    shop = connector(url)
    first = shop.fetch_orders_since(None)
    second = shop.fetch_orders_since(first.next_cursor)
    third = shop.fetch_orders_since(second.next_cursor)
    assert [o.order.number for o in first.orders] == ["1", "2", "3"]
    assert [o.order.number for o in second.orders] == ["4", "5", "6"]
    assert [o.order.number for o in third.orders] == ["7"]
    assert first.more and second.more and not third.more
    assert third.next_cursor == "2026-11-01T09:07:00Z|"
    # The next sync asks from the newest change on: order 7 again (idempotent), nothing lost.
    again = shop.fetch_orders_since(third.next_cursor)
    assert [o.order.number for o in again.orders] == ["7"]
    assert state["calls"][-1][2]["query"] == "updated_at:>='2026-11-01T09:07:00Z'"
    assert state["calls"][0][2]["query"] is None


def test_the_signature_is_checked_against_the_raw_body(shopify):
    url, _state = shopify
    body, headers = webhook(shopify_order(1001))
    shop = connector(url)
    assert shop.verify_webhook(headers, body)
    assert not shop.verify_webhook(headers, body.replace(b"1001", b"1009"))
    assert not shop.verify_webhook({**headers, "X-Shopify-Hmac-Sha256": "forged"}, body)
    assert not connector(url, app_secret=None).verify_webhook(headers, body)


def test_a_wrong_token_is_named_as_such(shopify):
    url, _state = shopify
    with pytest.raises(ConnectorError, match=r"HTTP 401.*refused the access token"):
        connector(url, access_token="shpat_wrong").test_connection()


def test_the_connection_test_is_a_cheap_shop_query(shopify):
    url, state = shopify
    connector(url).test_connection()
    assert [call[1] for call in state["calls"]] == ["shop"]


def test_a_site_without_the_admin_api_is_named_as_such(shopify):
    url, _state = shopify
    with pytest.raises(ConnectorError, match="not a Shopify shop"):
        connector(url + "/elsewhere").test_connection()


def test_a_throttled_query_waits_until_its_cost_is_restored(app, shopify):
    url, state = shopify
    app.config["CONNECTOR_MAX_WAIT_SECONDS"] = 2
    state["orders"] = [shopify_order(1001)]
    state["throttled"] = 1
    state["restore_rate"] = 104.0  # the 52 points asked are back after half a second
    assert connector(url).fetch_order("1001") is not None
    (first, *_), (second, *_) = state["calls"]
    assert second - first >= 0.45  # not the 0.01 s backoff


def test_too_many_requests_waits_as_asked_then_succeeds(app, shopify):
    url, state = shopify
    state["orders"] = [shopify_order(1001)]
    state["answers"] = [(429, {"Retry-After": "1"})]
    assert connector(url).fetch_order("1001") is not None
    (first, *_), (second, *_) = state["calls"]
    assert second - first >= 0.3  # Retry-After 1 s, capped at 0.3 s in the tests


def test_throttled_every_time_is_tried_a_bounded_number_of_times(app, shopify):
    url, state = shopify
    app.config["CONNECTOR_ATTEMPTS"] = 3
    state["throttled"] = 5
    with pytest.raises(ConnectorError, match=r"throttled.*Tried 3 times"):
        connector(url).fetch_order("1001")
    assert len(state["calls"]) == 3


def test_the_token_goes_to_myshopify_over_https_only(app, shopify):
    url, _state = shopify
    app.config["OUTBOUND_ALLOW_PRIVATE"] = False
    with pytest.raises(ConnectorError, match=r"myshopify\.com"):
        connector(url).test_connection()
    assert scheme_problem("https://fenna.myshopify.com") is None
    assert scheme_problem("https://shop.example") is not None
    assert shop_url("fenna") == shop_url("fenna.myshopify.com") == "https://fenna.myshopify.com"


def test_a_refund_carries_lines_restock_transaction_and_no_notification(shopify):
    url, state = shopify
    state["orders"] = [shopify_order(1001)]
    lines = [RefundLine("SHIRT-LIN", 1, 1745), RefundLine("shopify-40", 1, 1000)]
    payout = connector(url).refund("1001", 2745, lines, "return-7", restock=True)
    (refund,) = state["refunds"]
    assert payout.provider_id == refund["id"]
    assert refund["notify"] is False and refund["amount"] == "27.45"
    assert refund["note"] == "ReturnDesk return-7"
    assert [(r["quantity"], r["restockType"]) for r in refund["refundLineItems"]] == [
        (1, "RETURN"),
        (1, "RETURN"),
    ]
    assert refund["refundLineItems"][0]["locationId"] == "gid://shopify/Location/77"
    assert refund["transactions"][0]["gateway"] == "mollie"
    assert state["stock"] == {"SHIRT-LIN": 1, "": 1}


def test_a_refund_asked_again_with_its_key_is_the_one_made(shopify):
    url, state = shopify
    state["orders"] = [shopify_order(1001)]
    shop = connector(url)
    lines = [RefundLine("SHIRT-LIN", 1, 1745)]
    first = shop.refund("1001", 1745, lines, "return-7", restock=False)
    again = shop.refund("1001", 1745, lines, "return-7", restock=False)
    assert first == again and len(state["refunds"]) == 1
    assert state["refunds"][0]["refundLineItems"][0]["restockType"] == "NO_RESTOCK"
    assert state["stock"] == {}


def test_a_refund_shopify_refuses_says_why(shopify):
    url, state = shopify
    state["orders"] = [shopify_order(1001)]
    with pytest.raises(ConnectorError, match="exceeds the refundable amount"):
        connector(url).refund("1001", 99999, [], "return-8", restock=False)


def test_a_timeout_mid_refund_then_the_retry_refunds_once(app, shopify):
    url, state = shopify
    app.config["CONNECTOR_TIMEOUT_SECONDS"] = 0.3
    state["orders"] = [shopify_order(1001)]
    state["slow_mutations"] = 1
    shop = connector(url)
    lines = [RefundLine("SHIRT-LIN", 1, 1745)]
    with pytest.raises(ConnectorError) as timed_out:
        shop.refund("1001", 1745, lines, "return-9", restock=True)
    assert timed_out.value.retryable
    state["slow_mutations"] = 0
    payout = shop.refund("1001", 1745, lines, "return-9", restock=True)
    assert len(state["refunds"]) == 1 and payout.provider_id == state["refunds"][0]["id"]


def test_store_credit_is_a_gift_card_once_per_key_even_after_a_timeout(app, shopify):
    url, state = shopify
    app.config["CONNECTOR_TIMEOUT_SECONDS"] = 0.3
    state["slow_mutations"] = 1
    shop = connector(url)
    with pytest.raises(ConnectorError):
        shop.issue_store_credit("fenna@example.nl", 2500, "return-10")
    state["slow_mutations"] = 0
    payout = shop.issue_store_credit("fenna@example.nl", 2500, "return-10")
    (card,) = state["gift_cards"]
    assert payout.provider_id == card["code"] and len(card["code"]) == 16
    assert card["initialValue"] == "25.00"
    assert "fenna@example.nl" in card["note"] and "return-10" in card["note"]
    other = shop.issue_store_credit("fenna@example.nl", 2500, "return-11")
    assert other.provider_id != payout.provider_id and len(state["gift_cards"]) == 2


def test_a_changed_order_is_newer(shopify):
    url, state = shopify
    later = datetime(2026, 11, 5, 10, 0, tzinfo=UTC)
    state["orders"] = [shopify_order(1001, modified=later)]
    assert connector(url).fetch_order("1001").modified_at == later


def test_an_order_with_more_lines_than_a_page_is_skipped_with_why(shopify):
    url, state = shopify
    crowded = shopify_order(2)
    crowded["lineItems"]["pageInfo"]["hasNextPage"] = True
    state["orders"] = [shopify_order(1), crowded]
    page = connector(url).fetch_orders_since(None)
    assert [o.order.number for o in page.orders] == ["1"]
    assert page.skipped == [
        "Shopify order #2 has more than 25 lines; ReturnDesk imports orders of up to 25 lines."
    ]


def test_pages_stay_under_shopifys_query_cost_limit(app, shopify):
    url, state = shopify
    app.config["CONNECTOR_PAGE_SIZE"] = 50
    connector(url).fetch_orders_since(None)
    assert state["calls"][-1][2]["first"] == 5


def test_a_nearly_empty_bucket_makes_the_next_page_wait_before_it_is_throttled(app, shopify):
    url, state = shopify
    app.config["CONNECTOR_MAX_WAIT_SECONDS"] = 2
    state["orders"] = [shopify_order(n) for n in range(1, 5)]
    state["available"] = 0  # each answer leaves nothing: 52 points at 104 a second, 0.5 s
    state["restore_rate"] = 104.0
    shop = connector(url)
    first = shop.fetch_orders_since(None)
    shop.fetch_orders_since(first.next_cursor)
    (asked, *_), (next_asked, *_) = state["calls"]
    assert next_asked - asked >= 0.45
    assert len(state["calls"]) == 2  # waited, never throttled
