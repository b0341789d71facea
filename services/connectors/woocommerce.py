"""WooCommerce's REST API v3 (``/wp-json/wc/v3``): orders in, webhooks verified, refunds and
store credit out.

Authentication is the consumer key and secret as HTTP Basic, which WooCommerce accepts over
HTTPS only; plain http is allowed for a shop on loopback while ``OUTBOUND_ALLOW_PRIVATE`` is
on (development, the test suite's stand-in). Every call goes through ``services.outbound``
(no private addresses, no redirects, a timeout). A 429 (after its ``Retry-After``), a 5xx or
an unreachable shop is tried again with backoff a bounded number of times, then reported.

The sync's cursor is ``"<modified_after>|<page>"``: the orders changed after that moment
(GMT), oldest change first, from that page. After a page the cursor moves to one second
before the page's last change, so orders changed in the same second as a page boundary are
fetched again (the upsert is idempotent) rather than lost; only a full page of orders changed
in one second moves the page number on instead.

A refund is ``POST /orders/{id}/refunds`` with ``api_refund`` (the payment gateway pays it
back), ``api_restock`` (the shop's choice) and the lines by WooCommerce's line item ids, found
by their SKU in the order as WooCommerce has it now. Store credit is a single-use coupon for
the customer's email. Both carry ReturnDesk's idempotency key in ``meta_data``; before
creating, the connector looks for one carrying the key (a refund of the order; the coupon's
code, which is derived from the key), so a retry after a timeout never pays twice. Each call
is one attempt: the refund job retries with backoff.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode, urlsplit

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
from services.order_import import OrderData, OrderLineData

API_PATH = "/wp-json/wc/v3"
PER_PAGE = 50
SIGNATURE_HEADER = "X-WC-Webhook-Signature"
COUNTRY_FALLBACK = "NL"
# The meta_data key of a refund or coupon that carries ReturnDesk's idempotency key.
KEY_META = "_returndesk_idempotency_key"


def redirect_hint(reason: str) -> str:
    """What to enter instead when the shop redirects."""
    return _(
        "The shop answered with a redirect (%(reason)s). Enter the address the "
        "shop really uses (https://, with or without www.).",
        reason=reason,
    )


@dataclass
class WooCommerce:
    """A WooCommerce shop at ``base_url`` (its home page address, e.g. https://shop.example)."""

    base_url: str
    consumer_key: str
    consumer_secret: str
    webhook_secret: str | None = None
    language: str = "nl"
    retry: RetryPolicy | None = None

    # --- the interface ------------------------------------------------------------------------

    def fetch_orders_since(self, cursor: str | None) -> OrdersPage:
        after, page = parse_cursor(cursor)
        params: dict[str, Any] = {
            "orderby": "modified",
            "order": "asc",
            "per_page": page_size(),
            "page": page,
            "dates_are_gmt": "true",
        }
        if after is not None:
            params["modified_after"] = after.strftime("%Y-%m-%dT%H:%M:%S")
        payloads, headers = self._get("/orders", params)
        orders, skipped = self._map_all(payloads)
        full = len(payloads) >= page_size()
        total_pages = headers.get("x-wp-totalpages")
        more = page < int(total_pages) if total_pages and total_pages.isdigit() else full
        return OrdersPage(orders, next_cursor(after, page, orders, full), skipped, more=more)

    def fetch_order(self, number: str) -> PlatformOrder | None:
        wanted = number.strip().lstrip("#").strip()
        payloads, _headers = self._get("/orders", {"search": wanted, "per_page": 20})
        for payload in payloads:
            if str(payload.get("number", "")).lower() == wanted.lower():
                return self.map_order(payload)
        return None

    def verify_webhook(self, headers: Mapping[str, str], raw_body: bytes) -> bool:
        signature = headers.get(SIGNATURE_HEADER) or ""
        if not self.webhook_secret or not signature:
            return False
        return hmac.compare_digest(signature.encode(), sign(self.webhook_secret, raw_body).encode())

    def parse_webhook_order(self, raw_body: bytes) -> PlatformOrder | None:
        try:
            payload = json.loads(raw_body)
        except ValueError:
            return None  # WooCommerce's ping on saving a webhook: "webhook_id=12"
        if not isinstance(payload, dict) or "line_items" not in payload:
            return None
        return self.map_order(payload)

    def test_connection(self) -> None:
        self._get("/orders", {"per_page": 1}, ONE_ATTEMPT)

    def refund(
        self,
        order: str,
        amount_cents: int,
        lines: Sequence[RefundLine],
        idempotency_key: str,
        restock: bool,
    ) -> Payout:
        payload = self._order_payload(order)
        path = f"/orders/{payload['id']}/refunds"
        refunds, _headers = self._get(path, {"per_page": 100}, ONE_ATTEMPT)
        if made := next((r for r in refunds if carries_key(r, idempotency_key)), None):
            return Payout(str(made["id"]))
        body = {
            "amount": amount(amount_cents),
            "reason": f"ReturnDesk {idempotency_key}",
            "api_refund": True,
            "api_restock": restock,
            "line_items": refund_items(payload, lines),
            "meta_data": [{"key": KEY_META, "value": idempotency_key}],
        }
        created = self._post(path, body)
        return Payout(str(created.get("id", "")))

    def issue_store_credit(self, email: str, amount_cents: int, idempotency_key: str) -> Payout:
        code = credit_code(idempotency_key)
        found, _headers = self._get("/coupons", {"code": code}, ONE_ATTEMPT)
        if any(str(c.get("code", "")).upper() == code for c in found):
            return Payout(code)
        self._post(
            "/coupons",
            {
                "code": code,
                "discount_type": "fixed_cart",
                "amount": amount(amount_cents),
                "individual_use": False,
                "usage_limit": 1,
                "usage_limit_per_user": 1,
                "email_restrictions": [email],
                "description": f"ReturnDesk {idempotency_key}",
                "meta_data": [{"key": KEY_META, "value": idempotency_key}],
            },
        )
        return Payout(code)

    def _order_payload(self, number: str) -> dict:
        """The order as WooCommerce has it now (its id and line item ids)."""
        wanted = number.strip().lstrip("#").strip()
        payloads, _headers = self._get("/orders", {"search": wanted, "per_page": 20}, ONE_ATTEMPT)
        for payload in payloads:
            if str(payload.get("number", "")).lower() == wanted.lower():
                return payload
        raise ConnectorError(_("WooCommerce has no order %(number)s.", number=wanted))

    # --- mapping ------------------------------------------------------------------------------

    def map_order(self, payload: dict) -> PlatformOrder:
        """A WooCommerce order as ``OrderData``; ``ConnectorError`` when it cannot be one."""
        try:
            order = OrderData.model_validate(self.order_fields(payload))
            modified = gmt(payload, "date_modified") or order.ordered_at
        except (ValidationError, ValueError, TypeError, AttributeError) as error:
            raise ConnectorError(
                _(
                    "WooCommerce order %(number)s cannot be read: %(reason)s",
                    number=payload.get("number") or payload.get("id"),
                    reason=first_problem(error),
                )
            ) from error
        return PlatformOrder(order, modified)

    def order_fields(self, payload: dict) -> dict[str, Any]:
        """The fields of ``OrderData`` from a WooCommerce order (checked by the caller)."""
        billing = payload.get("billing") or {}
        shipping = payload.get("shipping") or {}
        address = shipping if shipping.get("address_1") else billing
        name = " ".join(
            part
            for part in (billing.get("first_name"), billing.get("last_name"))
            if part and part.strip()
        )
        country = (address.get("country") or billing.get("country") or "").upper()
        return {
            "number": str(payload.get("number") or payload.get("id") or ""),
            "customer_name": (name or billing.get("company") or billing.get("email") or "")[:200],
            "customer_email": (billing.get("email") or "").strip(),
            "customer_postcode": (address.get("postcode") or "").strip()[:20] or None,
            "customer_street": street(address),
            "customer_city": (address.get("city") or "").strip()[:100] or None,
            "customer_country": country if len(country) == 2 else COUNTRY_FALLBACK,
            "customer_language": self.language,
            "ordered_at": gmt(payload, "date_created") or datetime.now(UTC),
            "delivered_at": delivered_at(payload),
            "currency": (payload.get("currency") or "EUR").upper(),
            "lines": [map_line(item) for item in payload.get("line_items") or []],
        }

    def _map_all(self, payloads: list[dict]) -> tuple[list[PlatformOrder], list[str]]:
        orders, skipped = [], []
        for payload in payloads:
            try:
                orders.append(self.map_order(payload))
            except ConnectorError as error:
                skipped.append(str(error))
        return orders, skipped

    # --- HTTP ---------------------------------------------------------------------------------

    def api_url(self, path: str, params: dict[str, Any]) -> str:
        return f"{self.base_url.rstrip('/')}{API_PATH}{path}?{urlencode(params)}"

    def _get(
        self, path: str, params: dict[str, Any], retry: RetryPolicy | None = None
    ) -> tuple[list[dict], dict[str, str]]:
        """GET an API path; its JSON list and headers (lower-cased names)."""
        response, url = self._send("GET", path, params, None, retry)
        return self._read(response, url)

    def _post(self, path: str, body: dict[str, Any]) -> dict:
        """POST a JSON object to an API path, once; the object WooCommerce made."""
        response, url = self._send("POST", path, {}, json.dumps(body).encode(), ONE_ATTEMPT)
        data, _headers = self._checked(response, url)
        if not isinstance(data, dict):
            raise ConnectorError(
                _(
                    "WooCommerce answered HTTP %(status)s: %(message)s",
                    status=response.status,
                    message="-",
                )
            )
        return data

    def _send(
        self,
        method: str,
        path: str,
        params: dict[str, Any],
        body: bytes | None,
        retry: RetryPolicy | None,
    ) -> tuple[outbound.Response, str]:
        """Ask the API, trying again as ``retry`` says; the final response and the URL asked.
        ``ConnectorError`` (retryable) when every attempt failed."""
        self._check_scheme()
        policy = retry or self.retry or RetryPolicy.from_config()
        url = self.api_url(path, params)
        last_problem = ""
        for attempt in range(policy.attempts):
            response, last_problem, retry_after = self._attempt(method, url, policy, body)
            if response is not None:
                return response, url
            if attempt + 1 < policy.attempts:
                time.sleep(policy.wait(attempt, retry_after))
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

    def _attempt(
        self, method: str, url: str, policy: RetryPolicy, body: bytes | None = None
    ) -> tuple[outbound.Response | None, str, str | None]:
        """One request: the response when it is final, else why it failed and the wait asked."""
        token = base64.b64encode(f"{self.consumer_key}:{self.consumer_secret}".encode()).decode()
        headers = {"Authorization": f"Basic {token}", "Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        response, problem = send(method, url, headers, policy, redirect_hint, body=body)
        if response is None:
            return None, problem, None
        if throttled := too_many_requests(response, "WooCommerce"):
            return None, *throttled
        if response.status >= 500:
            if message := error_message(response):
                problem = _(
                    "WooCommerce answered HTTP %(status)s: %(message)s",
                    status=response.status,
                    message=message,
                )
                return None, problem, None
            return None, _("WooCommerce answered HTTP %(status)s.", status=response.status), None
        return response, "", None

    def _read(self, response: outbound.Response, url: str) -> tuple[list[dict], dict[str, str]]:
        data, headers = self._checked(response, url)
        if not isinstance(data, list):
            raise ConnectorError(
                _(
                    "WooCommerce answered HTTP %(status)s: %(message)s",
                    status=response.status,
                    message="-",
                )
            )
        return [item for item in data if isinstance(item, dict)], headers

    def _checked(self, response: outbound.Response, url: str) -> tuple[Any, dict[str, str]]:
        """The JSON of a final response and its headers; ``ConnectorError`` for an error."""
        headers = {name.lower(): value for name, value in response.headers.items()}
        try:
            data = json.loads(response.body)
        except ValueError:
            data = None
        message = data.get("message") if isinstance(data, dict) else None
        if response.status in (401, 403):
            raise ConnectorError(
                _(
                    "HTTP %(status)s: WooCommerce refused the consumer key or secret "
                    "(%(message)s). Check both, and that the key may read orders.",
                    status=response.status,
                    message=message or "-",
                )
            )
        if response.status == 404 or not isinstance(data, (list, dict)):
            raise ConnectorError(
                _(
                    "This is not a WooCommerce shop: no WooCommerce REST API at %(url)s "
                    "(HTTP %(status)s). Check the shop URL, and that WooCommerce is active.",
                    url=url.split("?", 1)[0],
                    status=response.status,
                )
            )
        if response.status >= 400:
            raise ConnectorError(
                _(
                    "WooCommerce answered HTTP %(status)s: %(message)s",
                    status=response.status,
                    message=message or "-",
                )
            )
        return data, headers

    def _check_scheme(self) -> None:
        if problem := scheme_problem(self.base_url):
            raise ConnectorError(problem)


def scheme_problem(base_url: str) -> str | None:
    """Why the keys may not be sent to ``base_url``: only over HTTPS (plain http to loopback
    while ``OUTBOUND_ALLOW_PRIVATE`` is on)."""
    parts = urlsplit(base_url)
    if parts.scheme == "https" and parts.hostname:
        return None
    if (
        parts.scheme == "http"
        and is_loopback(parts.hostname)
        and outbound.private_targets_allowed()
    ):
        return None
    return _("Use the shop's https:// address: WooCommerce accepts the keys over HTTPS only.")


def address_problem(base_url: str) -> str | None:
    """Why a shop URL typed in the admin cannot be saved (not https, a private address), or
    ``None``; a name that does not resolve yet is accepted, "Test connection" tells."""
    return scheme_problem(base_url) or outbound.refusal(base_url)


def page_size() -> int:
    return int(current_app.config.get("CONNECTOR_PAGE_SIZE", PER_PAGE))


def is_loopback(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False


def sign(secret: str, raw_body: bytes) -> str:
    """WooCommerce's ``X-WC-Webhook-Signature``: base64 of the body's HMAC-SHA256."""
    digest = hmac.new(secret.encode(), raw_body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def parse_cursor(cursor: str | None) -> tuple[datetime | None, int]:
    """``(modified_after, page)`` of a cursor; ``(None, 1)`` for none."""
    if not cursor:
        return None, 1
    moment, _sep, page = cursor.partition("|")
    return datetime.fromisoformat(moment).replace(tzinfo=UTC), int(page or 1)


def next_cursor(
    after: datetime | None, page: int, orders: list[PlatformOrder], full: bool
) -> str | None:
    """Where the next page starts (see the module's docstring); the cursor stays put when the
    page brought nothing."""
    if not orders:
        return format_cursor(after, 1) if after else None
    moved = max(order.modified_at for order in orders).astimezone(UTC) - timedelta(seconds=1)
    if after is not None and moved <= after:
        return format_cursor(after, page + 1 if full else 1)
    return format_cursor(moved, 1)


def format_cursor(after: datetime | None, page: int) -> str | None:
    if after is None:
        return None
    return f"{after.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%S')}|{page}"


def gmt(payload: dict, name: str) -> datetime | None:
    """A WooCommerce date: ``<name>_gmt`` (no zone, GMT), else ``<name>`` (the shop's zone)."""
    text = payload.get(f"{name}_gmt") or payload.get(name)
    if not text:
        return None
    moment = datetime.fromisoformat(str(text))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def delivered_at(payload: dict) -> datetime | None:
    """WooCommerce knows no delivery: a completed order counts as delivered when completed
    (or, lacking that date, when paid), like the CSV's ``delivered_at``."""
    if payload.get("status") != "completed":
        return None
    return gmt(payload, "date_completed") or gmt(payload, "date_paid")


def street(address: dict) -> str | None:
    text = " ".join(
        part.strip() for part in (address.get("address_1"), address.get("address_2")) if part
    )
    return text[:200] or None


def cents(value: Any) -> int:
    try:
        return int((Decimal(str(value or "0")) * 100).quantize(Decimal("1")))
    except InvalidOperation as error:
        raise ValueError(f"not an amount: {value!r}") from error


def map_line(item: dict) -> OrderLineData:
    """A line item: the price before discounts per item, the discount on the whole line."""
    quantity = max(int(item.get("quantity") or 1), 1)
    subtotal = cents(
        item.get("subtotal") if item.get("subtotal") is not None else item.get("total")
    )
    total = cents(item.get("total"))
    unit = round(subtotal / quantity)
    image = (item.get("image") or {}).get("src") or None
    return OrderLineData.model_validate(
        {
            "sku": (item.get("sku") or f"woo-{item.get('product_id') or item.get('id')}")[:64],
            "product_name": (item.get("name") or "-")[:200],
            "variant": variant(item),
            "quantity": quantity,
            "unit_price_cents": max(unit, 0),
            "discount_cents": max(unit * quantity - total, 0),
            "image_url": image,
        }
    )


def variant(item: dict) -> str | None:
    """A variation's attributes as the shop shows them ("Size: M, Colour: Blue")."""
    if not item.get("variation_id"):
        return None
    shown = [
        f"{meta.get('display_key') or meta.get('key')}: {meta.get('display_value') or meta.get('value')}"
        for meta in item.get("meta_data") or []
        if isinstance(meta, dict)
        and not str(meta.get("key", "")).startswith("_")
        and isinstance(meta.get("display_value") or meta.get("value"), str)
    ]
    return (", ".join(shown) or f"#{item['variation_id']}")[:120]


def first_problem(error: Exception) -> str:
    if isinstance(error, ValidationError):
        problem = error.errors()[0]
        return f"{'.'.join(str(part) for part in problem['loc'])}: {problem['msg']}"
    return str(error)


def error_message(response: outbound.Response) -> str | None:
    """The ``message`` of WooCommerce's (WordPress's) error body, if it has one."""
    try:
        data = json.loads(response.body)
    except ValueError:
        return None
    message = data.get("message") if isinstance(data, dict) else None
    return str(message) if message else None


def amount(cents: int) -> str:
    """Cents as WooCommerce writes an amount: "12.50"."""
    return f"{Decimal(cents) / 100:.2f}"


def carries_key(made: dict, idempotency_key: str) -> bool:
    """Whether a refund or coupon WooCommerce has was made by ReturnDesk with this key."""
    return any(
        isinstance(meta, dict)
        and meta.get("key") == KEY_META
        and meta.get("value") == idempotency_key
        for meta in made.get("meta_data") or []
    )


def line_sku(item: dict) -> str:
    """A line item's SKU as ``map_line`` imports it."""
    return (item.get("sku") or f"woo-{item.get('product_id') or item.get('id')}")[:64]


def refund_items(payload: dict, lines: Sequence[RefundLine]) -> list[dict[str, Any]]:
    """The refund's ``line_items``: each line by the id of the order's line item with its SKU
    (the next unused one when the order has the SKU twice)."""
    items = [item for item in payload.get("line_items") or [] if isinstance(item, dict)]
    used: set[Any] = set()
    chosen = []
    for line in lines:
        if line.quantity <= 0 and line.amount_cents <= 0:
            continue
        item = next((i for i in items if line_sku(i) == line.sku and i.get("id") not in used), None)
        if item is None:
            raise ConnectorError(
                _(
                    "WooCommerce order %(number)s has no line with SKU %(sku)s.",
                    number=payload.get("number"),
                    sku=line.sku,
                )
            )
        used.add(item.get("id"))
        chosen.append(
            {"id": item["id"], "quantity": line.quantity, "refund_total": amount(line.amount_cents)}
        )
    return chosen


def credit_code(idempotency_key: str) -> str:
    """The store credit's coupon code: unguessable (an HMAC of the key with the app's secret
    key) and the same for the same key, so a retry finds the coupon it made."""
    secret = str(current_app.config["SECRET_KEY"]).encode()
    digest = hmac.new(secret, f"store-credit:{idempotency_key}".encode(), hashlib.sha256).digest()
    letters = base64.b32encode(digest[:10]).decode()
    return "RD-" + "-".join(letters[i : i + 4] for i in range(0, 16, 4))
