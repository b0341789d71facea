"""WooCommerce's REST API v3 as a stand-in on loopback: the shop the connector tests call.

It follows the documented contract of ``GET /wp-json/wc/v3/orders``: HTTP Basic with the
consumer key and secret (401 ``woocommerce_rest_authentication_error`` otherwise), ``page``,
``per_page`` (at most 100), ``search``, ``modified_after`` (with ``dates_are_gmt``: after that
moment in GMT), ``orderby=modified`` and ``order=asc``, and the ``X-WP-Total`` and
``X-WP-TotalPages`` headers; another path under ``/wp-json/`` answers ``rest_no_route``. Its
webhooks are signed as WooCommerce signs them (``X-WC-Webhook-Signature``: base64 of the raw
body's HMAC-SHA256 with the webhook's secret).

Refunds and coupons as documented (REST API v3, "Order refunds" and "Coupons"):
``GET``/``POST /orders/{id}/refunds`` (``amount`` takes precedence over the lines' totals and
must be above zero and at most what is left to refund; ``line_items`` of ``id``, ``quantity``,
``refund_total``; ``api_refund``, ``api_restock``, both true by default; ``reason``,
``meta_data``), ``GET /coupons?code=`` and ``POST /coupons`` (a code is unique,
case-insensitively). A refund with ``api_restock`` puts its quantities back in ``stock`` (by
product id). ``slow_posts`` makes a POST do its work and then answer only after that many
seconds (a timeout mid-refund); ``post_answers`` are answers a POST gives instead of doing
anything (``(status, code, message)``, e.g. a payment gateway's refusal).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from serving import serving

CONSUMER_KEY = "ck_standin_0123456789abcdef"
CONSUMER_SECRET = "cs_standin_fedcba9876543210"
WEBHOOK_SECRET = "whsec-standin-secret"
ORDERS_PATH = "/wp-json/wc/v3/orders"
REFUNDS_PATH = re.compile(r"^/wp-json/wc/v3/orders/(\d+)/refunds$")
COUPONS_PATH = "/wp-json/wc/v3/coupons"
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
        if match := REFUNDS_PATH.match(parts.path):
            order = self.order_by_id(int(match.group(1)))
            if order is None:
                return self.no_order()
            return self.answer(200, state["refunds"].get(order["id"], []))
        if parts.path == COUPONS_PATH:
            code = query.get("code", "").lower()
            return self.answer(200, [c for c in state["coupons"] if c["code"] == code or not code])
        if parts.path != ORDERS_PATH:
            return self.no_route()
        return self.list_orders(state["orders"], query)

    def do_POST(self):
        state = self.server.state
        parts = urlsplit(self.path)
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = json.loads(raw or b"{}")
        state["calls"].append((time.monotonic(), parts.path, {"method": "POST", **body}))
        expected = base64.b64encode(f"{CONSUMER_KEY}:{CONSUMER_SECRET}".encode()).decode()
        if self.headers.get("Authorization") != f"Basic {expected}":
            return self.answer(
                401,
                problem("woocommerce_rest_authentication_error", "Consumer key is invalid.", 401),
            )
        if state["post_answers"]:
            status, code, message = state["post_answers"].pop(0)
            return self.answer(status, problem(code, message, status))
        if match := REFUNDS_PATH.match(parts.path):
            status, payload = self.create_refund(int(match.group(1)), body)
        elif parts.path == COUPONS_PATH:
            status, payload = self.create_coupon(body)
        else:
            return self.no_route()
        time.sleep(state["slow_posts"])
        return self.answer(status, payload)

    def create_refund(self, order_id: int, body: dict) -> tuple[int, dict]:
        state = self.server.state
        order = self.order_by_id(order_id)
        if order is None:
            return 404, problem("woocommerce_rest_shop_order_invalid_id", "Invalid ID.", 404)
        refunds = state["refunds"].setdefault(order_id, [])
        items = {item["id"]: item for item in order["line_items"]}
        lines = body.get("line_items") or []
        if any(line.get("id") not in items for line in lines):
            return 400, problem("woocommerce_rest_invalid_line_item", "Invalid line item.", 400)
        line_total = sum(Decimal(str(line.get("refund_total") or 0)) for line in lines)
        amount = Decimal(str(body["amount"])) if body.get("amount") is not None else line_total
        if amount <= 0:
            return 400, problem(
                "woocommerce_rest_invalid_order_refund",
                "Refund amount must be greater than zero.",
                400,
            )
        refunded = sum(Decimal(r["amount"]) for r in refunds)
        if amount > Decimal(order["total"]) - refunded:
            return 500, problem(
                "woocommerce_rest_cannot_create_order_refund", "Invalid refund amount.", 500
            )
        restock = body.get("api_restock", True)
        if restock:
            for line in lines:
                product = items[line["id"]]["product_id"]
                state["stock"][product] = state["stock"].get(product, 0) + int(line["quantity"])
        refund = {
            "id": 900 + sum(len(r) for r in state["refunds"].values()),
            "date_created_gmt": gmt(datetime.now(UTC)),
            "amount": f"{amount:.2f}",
            "reason": body.get("reason", ""),
            "refunded_by": 0,
            "refunded_payment": body.get("api_refund", True),
            "restocked": restock,
            "meta_data": [
                {"id": n + 1, **meta} for n, meta in enumerate(body.get("meta_data") or [])
            ],
            "line_items": [
                {
                    "id": 5000 + n,
                    "name": items[line["id"]]["name"],
                    "product_id": items[line["id"]]["product_id"],
                    "quantity": -int(line["quantity"]),
                    "total": f"-{Decimal(str(line['refund_total'])):.2f}",
                    "refunded_item_id": line["id"],
                }
                for n, line in enumerate(lines)
            ],
        }
        refunds.append(refund)
        return 201, refund

    def create_coupon(self, body: dict) -> tuple[int, dict]:
        coupons = self.server.state["coupons"]
        code = str(body.get("code", "")).lower()
        if any(coupon["code"] == code for coupon in coupons):
            return 400, problem(
                "woocommerce_rest_coupon_code_already_exists", "The coupon code already exists", 400
            )
        coupon = {
            "id": 700 + len(coupons),
            "code": code,
            "amount": f"{Decimal(str(body.get('amount') or 0)):.2f}",
            "discount_type": body.get("discount_type", "fixed_cart"),
            "description": body.get("description", ""),
            "usage_limit": body.get("usage_limit"),
            "usage_limit_per_user": body.get("usage_limit_per_user"),
            "individual_use": body.get("individual_use", False),
            "email_restrictions": body.get("email_restrictions") or [],
            "usage_count": 0,
            "meta_data": [
                {"id": n + 1, **meta} for n, meta in enumerate(body.get("meta_data") or [])
            ],
        }
        coupons.append(coupon)
        return 201, coupon

    def order_by_id(self, order_id: int) -> dict | None:
        return next((o for o in self.server.state["orders"] if o["id"] == order_id), None)

    def no_order(self):
        return self.answer(
            404, problem("woocommerce_rest_shop_order_invalid_id", "Invalid ID.", 404)
        )

    def no_route(self):
        return self.answer(
            404, problem("rest_no_route", "No route was found matching the URL.", 404)
        )

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
    the seconds it waits before answering; ``refunds`` (by order id), ``coupons`` and
    ``stock`` (by product id) it made, and ``slow_posts`` and ``post_answers`` (the module's
    docstring)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), WooCommerceStandIn)
    # A client that gave up waiting (the timeout tests) leaves a broken pipe: not news.
    server.handle_error = lambda request, client_address: None
    server.state = {
        "orders": [],
        "calls": [],
        "answers": [],
        "fail_from_call": None,
        "delay": 0,
        "refunds": {},
        "coupons": [],
        "stock": {},
        "slow_posts": 0,
        "post_answers": [],
    }
    with serving(server):
        yield f"http://127.0.0.1:{server.server_port}", server.state
