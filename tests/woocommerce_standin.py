"""WooCommerce's REST API v3 as a stand-in on loopback: the shop the connector tests call.

It follows the documented contract of ``GET /wp-json/wc/v3/orders``: HTTP Basic with the
consumer key and secret (401 ``woocommerce_rest_authentication_error`` otherwise), ``page``,
``per_page`` (at most 100), ``search``, ``modified_after`` (with ``dates_are_gmt``: after that
moment in GMT), ``orderby=modified`` and ``order=asc``, and the ``X-WP-Total`` and
``X-WP-TotalPages`` headers; another path under ``/wp-json/`` answers ``rest_no_route``. Its
webhooks are signed as WooCommerce signs them (``X-WC-Webhook-Signature``: base64 of the raw
body's HMAC-SHA256 with the webhook's secret).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

CONSUMER_KEY = "ck_standin_0123456789abcdef"
CONSUMER_SECRET = "cs_standin_fedcba9876543210"
WEBHOOK_SECRET = "whsec-standin-secret"
ORDERS_PATH = "/wp-json/wc/v3/orders"
START = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def gmt(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def woo_order(
    number: int,
    email: str = "fenna@example.nl",
    modified: datetime | None = None,
    status: str = "completed",
    postcode: str = "1234 AB",
    items: list[dict] | None = None,
) -> dict:
    """An order as ``GET /orders`` returns it (the fields ReturnDesk reads, and a few more)."""
    modified = modified or START + timedelta(minutes=number)
    created = modified - timedelta(days=2)
    return {
        "id": 7000 + number,
        "parent_id": 0,
        "number": str(number),
        "order_key": f"wc_order_{number}",
        "status": status,
        "currency": "EUR",
        "date_created": gmt(created),
        "date_created_gmt": gmt(created),
        "date_modified": gmt(modified),
        "date_modified_gmt": gmt(modified),
        "date_paid_gmt": gmt(created),
        "date_completed_gmt": gmt(modified) if status == "completed" else None,
        "total": "44.90",
        "billing": {
            "first_name": "Fenna",
            "last_name": "de Vries",
            "company": "",
            "address_1": "Kerkstraat 1",
            "address_2": "",
            "city": "Utrecht",
            "postcode": postcode,
            "country": "NL",
            "email": email,
            "phone": "",
        },
        "shipping": {
            "first_name": "Fenna",
            "last_name": "de Vries",
            "address_1": "Kerkstraat 1",
            "address_2": "",
            "city": "Utrecht",
            "postcode": postcode,
            "country": "NL",
        },
        "line_items": items
        if items is not None
        else [
            {
                "id": 1,
                "name": "Linen shirt - M",
                "product_id": 31,
                "variation_id": 32,
                "quantity": 2,
                "subtotal": "39.90",
                "total": "34.90",
                "sku": "SHIRT-LIN",
                "price": 17.45,
                "image": {"id": 9, "src": "https://shop.example/shirt.jpg"},
                "meta_data": [
                    {
                        "id": 1,
                        "key": "pa_size",
                        "value": "m",
                        "display_key": "Size",
                        "display_value": "M",
                    },
                    {
                        "id": 2,
                        "key": "_reduced_stock",
                        "value": "2",
                        "display_key": "_reduced_stock",
                        "display_value": "2",
                    },
                ],
            },
            {
                "id": 2,
                "name": "Socks",
                "product_id": 40,
                "variation_id": 0,
                "quantity": 1,
                "subtotal": "10.00",
                "total": "10.00",
                "sku": "",
                "price": 10.0,
                "image": {"id": "", "src": ""},
                "meta_data": [],
            },
        ],
    }


def sign(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def webhook(
    order: dict, secret: str = WEBHOOK_SECRET, topic: str = "order.updated"
) -> tuple[bytes, dict]:
    """The body and headers WooCommerce posts for an order webhook, signed with ``secret``."""
    body = json.dumps(order).encode()
    return body, {
        "Content-Type": "application/json",
        "X-WC-Webhook-Source": "https://shop.example/",
        "X-WC-Webhook-Topic": topic,
        "X-WC-Webhook-Resource": "order",
        "X-WC-Webhook-Event": topic.split(".")[1],
        "X-WC-Webhook-ID": "12",
        "X-WC-Webhook-Delivery-ID": uuid.uuid4().hex,
        "X-WC-Webhook-Signature": sign(secret, body),
    }


class WooCommerceStandIn(BaseHTTPRequestHandler):
    """Answers ``GET /wp-json/wc/v3/orders`` as WooCommerce does."""

    def log_message(self, *args):
        pass

    def do_GET(self):
        state = self.server.state
        parts = urlsplit(self.path)
        query = {name: values[0] for name, values in parse_qs(parts.query).items()}
        state["calls"].append((time.monotonic(), parts.path, query))
        time.sleep(state["delay"])
        if not parts.path.startswith("/wp-json/"):
            return self.answer(404, b"<html>Not found</html>", content_type="text/html")
        expected = base64.b64encode(f"{CONSUMER_KEY}:{CONSUMER_SECRET}".encode()).decode()
        if self.headers.get("Authorization") != f"Basic {expected}":
            return self.answer(
                401,
                problem("woocommerce_rest_authentication_error", "Consumer key is invalid.", 401),
            )
        if state["answers"]:
            status, headers = state["answers"].pop(0)
            return self.answer(status, problem("standin", "Scripted answer.", status), headers)
        if state["fail_from_call"] and len(state["calls"]) >= state["fail_from_call"]:
            return self.answer(500, problem("internal_server_error", "Crashed.", 500))
        if parts.path != ORDERS_PATH:
            return self.answer(
                404, problem("rest_no_route", "No route was found matching the URL.", 404)
            )
        return self.list_orders(state["orders"], query)

    def list_orders(self, orders: list[dict], query: dict[str, str]):
        chosen = list(orders)
        if after := query.get("modified_after"):
            moment = datetime.fromisoformat(after)
            chosen = [o for o in chosen if datetime.fromisoformat(o["date_modified_gmt"]) > moment]
        if search := query.get("search"):
            chosen = [
                o for o in chosen if search in (o["number"], str(o["id"]), o["billing"]["email"])
            ]
        if query.get("orderby") == "modified":
            chosen.sort(key=lambda o: (o["date_modified_gmt"], o["id"]))
        else:
            chosen.sort(key=lambda o: o["date_created_gmt"], reverse=True)
        if query.get("order") == "desc" and query.get("orderby") == "modified":
            chosen.reverse()
        per_page = min(int(query.get("per_page", 10)), 100)
        page = int(query.get("page", 1))
        total_pages = max((len(chosen) + per_page - 1) // per_page, 1) if chosen else 0
        shown = chosen[(page - 1) * per_page : page * per_page]
        headers = {"X-WP-Total": str(len(chosen)), "X-WP-TotalPages": str(total_pages)}
        return self.answer(200, shown, headers)

    def answer(self, status, payload, headers=None, content_type="application/json"):
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


def problem(code: str, message: str, status: int) -> dict:
    """WooCommerce's (WordPress's) error body."""
    return {"code": code, "message": message, "data": {"status": status}}


@contextmanager
def running_woocommerce() -> Iterator[tuple[str, dict]]:
    """The stand-in on a free loopback port: ``(shop URL, state)``. The state holds the
    ``orders`` it has, the ``calls`` it got (monotonic time, path, query), ``answers`` to give
    before any other (``(status, headers)``, e.g. ``(429, {"Retry-After": "1"})``) and
    ``fail_from_call``: from which call on (counting from 1) it answers 500, and ``delay``:
    the seconds it waits before answering."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), WooCommerceStandIn)
    # A client that gave up waiting (the timeout tests) leaves a broken pipe: not news.
    server.handle_error = lambda request, client_address: None
    server.state = {"orders": [], "calls": [], "answers": [], "fail_from_call": None, "delay": 0}
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", server.state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
