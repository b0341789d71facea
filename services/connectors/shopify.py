"""Shopify's Admin GraphQL API at a pinned version: orders in, webhooks verified, refunds and
store credit (a gift card) out.

Every call is ``POST https://{shop}.myshopify.com/admin/api/{API_VERSION}/graphql.json`` with
the app's access token in ``X-Shopify-Access-Token``, through ``services.outbound`` (no
private addresses, no redirects, a timeout); plain http is allowed for a shop on loopback
while ``OUTBOUND_ALLOW_PRIVATE`` is on (the test suite's stand-in). Shopify limits by query
cost: an answer with a ``THROTTLED`` error is asked again after the time its
``extensions.cost.throttleStatus`` needs to restore the points asked; a 429 after its
``Retry-After``; a 5xx or an unreachable shop with backoff; a bounded number of times. And
before it is throttled at all: when an answer leaves fewer points than it cost, the next
query (the sync's next page) waits until they are restored.

The sync's cursor is ``"<updated_at>|<page cursor>"``: the orders with
``updated_at:>=<updated_at>``, sorted by ``UPDATED_AT``, after Shopify's page cursor. After the
last page the moment moves to the newest change seen and the page cursor is dropped, so
orders changed in that same second are fetched again (the upsert is idempotent) rather than
lost.

A webhook's body is the order in the REST shape; rather than a second mapping, the connector
reads the order by its name through GraphQL (its newest version, mapped once).

A refund is ``refundCreate`` with the lines by Shopify's line item ids (found by SKU),
``restockType`` ``RETURN`` or ``NO_RESTOCK`` per the shop's choice, a ``REFUND`` transaction
against the order's paid transaction, and ``notify: false`` (ReturnDesk emails the customer).
Its ``note`` carries ReturnDesk's idempotency key; before creating, the connector looks for a
refund of the order with that note. Store credit is ``giftCardCreate`` with a code derived
from the key: Shopify refuses a code that exists (``TAKEN``), which then is the card made
before. Each call is one attempt: the refund job retries with backoff.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import gettext as _
from pydantic import ValidationError

from services import outbound
from services.connectors import (
    ONE_ATTEMPT,
    ConnectorError,
    OrdersPage,
    Payout,
    PlatformOrder,
    RefundLine,
    RetryPolicy,
    send,
    too_many_requests,
)
from services.connectors.woocommerce import first_problem, is_loopback
from services.order_import import OrderData, OrderLineData

API_VERSION = "2025-01"
# Shopify refuses a query whose requested cost is above 1000 points; an order with 25 lines
# costs about 180 (7 a line), so pages are of 5 orders, and an order with more lines than
# LINES_PER_ORDER is reported as skipped rather than imported in part.
PER_PAGE = 5
LINES_PER_ORDER = 25
SIGNATURE_HEADER = "X-Shopify-Hmac-Sha256"
COUNTRY_FALLBACK = "NL"
NOTE_PREFIX = "ReturnDesk"

ORDER_FIELDS = """
fragment OrderFields on Order {
  id name email createdAt processedAt updatedAt currencyCode displayFulfillmentStatus
  customer { firstName lastName email }
  shippingAddress { firstName lastName address1 address2 city zip countryCodeV2 }
  billingAddress { firstName lastName address1 address2 city zip countryCodeV2 }
  fulfillments(first: 5) { createdAt deliveredAt location { id } }
  lineItems(first: 25) {
    pageInfo { hasNextPage }
    nodes {
      id sku name title variantTitle quantity
      originalUnitPriceSet { shopMoney { amount } }
      totalDiscountSet { shopMoney { amount } }
      image { url }
      variant { id }
    }
  }
}
"""

ORDERS_QUERY = (
    """
query ReturnDeskOrders($first: Int!, $after: String, $query: String) {
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {
    pageInfo { hasNextPage endCursor }
    nodes { ...OrderFields }
  }
}
"""
    + ORDER_FIELDS
)

LOOKUP_QUERY = (
    """
query ReturnDeskOrder($first: Int!, $query: String) {
  orders(first: $first, query: $query) {
    nodes { ...OrderFields }
  }
}
"""
    + ORDER_FIELDS
)

REFUNDABLE_QUERY = (
    """
query ReturnDeskRefundable($first: Int!, $query: String) {
  orders(first: $first, query: $query) {
    nodes {
      ...OrderFields
      refunds(first: 50) { id note }
      transactions(first: 20) { id gateway kind status }
    }
  }
}
"""
    + ORDER_FIELDS
)

SHOP_QUERY = "query ReturnDeskShop { shop { name } }"

REFUND_MUTATION = """
mutation ReturnDeskRefund($input: RefundInput!) {
  refundCreate(input: $input) {
    refund { id note }
    userErrors { field message }
  }
}
"""

GIFT_CARD_MUTATION = """
mutation ReturnDeskGiftCard($input: GiftCardCreateInput!) {
  giftCardCreate(input: $input) {
    giftCard { id }
    giftCardCode
    userErrors { field message code }
  }
}
"""


def redirect_hint(reason: str) -> str:
    """What to enter instead when Shopify redirects."""
    return _(
        "Shopify answered with a redirect (%(reason)s). Enter the shop's myshopify.com domain.",
        reason=reason,
    )


@dataclass
class Shopify:
    """A Shopify shop at ``base_url`` (``https://{shop}.myshopify.com``)."""

    base_url: str
    access_token: str
    app_secret: str | None = None
    language: str = "nl"
    retry: RetryPolicy | None = None
    # Seconds to wait before the next query: the last answer left too few points for another.
    pause: float = field(default=0.0, init=False)

    # --- the interface ------------------------------------------------------------------------

    def fetch_orders_since(self, cursor: str | None) -> OrdersPage:
        since, after = parse_cursor(cursor)
        variables = {
            "first": page_size(),
            "after": after,
            "query": f"updated_at:>='{since}'" if since else None,
        }
        found = self._graphql(ORDERS_QUERY, variables)["orders"]
        orders, skipped = self._map_all(found.get("nodes") or [])
        info = found.get("pageInfo") or {}
        if info.get("hasNextPage"):
            return OrdersPage(orders, f"{since or ''}|{info.get('endCursor') or ''}", skipped, True)
        newest = max((order.modified_at for order in orders), default=None)
        moved = newest.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if newest else since
        return OrdersPage(orders, f"{moved}|" if moved else None, skipped)

    def fetch_order(self, number: str) -> PlatformOrder | None:
        node = self._order_node(number, LOOKUP_QUERY)
        return self.map_order(node) if node else None

    def verify_webhook(self, headers: Mapping[str, str], raw_body: bytes) -> bool:
        signature = headers.get(SIGNATURE_HEADER) or ""
        if not self.app_secret or not signature:
            return False
        return hmac.compare_digest(signature.encode(), sign(self.app_secret, raw_body).encode())

    def parse_webhook_order(self, raw_body: bytes) -> PlatformOrder | None:
        try:
            payload = json.loads(raw_body)
        except ValueError:
            return None
        if not isinstance(payload, dict) or "line_items" not in payload or not payload.get("name"):
            return None
        return self.fetch_order(str(payload["name"]))

    def test_connection(self) -> None:
        shop = self._graphql(SHOP_QUERY, {}, ONE_ATTEMPT).get("shop")
        if not isinstance(shop, dict) or not shop.get("name"):
            raise ConnectorError(_("Shopify answered without the shop's name."))

    def refund(
        self,
        order: str,
        amount_cents: int,
        lines: Sequence[RefundLine],
        idempotency_key: str,
        restock: bool,
    ) -> Payout:
        node = self._order_node(order, REFUNDABLE_QUERY, ONE_ATTEMPT)
        if node is None:
            raise ConnectorError(_("Shopify has no order %(number)s.", number=order))
        note = f"{NOTE_PREFIX} {idempotency_key}"
        if made := next((r for r in node.get("refunds") or [] if r.get("note") == note), None):
            return Payout(str(made["id"]))
        refund_input = {
            "orderId": node["id"],
            "note": note,
            "notify": False,
            "refundLineItems": refund_items(node, lines, restock),
            "transactions": [refund_transaction(node, amount_cents)],
        }
        created = self._graphql(REFUND_MUTATION, {"input": refund_input}, ONE_ATTEMPT)
        result = created.get("refundCreate") or {}
        if errors := result.get("userErrors"):
            raise ConnectorError(
                _("Shopify refused the refund: %(message)s", message=user_errors(errors))
            )
        return Payout(str((result.get("refund") or {}).get("id", "")))

    def issue_store_credit(self, email: str, amount_cents: int, idempotency_key: str) -> Payout:
        code = credit_code(idempotency_key)
        card_input = {
            "initialValue": amount(amount_cents),
            "code": code,
            "note": f"{NOTE_PREFIX} {idempotency_key} for {email}",
        }
        created = self._graphql(GIFT_CARD_MUTATION, {"input": card_input}, ONE_ATTEMPT)
        errors = (created.get("giftCardCreate") or {}).get("userErrors") or []
        if errors and not all(error.get("code") == "TAKEN" for error in errors):
            raise ConnectorError(
                _("Shopify refused the gift card: %(message)s", message=user_errors(errors))
            )
        return Payout(code)

    def _order_node(self, number: str, query: str, retry: RetryPolicy | None = None) -> dict | None:
        """The order named ``number`` ("#1001" or "1001") as Shopify has it now."""
        wanted = number.strip().lstrip("#").strip()
        if not wanted:
            return None
        variables = {"first": 5, "query": f"name:'#{wanted}'"}
        found = self._graphql(query, variables, retry)["orders"]
        return next(
            (
                node
                for node in found.get("nodes") or []
                if str(node.get("name", "")).lstrip("#").lower() == wanted.lower()
            ),
            None,
        )

    # --- mapping ------------------------------------------------------------------------------

    def map_order(self, node: dict) -> PlatformOrder:
        """A Shopify order as ``OrderData``; ``ConnectorError`` when it cannot be one."""
        if ((node.get("lineItems") or {}).get("pageInfo") or {}).get("hasNextPage"):
            raise ConnectorError(
                _(
                    "Shopify order %(number)s has more than %(count)s lines; ReturnDesk "
                    "imports orders of up to %(count)s lines.",
                    number=node.get("name"),
                    count=LINES_PER_ORDER,
                )
            )
        try:
            order = OrderData.model_validate(self.order_fields(node))
            modified = moment(node.get("updatedAt")) or order.ordered_at
        except (ValidationError, ValueError, TypeError, AttributeError) as error:
            raise ConnectorError(
                _(
                    "Shopify order %(number)s cannot be read: %(reason)s",
                    number=node.get("name") or node.get("id"),
                    reason=first_problem(error),
                )
            ) from error
        return PlatformOrder(order, modified)

    def order_fields(self, node: dict) -> dict[str, Any]:
        """The fields of ``OrderData`` from a Shopify order (checked by the caller)."""
        customer = node.get("customer") or {}
        address = node.get("shippingAddress") or node.get("billingAddress") or {}
        name = " ".join(
            part
            for part in (
                customer.get("firstName") or address.get("firstName"),
                customer.get("lastName") or address.get("lastName"),
            )
            if part and part.strip()
        )
        email = (node.get("email") or customer.get("email") or "").strip()
        country = (address.get("countryCodeV2") or "").upper()
        street = " ".join(
            part.strip() for part in (address.get("address1"), address.get("address2")) if part
        )
        return {
            "number": str(node.get("name") or "").lstrip("#"),
            "customer_name": (name or email)[:200],
            "customer_email": email,
            "customer_postcode": (address.get("zip") or "").strip()[:20] or None,
            "customer_street": street[:200] or None,
            "customer_city": (address.get("city") or "").strip()[:100] or None,
            "customer_country": country if len(country) == 2 else COUNTRY_FALLBACK,
            "customer_language": self.language,
            "ordered_at": moment(node.get("processedAt") or node.get("createdAt"))
            or datetime.now(UTC),
            "delivered_at": delivered_at(node),
            "currency": (node.get("currencyCode") or "EUR").upper(),
            "lines": [map_line(item) for item in line_items(node)],
        }

    def _map_all(self, nodes: list[dict]) -> tuple[list[PlatformOrder], list[str]]:
        orders, skipped = [], []
        for node in nodes:
            try:
                orders.append(self.map_order(node))
            except ConnectorError as error:
                skipped.append(str(error))
        return orders, skipped

    # --- HTTP ---------------------------------------------------------------------------------

    def api_url(self) -> str:
        return f"{self.base_url.rstrip('/')}/admin/api/{API_VERSION}/graphql.json"

    def _graphql(
        self, query: str, variables: dict[str, Any], retry: RetryPolicy | None = None
    ) -> dict:
        """Ask the GraphQL API, trying again as ``retry`` says; the answer's ``data``.
        ``ConnectorError`` (retryable) when every attempt failed."""
        if problem := scheme_problem(self.base_url):
            raise ConnectorError(problem)
        policy = retry or self.retry or RetryPolicy.from_config()
        body = json.dumps({"query": query, "variables": variables}).encode()
        last_problem = ""
        for attempt in range(policy.attempts):
            if self.pause > 0:
                time.sleep(min(self.pause, policy.max_wait))
                self.pause = 0.0
            data, last_problem, wait = self._attempt(body, policy)
            if data is not None:
                return data
            if attempt + 1 < policy.attempts:
                time.sleep(policy.wait(attempt, wait))
        if policy.attempts == 1:
            raise ConnectorError(last_problem, retryable=True)
        raise ConnectorError(
            _(
                "%(problem)s Tried %(count)s times; the next sync tries again.",
                problem=last_problem,
                count=policy.attempts,
            ),
            retryable=True,
        )

    def _attempt(self, body: bytes, policy: RetryPolicy) -> tuple[dict | None, str, str | None]:
        """One request: its ``data`` when final, else why it failed and the wait asked."""
        headers = {
            "X-Shopify-Access-Token": self.access_token,
            "Content-Type": "application/json",
            "Accept": "application/json",
        }
        response, problem = send("POST", self.api_url(), headers, policy, redirect_hint, body=body)
        if response is None:
            return None, problem, None
        return self._read(response)

    def _read(self, response: outbound.Response) -> tuple[dict | None, str, str | None]:
        """An answer's ``data`` when final, else why to ask again and the wait asked."""
        if throttled := too_many_requests(response, "Shopify"):
            return None, *throttled
        if response.status >= 500:
            return None, _("Shopify answered HTTP %(status)s.", status=response.status), None
        answer = checked(response, self.api_url())
        if wait := throttle_wait(answer):
            return None, _("Shopify throttled the query (its cost limit)."), wait
        if errors := answer.get("errors"):
            raise ConnectorError(
                _("Shopify refused the query: %(message)s", message=user_errors(errors))
            )
        data = answer.get("data")
        if not isinstance(data, dict):
            raise ConnectorError(_("Shopify answered without data."))
        self.pause = max(restore_seconds(answer), 0.0)
        return data, "", None


def checked(response: outbound.Response, url: str) -> dict:
    """The JSON object of a final answer; ``ConnectorError`` for a refusal."""
    try:
        answer = json.loads(response.body)
    except ValueError:
        answer = None
    if response.status in (401, 403):
        message = answer.get("errors") if isinstance(answer, dict) else None
        raise ConnectorError(
            _(
                "HTTP %(status)s: Shopify refused the access token (%(message)s). Check the "
                "token, and that the app may read orders.",
                status=response.status,
                message=message or "-",
            )
        )
    if response.status == 404 or not isinstance(answer, dict):
        raise ConnectorError(
            _(
                "This is not a Shopify shop: no Admin API at %(url)s (HTTP %(status)s). Check "
                "the shop's myshopify.com domain.",
                url=url,
                status=response.status,
            )
        )
    if response.status >= 400:
        raise ConnectorError(
            _(
                "Shopify answered HTTP %(status)s: %(message)s",
                status=response.status,
                message=user_errors(answer.get("errors")) or "-",
            )
        )
    return answer


def throttle_wait(answer: dict) -> str | None:
    """Seconds until Shopify restored the points a throttled query asked (at least a tenth),
    or ``None`` when the query was not throttled."""
    errors = answer.get("errors")
    if not isinstance(errors, list) or not any(
        isinstance(error, dict) and (error.get("extensions") or {}).get("code") == "THROTTLED"
        for error in errors
    ):
        return None
    return f"{max(restore_seconds(answer), 0.1):.2f}"


def restore_seconds(answer: dict) -> float:
    """(points asked - points available) / restore rate, from the answer's
    ``extensions.cost``: how long until the bucket holds a query like this one again
    (negative: it does now; unreadable: one second)."""
    cost = (answer.get("extensions") or {}).get("cost") or {}
    status = cost.get("throttleStatus") or {}
    try:
        missing = float(cost.get("requestedQueryCost", 0)) - float(
            status.get("currentlyAvailable", 0)
        )
        return missing / float(status.get("restoreRate") or 50)
    except (TypeError, ValueError):
        return 1.0


def user_errors(errors: Any) -> str:
    """Shopify's error messages (``errors`` or ``userErrors``) in one line."""
    if isinstance(errors, str):
        return errors
    if not isinstance(errors, list):
        return ""
    return (
        "; ".join(str(error.get("message")) for error in errors if isinstance(error, dict))
        or json.dumps(errors)[:200]
    )


def shop_url(domain: str) -> str:
    """The shop's base URL from what an admin typed: ``fenna`` , ``fenna.myshopify.com`` or a
    full URL."""
    text = domain.strip().rstrip("/")
    if "://" in text:
        return text
    if "." not in text:
        text = f"{text}.myshopify.com"
    return f"https://{text}"


def scheme_problem(base_url: str) -> str | None:
    """Why the token may not be sent to ``base_url``: only to https://….myshopify.com (plain
    http to loopback while ``OUTBOUND_ALLOW_PRIVATE`` is on)."""
    parts = urlsplit(base_url)
    host = parts.hostname or ""
    if parts.scheme == "https" and host.endswith(".myshopify.com"):
        return None
    if parts.scheme == "http" and is_loopback(host) and outbound.private_targets_allowed():
        return None
    return _("Enter the shop's myshopify.com domain, e.g. fenna-fashion.myshopify.com.")


def page_size() -> int:
    return min(int(current_app.config.get("CONNECTOR_PAGE_SIZE", PER_PAGE)), PER_PAGE)


def sign(secret: str, raw_body: bytes) -> str:
    """Shopify's ``X-Shopify-Hmac-Sha256``: base64 of the raw body's HMAC-SHA256."""
    return base64.b64encode(hmac.new(secret.encode(), raw_body, hashlib.sha256).digest()).decode()


def parse_cursor(cursor: str | None) -> tuple[str | None, str | None]:
    """``(updated_at, page cursor)`` of a sync cursor; ``(None, None)`` for none."""
    if not cursor:
        return None, None
    since, _sep, after = cursor.partition("|")
    return since or None, after or None


def moment(text: Any) -> datetime | None:
    if not text:
        return None
    parsed = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def delivered_at(node: dict) -> datetime | None:
    """When the last fulfilment was delivered; a fulfilled order without a delivery date
    counts as delivered when fulfilled, like WooCommerce's "completed"."""
    fulfillments = [f for f in node.get("fulfillments") or [] if isinstance(f, dict)]
    delivered = [m for f in fulfillments if (m := moment(f.get("deliveredAt")))]
    if delivered:
        return max(delivered)
    if node.get("displayFulfillmentStatus") != "FULFILLED":
        return None
    created = [m for f in fulfillments if (m := moment(f.get("createdAt")))]
    return max(created) if created else None


def line_items(node: dict) -> list[dict]:
    items = (node.get("lineItems") or {}).get("nodes") or []
    return [item for item in items if isinstance(item, dict)]


def gid_number(gid: Any) -> str:
    """The number at the end of a Shopify global id (``gid://shopify/LineItem/12`` → 12)."""
    return str(gid or "").rsplit("/", 1)[-1]


def line_sku(item: dict) -> str:
    """A line item's SKU as ``map_line`` imports it."""
    fallback = gid_number((item.get("variant") or {}).get("id") or item.get("id"))
    return (item.get("sku") or f"shopify-{fallback}")[:64]


def cents(value: Any) -> int:
    try:
        return int((Decimal(str(value or "0")) * 100).quantize(Decimal("1")))
    except InvalidOperation as error:
        raise ValueError(f"not an amount: {value!r}") from error


def money(item: dict, name: str) -> int:
    return cents(((item.get(name) or {}).get("shopMoney") or {}).get("amount"))


def map_line(item: dict) -> OrderLineData:
    """A line item: the price before discounts per item, the discount on the whole line."""
    quantity = max(int(item.get("quantity") or 1), 1)
    variant = item.get("variantTitle")
    return OrderLineData.model_validate(
        {
            "sku": line_sku(item),
            "product_name": (item.get("title") or item.get("name") or "-")[:200],
            "variant": variant[:120] if variant and variant != "Default Title" else None,
            "quantity": quantity,
            "unit_price_cents": max(money(item, "originalUnitPriceSet"), 0),
            "discount_cents": max(money(item, "totalDiscountSet"), 0),
            "image_url": (item.get("image") or {}).get("url") or None,
        }
    )


def amount(cents_: int) -> str:
    """Cents as Shopify writes a decimal amount: "12.50"."""
    return f"{Decimal(cents_) / 100:.2f}"


def refund_items(node: dict, lines: Sequence[RefundLine], restock: bool) -> list[dict[str, Any]]:
    """The refund's ``refundLineItems``: each line by the id of the order's line item with its
    SKU (the next unused one when the order has the SKU twice), restocked at the location that
    fulfilled the order when the shop restocks."""
    items = line_items(node)
    location = next(
        (
            (f.get("location") or {}).get("id")
            for f in node.get("fulfillments") or []
            if (f.get("location") or {}).get("id")
        ),
        None,
    )
    used: set[Any] = set()
    chosen = []
    for line in lines:
        if line.quantity <= 0:
            continue
        item = next((i for i in items if line_sku(i) == line.sku and i.get("id") not in used), None)
        if item is None:
            raise ConnectorError(
                _(
                    "Shopify order %(number)s has no line with SKU %(sku)s.",
                    number=node.get("name"),
                    sku=line.sku,
                )
            )
        used.add(item.get("id"))
        entry: dict[str, Any] = {
            "lineItemId": item["id"],
            "quantity": line.quantity,
            "restockType": "RETURN" if restock else "NO_RESTOCK",
        }
        if restock and location:
            entry["locationId"] = location
        chosen.append(entry)
    return chosen


def refund_transaction(node: dict, amount_cents: int) -> dict[str, Any]:
    """A ``REFUND`` of ``amount_cents`` against the order's paid (sale or capture) transaction,
    so its payment gateway pays it back."""
    paid = next(
        (
            t
            for t in node.get("transactions") or []
            if t.get("kind") in ("SALE", "CAPTURE") and t.get("status") == "SUCCESS"
        ),
        None,
    )
    if paid is None:
        raise ConnectorError(
            _(
                "Shopify order %(number)s has no paid transaction to refund.",
                number=node.get("name"),
            )
        )
    return {
        "orderId": node["id"],
        "parentId": paid["id"],
        "gateway": paid.get("gateway") or "manual",
        "kind": "REFUND",
        "amount": amount(amount_cents),
    }


def credit_code(idempotency_key: str) -> str:
    """The gift card's code: 16 letters and digits (Shopify allows 8 to 20, nothing else),
    unguessable (an HMAC of the key with the app's secret key) and the same for the same key,
    so a retry meets the card it made."""
    secret = str(current_app.config["SECRET_KEY"]).encode()
    digest = hmac.new(secret, f"store-credit:{idempotency_key}".encode(), hashlib.sha256).digest()
    return base64.b32encode(digest[:10]).decode()[:16]
