"""Webhook events: what happened to a shop's requests and returns, written to the outbox.

``emit(shop, event, payload)`` writes one ``WebhookDelivery`` row per subscribed endpoint in
the caller's transaction; ``services.webhooks`` posts each, signed, after the commit, retries
with backoff, and the sweeper picks up what was left.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC
from typing import Any

from sqlalchemy import select

from extensions import db
from models import Return, ReturnRequest, Shop, WebhookDelivery, WebhookEndpoint, utcnow

REQUEST_CREATED = "request.created"
REQUEST_STATUS_CHANGED = "request.status_changed"
MESSAGE_RECEIVED = "message.received"
RETURN_CREATED = "return.created"
RETURN_STATUS_CHANGED = "return.status_changed"
CUSTOMER_ERASED = "customer.erased"
EVENTS = (
    REQUEST_CREATED,
    REQUEST_STATUS_CHANGED,
    MESSAGE_RECEIVED,
    RETURN_CREATED,
    RETURN_STATUS_CHANGED,
    CUSTOMER_ERASED,
)


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


def announce_erasure(shop: Shop, order_numbers: list[str], request_numbers: list[str]) -> None:
    """``customer.erased``: the shop's orders and requests whose customer was erased, by
    number only (the address is gone), so the webshop can erase the person on its side too."""
    emit(
        shop, CUSTOMER_ERASED, {"order_numbers": order_numbers, "request_numbers": request_numbers}
    )
