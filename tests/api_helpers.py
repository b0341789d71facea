"""What an API client of the tests sends: keys, bodies, and the calls the webshop makes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flask.testing import FlaskClient

from extensions import db
from models import ApiKey, Shop
from web.api import http

# The API tests' stored order (``make_order(shop, **API_ORDER)``): Anna de Vries's #1001, one
# shirt (the SKU ``order_body()`` posts too), not delivered yet.
API_ORDER: dict[str, Any] = {
    "number": "1001",
    "customer_name": "Anna de Vries",
    "customer_email": "anna@example.com",
    "delivered_days_ago": None,
    "lines": [{"sku": "SHIRT", "product_name": "Shirt", "unit_price_cents": 2995}],
}


def make_key(shop: Shop, name: str = "webshop") -> str:
    """A new API key of ``shop``: the secret, of which only the hash is stored."""
    key, prefix, key_hash = http.new_key()
    db.session.add(ApiKey(shop=shop, name=name, prefix=prefix, key_hash=key_hash))
    db.session.flush()
    return key


def bearer(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}


def order_body(number: str = "1001", **changes: Any) -> dict:
    """An order as the webshop posts it: a shirt and two pairs of socks, delivered."""
    body = {
        "number": number,
        "customer_name": "Anna de Vries",
        "customer_email": "anna@example.com",
        "customer_postcode": "1234 AB",
        "customer_country": "NL",
        "customer_language": "nl",
        "ordered_at": "2026-03-01T10:00:00+01:00",
        "delivered_at": "2026-03-03T12:00:00Z",
        "lines": [
            {"sku": "SHIRT", "product_name": "Shirt", "variant": "M", "unit_price_cents": 2995},
            {"sku": "SOCKS", "product_name": "Socks", "quantity": 2, "unit_price_cents": 595},
        ],
    }
    return body | changes


def delivered_order(client: FlaskClient, key: str, days_ago: int = 2, number: str = "1001") -> dict:
    """Post ``order_body()`` delivered ``days_ago`` days ago; the created order as answered."""
    delivered = (datetime.now(UTC) - timedelta(days=days_ago)).isoformat()
    body = order_body(number, delivered_at=delivered)
    response = client.post("/api/v1/orders", json=body, headers=bearer(key))
    assert response.status_code == 201
    return response.json


def request_body(order: dict, **changes: Any) -> dict:
    """A request for both pairs of socks of a posted ``order_body()`` order."""
    lines = [{"order_line_id": order["lines"][1]["id"], "quantity": 2}]
    return {"order_number": order["number"], "lines": lines} | changes


def post_request(client: FlaskClient, key: str, body: dict, **headers: str):
    return client.post("/api/v1/return-requests", json=body, headers=bearer(key) | headers)
