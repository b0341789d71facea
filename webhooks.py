"""Webhooks: events for the shop's systems, written to the outbox and posted signed.

``emit(shop, event, payload)`` writes one ``WebhookDelivery`` row per subscribed endpoint in
the caller's transaction; tasks.py posts each after the commit, retries with backoff and the
sweeper picks up what was left. A receiver checks the signature like ``verify()`` does:
HMAC-SHA256 with the endpoint's secret over ``"{timestamp}.{body}"``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterable
from datetime import UTC
from typing import Any

from sqlalchemy import select

import outbound
from extensions import db
from models import Return, ReturnRequest, Shop, WebhookDelivery, WebhookEndpoint, utcnow

REQUEST_CREATED = "request.created"
REQUEST_STATUS_CHANGED = "request.status_changed"
MESSAGE_RECEIVED = "message.received"
RETURN_CREATED = "return.created"
RETURN_STATUS_CHANGED = "return.status_changed"
EVENTS = (
    REQUEST_CREATED,
    REQUEST_STATUS_CHANGED,
    MESSAGE_RECEIVED,
    RETURN_CREATED,
    RETURN_STATUS_CHANGED,
)

SIGNATURE_HEADER = "X-ReturnDesk-Signature"
TIMESTAMP_HEADER = "X-ReturnDesk-Timestamp"
EVENT_HEADER = "X-ReturnDesk-Event"
DELIVERY_HEADER = "X-ReturnDesk-Delivery"
TIMEOUT_SECONDS = 10
# A receiver should refuse signatures older than this, so a captured call cannot be replayed.
MAX_SIGNATURE_AGE = 300


class DeliveryFailed(Exception):
    """The receiver answered, but not with 2xx."""

    def __init__(self, status_code: int) -> None:
        super().__init__(f"HTTP {status_code}")
        self.status_code = status_code


def active_endpoints(shop_ids: Iterable[int]) -> dict[int, list[WebhookEndpoint]]:
    """The active endpoints of these shops, by shop; shops without any are left out."""
    by_shop: dict[int, list[WebhookEndpoint]] = {}
    for endpoint in db.session.scalars(
        select(WebhookEndpoint)
        .where(WebhookEndpoint.shop_id.in_(list(shop_ids)), WebhookEndpoint.active.is_(True))
        .order_by(WebhookEndpoint.id)
    ):
        by_shop.setdefault(endpoint.shop_id, []).append(endpoint)
    return by_shop


def emit(
    shop: Shop,
    event: str,
    payload: dict[str, Any],
    endpoints: list[WebhookEndpoint] | None = None,
) -> list[WebhookDelivery]:
    """Queue ``event`` for every active endpoint of ``shop`` that subscribed to it.

    ``payload`` must be JSON-serialisable; it is sent as ``data`` in an envelope that also
    names the event, the shop and when it happened. A caller announcing many events passes
    the shop's ``active_endpoints`` it already loaded.
    """
    if event not in EVENTS:
        raise ValueError(f"unknown webhook event {event!r}")
    if endpoints is None:
        endpoints = active_endpoints([shop.id]).get(shop.id, [])
    envelope = {
        "event": event,
        "shop": shop.slug,
        "occurred_at": utcnow().isoformat(),
        "data": payload,
    }
    deliveries = [
        WebhookDelivery(endpoint_id=endpoint.id, event=event, payload=envelope)
        for endpoint in endpoints
        if event in (endpoint.events or [])
    ]
    db.session.add_all(deliveries)
    return deliveries


def _moment(value) -> str | None:
    """Stored datetimes as RFC 3339 in UTC (SQLite hands them back naive)."""
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()


def request_payload(request: ReturnRequest, previous_status: str | None = None) -> dict:
    """The small, stable ``data`` of a request event; fetch the rest from the API."""
    return {
        "number": request.number,
        "order_number": request.order_number,
        "status": request.status,
        "previous_status": previous_status,
        "created_at": _moment(request.created_at),
        "updated_at": _moment(request.updated_at),
    }


def return_payload(return_: Return, previous_status: str | None = None) -> dict:
    """The small, stable ``data`` of a return (shipment) event."""
    return {
        "number": return_.number,
        "request_number": return_.request.number,
        "status": return_.status,
        "previous_status": previous_status,
        "carrier": return_.carrier,
        "created_at": _moment(return_.created_at),
        "updated_at": _moment(return_.updated_at),
    }


def announce_request(
    request: ReturnRequest,
    previous_status: str | None = None,
    endpoints: list[WebhookEndpoint] | None = None,
) -> None:
    """``request.created`` (no previous status) or ``request.status_changed``."""
    event = REQUEST_CREATED if previous_status is None else REQUEST_STATUS_CHANGED
    emit(request.shop, event, request_payload(request, previous_status), endpoints)


def announce_return(return_: Return, previous_status: str | None = None) -> None:
    """``return.created`` (no previous status) or ``return.status_changed``."""
    event = RETURN_CREATED if previous_status is None else RETURN_STATUS_CHANGED
    emit(return_.shop, event, return_payload(return_, previous_status))


def body_of(delivery: WebhookDelivery) -> bytes:
    """The exact bytes posted; the same on every retry."""
    return json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode()


def signature(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature_header: str) -> bool:
    """What a receiver does: a fresh timestamp and a matching signature."""
    try:
        age = abs(time.time() - int(timestamp))
    except ValueError:
        return False
    expected = signature(secret, timestamp, body)
    return age <= MAX_SIGNATURE_AGE and hmac.compare_digest(expected, signature_header)


def post(delivery: WebhookDelivery) -> int:
    """POST a delivery to its endpoint through the outbound guard; the status code.

    ``DeliveryFailed`` when the answer is not 2xx, ``outbound.Refused`` when the URL leads to
    a private address or the receiver redirects (neither is retried), ``OSError`` when the
    receiver cannot be reached."""
    body = body_of(delivery)
    timestamp = str(int(time.time()))
    response = outbound.send(
        "POST",
        delivery.endpoint.url,
        body=body,
        headers={
            "Content-Type": "application/json",
            "User-Agent": "ReturnDesk-Webhooks/1",
            EVENT_HEADER: delivery.event,
            DELIVERY_HEADER: str(delivery.id),
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: signature(delivery.endpoint.secret, timestamp, body),
        },
        timeout=TIMEOUT_SECONDS,
    )
    if not 200 <= response.status < 300:
        raise DeliveryFailed(response.status)
    return response.status
