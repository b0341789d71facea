"""Mollie's API v2 as a stand-in on loopback: the payment provider the Mollie tests call.

It follows Mollie's documented contract (docs.mollie.com: "Authentication", "Handling errors",
"API idempotency", Payments API, Refunds API):

- ``Authorization: Bearer`` with an API key starting ``test_`` or ``live_``; a missing or
  unknown key is 401.
- ``GET /v2/payments`` (``limit``), ``GET /v2/payments/{id}``,
  ``GET /v2/payments/{id}/refunds``, ``POST /v2/payments/{id}/refunds`` (``amount`` with
  ``currency`` and ``value``, ``description``, ``metadata``) and
  ``GET /v2/payments/{id}/refunds/{refund id}``; lists are HAL (``count``, ``_embedded``,
  ``_links``).
- A refund's amount is in the payment's currency, above zero and at most what is left to
  refund (422 otherwise, naming the ``field``); a refund starts ``pending``, and ``settle``
  moves it on as Mollie would (``processing``, ``refunded``, ``failed``, ``canceled``).
- ``Idempotency-Key``: a POST with a key seen before answers the first answer again, with
  ``Idempotent-Replayed: true``, and does nothing.
- Errors are ``application/hal+json`` with ``status``, ``title``, ``detail`` and a
  documentation link; ``answers`` (``(status, detail)``) are given before anything else is
  done, e.g. ``(429, …)`` as Mollie rate-limits; ``slow_posts`` makes a POST do its work and
  answer only after that many seconds (a timeout mid-refund).
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from serving import serving

API_KEY = "test_standinDHar4XY7LxsDOtmnkVtjNVWXLSlXsM"
PAYMENT_ID = "tr_WDqYK6vllg"
PAYMENT = re.compile(r"^/v2/payments/(tr_\w+)$")
REFUNDS = re.compile(r"^/v2/payments/(tr_\w+)/refunds$")
REFUND = re.compile(r"^/v2/payments/(tr_\w+)/refunds/(re_\w+)$")
TITLES = {
    400: "Bad Request",
    401: "Unauthorized Request",
    404: "Not Found",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def payment(payment_id: str = PAYMENT_ID, value: str = "44.90", currency: str = "EUR") -> dict:
    """A paid payment as ``GET /v2/payments/{id}`` shows it (the fields a refund needs)."""
    return {
        "resource": "payment",
        "id": payment_id,
        "mode": "test",
        "createdAt": "2026-11-28T09:00:00+00:00",
        "amount": {"value": value, "currency": currency},
        "description": "Order 2001",
        "method": "ideal",
        "status": "paid",
        "paidAt": "2026-11-28T09:01:00+00:00",
        "amountRefunded": {"value": "0.00", "currency": currency},
        "amountRemaining": {"value": value, "currency": currency},
        "_links": {"self": {"href": f"https://api.mollie.com/v2/payments/{payment_id}"}},
    }


def settle(state: dict, refund_id: str, status: str) -> None:
    """Mollie moves a refund on (``processing``, ``refunded``, ``failed``, ``canceled``)."""
    for refunds in state["refunds"].values():
        for refund in refunds:
            if refund["id"] == refund_id:
                refund["status"] = status


def error(status: int, detail: str, field: str | None = None) -> dict:
    body = {
        "status": status,
        "title": TITLES.get(status, "Error"),
        "detail": detail,
        "_links": {
            "documentation": {
                "href": "https://docs.mollie.com/overview/handling-errors",
                "type": "text/html",
            }
        },
    }
    if field:
        body["field"] = field
    return body


def cents(value: str) -> int:
    return int(Decimal(value) * 100)


class MollieStandIn(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    @property
    def state(self) -> dict:
        return self.server.state  # type: ignore[attr-defined]

    def authorised(self) -> bool:
        auth = self.headers.get("Authorization", "")
        if auth == f"Bearer {self.state['api_key']}":
            return True
        self.answer(401, error(401, "Missing authentication, or failed to authenticate"))
        return False

    def do_GET(self):
        parts = urlsplit(self.path)
        self.state["calls"].append(("GET", parts.path, None))
        if not self.authorised() or self.canned():
            return
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if parts.path == "/v2/payments":
            shown = list(self.state["payments"].values())[: int(query.get("limit", 50))]
            return self.answer(200, hal_list("payments", shown, parts.path))
        if match := PAYMENT.match(parts.path):
            found = self.state["payments"].get(match[1])
            return self.answer(200, found) if found else self.no_payment(match[1])
        if match := REFUNDS.match(parts.path):
            if match[1] not in self.state["payments"]:
                return self.no_payment(match[1])
            return self.answer(
                200, hal_list("refunds", self.state["refunds"].get(match[1], []), parts.path)
            )
        if match := REFUND.match(parts.path):
            for refund in self.state["refunds"].get(match[1], []):
                if refund["id"] == match[2]:
                    return self.answer(200, refund)
            return self.answer(404, error(404, f"No refund exists with token {match[2]}."))
        return self.answer(404, error(404, "The requested resource could not be found."))

    def do_POST(self):
        parts = urlsplit(self.path)
        key = self.headers.get("Idempotency-Key")
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.state["calls"].append(("POST", parts.path, key))
        if not self.authorised() or self.canned():
            return
        if key and key in self.state["replies"]:
            status, body = self.state["replies"][key]
            return self.answer(status, body, {"Idempotent-Replayed": "true"})
        match = REFUNDS.match(parts.path)
        if not match:
            return self.answer(404, error(404, "The requested resource could not be found."))
        status, body = self.create_refund(match[1], json.loads(raw or b"{}"))
        if key:
            self.state["replies"][key] = (status, body)
        if self.state["slow_posts"]:
            time.sleep(self.state["slow_posts"])
        return self.answer(status, body)

    def create_refund(self, payment_id: str, body: dict) -> tuple[int, dict]:
        paid = self.state["payments"].get(payment_id)
        if paid is None:
            return 404, error(404, f"No payment exists with token {payment_id}.")
        amount = body.get("amount") or {}
        try:
            asked = cents(str(amount.get("value")))
        except (InvalidOperation, ValueError):
            return 422, error(422, "The amount is invalid", field="amount.value")
        if amount.get("currency") != paid["amount"]["currency"]:
            return 422, error(
                422, "The currency does not match the payment's currency", field="amount.currency"
            )
        refunds = self.state["refunds"].setdefault(payment_id, [])
        refunded = sum(
            cents(r["amount"]["value"])
            for r in refunds
            if r["status"] not in ("failed", "canceled")
        )
        if asked <= 0 or asked > cents(paid["amount"]["value"]) - refunded:
            return 422, error(
                422,
                "The amount is higher than the amount that is refundable for this payment",
                field="amount",
            )
        refund_id = f"re_{uuid.uuid4().hex[:10]}"
        refund = {
            "resource": "refund",
            "id": refund_id,
            "amount": {"value": amount["value"], "currency": amount["currency"]},
            "status": self.state["new_refund_status"],
            "createdAt": datetime.now(UTC).isoformat(timespec="seconds"),
            "description": body.get("description", ""),
            "metadata": body.get("metadata"),
            "paymentId": payment_id,
            "_links": {
                "self": {
                    "href": f"https://api.mollie.com/v2/payments/{payment_id}/refunds/{refund_id}"
                }
            },
        }
        refunds.append(refund)
        return 201, refund

    def canned(self) -> bool:
        """Give the next canned answer, if any (a 429, a 500, a refusal)."""
        if not self.state["answers"]:
            return False
        status, detail = self.state["answers"].pop(0)
        headers = {"Retry-After": "1"} if status == 429 else None
        self.answer(status, error(status, detail), headers)
        return True

    def no_payment(self, payment_id: str):
        return self.answer(404, error(404, f"No payment exists with token {payment_id}."))

    def answer(self, status: int, payload: dict, headers: dict | None = None):
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/hal+json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


def hal_list(name: str, items: list[dict], path: str) -> dict:
    return {
        "count": len(items),
        "_embedded": {name: items},
        "_links": {
            "self": {"href": f"https://api.mollie.com{path}"},
            "previous": None,
            "next": None,
        },
    }


@contextmanager
def running_mollie() -> Iterator[tuple[str, dict]]:
    """The stand-in on a free loopback port: ``(API endpoint, state)``. The state holds the
    ``api_key`` it accepts, its ``payments`` (by id; one paid payment of €44.90 to begin
    with), the ``refunds`` it made (by payment id), the ``calls`` it got (method, path,
    Idempotency-Key), the ``replies`` it keeps per idempotency key, and ``answers``,
    ``slow_posts`` and ``new_refund_status`` to steer it."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), MollieStandIn)
    # A client that gave up waiting (the timeout tests) leaves a broken pipe: not news.
    server.handle_error = lambda request, client_address: None  # type: ignore[method-assign]
    server.state = {  # type: ignore[attr-defined]
        "api_key": API_KEY,
        "payments": {PAYMENT_ID: payment()},
        "refunds": {},
        "calls": [],
        "replies": {},
        "answers": [],
        "slow_posts": 0,
        "new_refund_status": "pending",
    }
    with serving(server):
        yield f"http://127.0.0.1:{server.server_port}", server.state  # type: ignore[attr-defined]
