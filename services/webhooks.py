"""Webhook delivery: each ``WebhookDelivery`` row (``domain.webhook_events``) posted, signed.

A receiver checks the signature like ``verify()`` does: HMAC-SHA256 with the endpoint's
secret over ``"{timestamp}.{body}"``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time

from models import WebhookDelivery
from services import outbound

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
