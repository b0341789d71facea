"""Shopify's Admin GraphQL API (version 2025-01) as a stand-in on loopback: the shop the
Shopify connector tests call.

It follows the documented contract of ``POST /admin/api/2025-01/graphql.json``: the app's
token in ``X-Shopify-Access-Token`` (401 ``{"errors": "[API] Invalid API key or access token
…"}`` otherwise), another path 404. It tells the operation by its root field, as ReturnDesk's
queries name them, and answers the whole order shape ReturnDesk selects:

- ``orders(first, after, query, sortKey: UPDATED_AT)``: the filters ``updated_at:>='…'`` and
  ``name:'#1001'``, ``pageInfo { hasNextPage endCursor }`` with opaque cursors;
- ``shop { name }``;
- ``refundCreate(input)``: ``refundLineItems`` by line item id (``restockType`` ``RETURN`` puts
  the quantity back in ``stock`` by SKU), one ``REFUND`` transaction against a paid one, no
  more than is left to refund; ``userErrors`` otherwise; the refund is recorded with its
  ``note`` and listed in the order's ``refunds``;
- ``giftCardCreate(input)``: ``initialValue``, ``code`` (8 to 20 letters and digits, unique:
  ``TAKEN`` otherwise), ``note``.

Every answer carries ``extensions.cost`` with a ``throttleStatus`` (a bucket of 2000 points,
restored at ``restore_rate`` a second; ``available`` points left after a query).
``throttled``: how many queries are answered with a ``THROTTLED`` error first; ``answers``:
HTTP answers given before any other (``(status, headers)``, e.g. ``(429, {"Retry-After":
"1"})``); ``fail_from_call``: from which call on (counting from 1) it answers 503;
``slow_mutations``: the seconds a mutation waits after doing its work (a timeout
mid-refund). Its webhooks are signed as Shopify signs them (``X-Shopify-Hmac-Sha256``:
base64 of the raw body's HMAC-SHA256 with the app secret).
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

from serving import serving

ACCESS_TOKEN = "shpat_standin_0123456789abcdef"
APP_SECRET = "shpss_standin_secret"
API_PATH = "/admin/api/2025-01/graphql.json"
START = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
BUCKET = 2000
QUERY_COST = 52


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def shopify_order(
    number: int,
    email: str = "fenna@example.nl",
    modified: datetime | None = None,
    fulfilled: bool = True,
    zip_code: str = "1234 AB",
) -> dict:
    """An order node as the Admin GraphQL API returns it for ReturnDesk's selection."""
    modified = modified or START + timedelta(minutes=number)
    created = modified - timedelta(days=2)
    gid = 5500 + number
    address = {
        "firstName": "Fenna",
        "lastName": "de Vries",
        "address1": "Kerkstraat 1",
        "address2": None,
        "city": "Utrecht",
        "zip": zip_code,
        "countryCodeV2": "NL",
    }
    return {
        "id": f"gid://shopify/Order/{gid}",
        "name": f"#{number}",
        "email": email,
        "createdAt": iso(created),
        "processedAt": iso(created),
        "updatedAt": iso(modified),
        "currencyCode": "EUR",
        "displayFulfillmentStatus": "FULFILLED" if fulfilled else "UNFULFILLED",
        "customer": {"firstName": "Fenna", "lastName": "de Vries", "email": email},
        "shippingAddress": address,
        "billingAddress": address,
        "fulfillments": [
            {
                "createdAt": iso(created + timedelta(days=1)),
                "deliveredAt": iso(modified) if fulfilled else None,
                "location": {"id": "gid://shopify/Location/77"},
            }
        ]
        if fulfilled
        else [],
        "lineItems": {
            "pageInfo": {"hasNextPage": False},
            "nodes": [
                {
                    "id": f"gid://shopify/LineItem/{gid}1",
                    "sku": "SHIRT-LIN",
                    "name": "Linen shirt - M",
                    "title": "Linen shirt",
                    "variantTitle": "M",
                    "quantity": 2,
                    "originalUnitPriceSet": {"shopMoney": {"amount": "19.95"}},
                    "totalDiscountSet": {"shopMoney": {"amount": "5.0"}},
                    "image": {"url": "https://cdn.shopify.com/shirt.jpg"},
                    "variant": {"id": "gid://shopify/ProductVariant/32"},
                },
                {
                    "id": f"gid://shopify/LineItem/{gid}2",
                    "sku": "",
                    "name": "Socks",
                    "title": "Socks",
                    "variantTitle": "Default Title",
                    "quantity": 1,
                    "originalUnitPriceSet": {"shopMoney": {"amount": "10.00"}},
                    "totalDiscountSet": {"shopMoney": {"amount": "0.0"}},
                    "image": None,
                    "variant": {"id": "gid://shopify/ProductVariant/40"},
                },
            ],
        },
        "totalPrice": "44.90",
        "refunds": [],
        "transactions": [
            {
                "id": f"gid://shopify/OrderTransaction/{gid}9",
                "gateway": "mollie",
                "kind": "SALE",
                "status": "SUCCESS",
            }
        ],
    }


def rest_order(order: dict) -> dict:
    """The order as an ``orders/updated`` webhook's body has it (the REST shape, in part)."""
    return {
        "id": int(order["id"].rsplit("/", 1)[-1]),
        "admin_graphql_api_id": order["id"],
        "name": order["name"],
        "email": order["email"],
        "updated_at": order["updatedAt"],
        "line_items": [
            {"id": int(item["id"].rsplit("/", 1)[-1]), "sku": item["sku"], "name": item["name"]}
            for item in order["lineItems"]["nodes"]
        ],
    }


def sign(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def webhook(
    order: dict, secret: str = APP_SECRET, topic: str = "orders/updated"
) -> tuple[bytes, dict]:
    """The body and headers Shopify posts for an order webhook, signed with ``secret``."""
    body = json.dumps(rest_order(order)).encode()
    return body, {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Shop-Domain": "fenna-fashion.myshopify.com",
        "X-Shopify-API-Version": "2025-01",
        "X-Shopify-Webhook-Id": uuid.uuid4().hex,
        "X-Shopify-Hmac-Sha256": sign(secret, body),
    }


class ShopifyStandIn(BaseHTTPRequestHandler):
    """Answers ``POST /admin/api/2025-01/graphql.json`` as Shopify does."""

    def log_message(self, *args):
        pass

    def do_POST(self):
        state = self.server.state
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path != API_PATH:
            return self.answer(404, {"errors": "Not Found"})
        if self.headers.get("X-Shopify-Access-Token") != ACCESS_TOKEN:
            return self.answer(
                401,
                {
                    "errors": "[API] Invalid API key or access token (unrecognized login or "
                    "wrong password)"
                },
            )
        body = json.loads(raw or b"{}")
        query, variables = body.get("query", ""), body.get("variables") or {}
        state["calls"].append((time.monotonic(), operation(query), variables))
        if state["answers"]:
            status, headers = state["answers"].pop(0)
            return self.answer(status, {"errors": "Exceeded 2 calls per second"}, headers)
        if state["fail_from_call"] and len(state["calls"]) >= state["fail_from_call"]:
            return self.answer(503, {"errors": "Service Unavailable"})
        if state["throttled"]:
            state["throttled"] -= 1
            return self.answer(
                200,
                {
                    "errors": [
                        {
                            "message": "Throttled",
                            "extensions": {
                                "code": "THROTTLED",
                                "documentation": "https://shopify.dev/api/usage/rate-limits",
                            },
                        }
                    ],
                    "extensions": cost(state, available=0),
                },
            )
        return self.run(operation(query), variables)

    def run(self, name: str, variables: dict):
        """Answer the query or mutation asking the root field ``name``."""
        state = self.server.state
        if name == "orders":
            data = {"orders": self.list_orders(variables)}
        elif name == "shop":
            data = {"shop": {"name": "Fenna Fashion"}}
        elif name == "refundCreate":
            data = {"refundCreate": self.create_refund(variables.get("input") or {})}
        elif name == "giftCardCreate":
            data = {"giftCardCreate": self.create_gift_card(variables.get("input") or {})}
        else:
            return self.answer(
                200, {"errors": [{"message": f"Field '{name}' doesn't exist on type 'QueryRoot'"}]}
            )
        if name in ("refundCreate", "giftCardCreate"):
            time.sleep(state["slow_mutations"])
        return self.answer(200, {"data": data, "extensions": cost(state)})

    def list_orders(self, variables: dict) -> dict:
        chosen = list(self.server.state["orders"])
        search = variables.get("query") or ""
        if match := re.search(r"updated_at:>='?([^' ]+)'?", search):
            since = match.group(1)
            chosen = [o for o in chosen if o["updatedAt"] >= since]
        if match := re.search(r"name:'?#?([^' ]+)'?", search):
            chosen = [o for o in chosen if o["name"].lstrip("#") == match.group(1)]
        chosen.sort(key=lambda o: (o["updatedAt"], o["id"]))
        start = int(base64.b64decode(variables["after"]).decode()) if variables.get("after") else 0
        first = min(int(variables.get("first") or 50), 250)
        shown = chosen[start : start + first]
        end = start + len(shown)
        return {
            "pageInfo": {
                "hasNextPage": end < len(chosen),
                "endCursor": base64.b64encode(str(end).encode()).decode() if shown else None,
            },
            "nodes": shown,
        }

    def create_refund(self, refund_input: dict) -> dict:
        state = self.server.state
        order = next((o for o in state["orders"] if o["id"] == refund_input.get("orderId")), None)
        if order is None:
            return failed(["orderId"], "Order does not exist")
        items = {item["id"]: item for item in order["lineItems"]["nodes"]}
        lines = refund_input.get("refundLineItems") or []
        if any(line.get("lineItemId") not in items for line in lines):
            return failed(["refundLineItems"], "Line item does not exist")
        transactions = refund_input.get("transactions") or []
        paid = {t["id"] for t in order["transactions"]}
        if any(t.get("parentId") not in paid or t.get("kind") != "REFUND" for t in transactions):
            return failed(["transactions"], "Parent transaction is invalid")
        amount = sum(Decimal(str(t.get("amount") or 0)) for t in transactions)
        refunded = sum(Decimal(r["amount"]) for r in order["refunds"])
        if amount > Decimal(order["totalPrice"]) - refunded:
            return failed(["transactions"], "Refund amount exceeds the refundable amount")
        for line in lines:
            if line.get("restockType") == "RETURN":
                sku = items[line["lineItemId"]]["sku"]
                state["stock"][sku] = state["stock"].get(sku, 0) + int(line["quantity"])
        refund = {
            "id": f"gid://shopify/Refund/{800 + len(state['refunds'])}",
            "note": refund_input.get("note"),
            "amount": f"{amount:.2f}",
            "notify": refund_input.get("notify", True),
            "refundLineItems": lines,
            "transactions": transactions,
        }
        state["refunds"].append(refund)
        order["refunds"].append(refund)
        return {"refund": {"id": refund["id"], "note": refund["note"]}, "userErrors": []}

    def create_gift_card(self, card_input: dict) -> dict:
        cards = self.server.state["gift_cards"]
        code = str(card_input.get("code") or "")
        if not re.fullmatch(r"[A-Za-z0-9]{8,20}", code):
            return {
                "giftCard": None,
                "giftCardCode": None,
                "userErrors": [
                    {"field": ["input", "code"], "message": "Code is invalid", "code": "INVALID"}
                ],
            }
        if any(card["code"].lower() == code.lower() for card in cards):
            return {
                "giftCard": None,
                "giftCardCode": None,
                "userErrors": [
                    {
                        "field": ["input", "code"],
                        "message": "Code has already been taken",
                        "code": "TAKEN",
                    }
                ],
            }
        card = {
            "id": f"gid://shopify/GiftCard/{600 + len(cards)}",
            "code": code,
            "initialValue": f"{Decimal(str(card_input.get('initialValue') or 0)):.2f}",
            "note": card_input.get("note"),
        }
        cards.append(card)
        return {"giftCard": {"id": card["id"]}, "giftCardCode": code, "userErrors": []}

    def answer(self, status, payload, headers=None):
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


def operation(query: str) -> str:
    """The root field a query or mutation asks (the first field inside its outer braces)."""
    match = re.search(r"\{\s*(\w+)", query)
    return match.group(1) if match else ""


def failed(field: list[str], message: str) -> dict:
    return {"refund": None, "userErrors": [{"field": field, "message": message}]}


def cost(state: dict, available: int | None = None) -> dict:
    return {
        "cost": {
            "requestedQueryCost": QUERY_COST,
            "actualQueryCost": None if available == 0 else QUERY_COST - 40,
            "throttleStatus": {
                "maximumAvailable": BUCKET,
                "currentlyAvailable": state["available"] if available is None else available,
                "restoreRate": state["restore_rate"],
            },
        }
    }


@contextmanager
def running_shopify() -> Iterator[tuple[str, dict]]:
    """The stand-in on a free loopback port: ``(shop URL, state)``. The state holds the
    ``orders`` it has (nodes as ``shopify_order`` makes them), the ``calls`` it got
    (monotonic time, root field, variables), ``refunds``, ``gift_cards`` and ``stock`` (by
    SKU) it made, and ``answers``, ``fail_from_call``, ``throttled``, ``restore_rate``, ``available`` and ``slow_mutations`` to
    steer it (the module's docstring)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), ShopifyStandIn)
    server.handle_error = lambda request, client_address: None
    server.state = {
        "orders": [],
        "calls": [],
        "answers": [],
        "throttled": 0,
        "fail_from_call": None,
        "restore_rate": 100.0,
        "available": BUCKET - QUERY_COST,
        "slow_mutations": 0,
        "refunds": [],
        "gift_cards": [],
        "stock": {},
    }
    with serving(server):
        yield f"http://127.0.0.1:{server.server_port}", server.state
