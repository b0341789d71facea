"""The whole journey through the API alone, while the webshop's webhook receiver listens.

The webshop imports the order, files the request for the customer, approves it, asks a question
and passes on the answer, the customer makes the label on their status page, the carrier and the
warehouse report the parcel, and the return is resolved. Every webhook arrives in order, signed.
"""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import urlparse

from sqlalchemy import select

from api_helpers import bearer, make_key, order_body
from domain import webhook_events
from extensions import db
from factories import RETURN_ADDRESS, make_shop
from models import AuditEvent, OutboundEmail, utcnow
from return_flow import run_jobs
from services import webhooks
from webhook_helpers import add_endpoint


def api(client, key: str, method: str, path: str, body: dict | None = None) -> dict:
    response = client.open(f"/api/v1{path}", method=method, json=body, headers=bearer(key))
    assert response.status_code in (200, 201), response.json
    return response.json


def received_events(calls: list, secret: str) -> list[tuple]:
    """(event, number, previous status, status) of every call; each must be signed."""
    events = []
    for headers, body in calls:
        signed = webhooks.verify(
            secret,
            headers[webhooks.TIMESTAMP_HEADER],
            body,
            headers[webhooks.SIGNATURE_HEADER],
        )
        assert signed, "every webhook carries a valid signature"
        sent = json.loads(body)
        data = sent["data"]
        number = data.get("number") or data["request_number"]
        events.append((sent["event"], number, data.get("previous_status"), data.get("status")))
    return events


def test_a_return_goes_from_order_to_refund_through_the_api(app, client, receiver):
    shop = make_shop(**RETURN_ADDRESS)
    key = make_key(shop)
    endpoint = add_endpoint(shop, receiver.url, events=webhook_events.EVENTS)
    db.session.commit()
    delivered = (utcnow() - timedelta(days=2)).isoformat()

    order = api(client, key, "POST", "/orders", order_body(delivered_at=delivered))
    shirt, socks = order["lines"]
    request = api(
        client,
        key,
        "POST",
        "/return-requests",
        {
            "order_number": order["number"],
            "lines": [
                {"order_line_id": shirt["id"], "quantity": 1},
                {"order_line_id": socks["id"], "quantity": 2},
            ],
        },
    )
    number = request["number"]
    assert (
        api(client, key, "POST", f"/return-requests/{number}/actions", {"action": "approve"})[
            "status"
        ]
        == "approved"
    )

    messages = f"/return-requests/{number}/messages"
    api(client, key, "POST", messages, {"body": "Did you keep the receipt?"})
    api(client, key, "POST", messages, {"body": "Yes, it is in the box", "direction": "inbound"})

    label_page = urlparse(request["status_url"]).path + "/label"
    assert client.post(label_page, data={"carrier": "own"}).status_code == 302
    run_jobs()
    [return_number] = api(client, key, "GET", f"/return-requests/{number}")["returns"]

    events = f"/returns/{return_number}/events"
    api(client, key, "POST", events, {"event": "in_transit", "description": "Handed in"})
    api(client, key, "POST", events, {"event": "delivered"})
    inspected = [
        {"order_line_id": shirt["id"], "condition": "ok", "received_quantity": 1},
        {"order_line_id": socks["id"], "condition": "damaged", "received_quantity": 2},
    ]
    api(client, key, "POST", events, {"event": "received", "lines": inspected})
    resolved = api(client, key, "POST", events, {"event": "resolved"})

    assert resolved["status"] == "resolved"
    assert resolved["refund_cents"] > 0
    final = api(client, key, "GET", f"/return-requests/{number}")
    assert final["status"] == "completed"
    assert [(line["condition"], line["received_quantity"]) for line in final["lines"]] == [
        ("ok", 1),
        ("damaged", 2),
    ]
    assert received_events(receiver.calls, endpoint.secret) == [
        ("request.created", number, None, "new"),
        ("request.status_changed", number, "new", "approved"),
        ("message.received", number, None, None),
        ("request.status_changed", number, "approved", "label_created"),
        ("return.created", return_number, None, "label_created"),
        ("return.status_changed", return_number, "label_created", "in_transit"),
        ("return.status_changed", return_number, "in_transit", "delivered"),
        ("return.status_changed", return_number, "delivered", "received"),
        ("return.status_changed", return_number, "received", "resolved"),
        ("request.status_changed", number, "label_created", "completed"),
    ]
    customer_emails = db.session.scalars(
        select(OutboundEmail.template)
        .where(OutboundEmail.to_address == "anna@example.com")
        .order_by(OutboundEmail.id)
    ).all()
    assert customer_emails[0] == "request_confirmation"
    assert {"request_approved", "return_received", "return_resolved"} <= set(customer_emails)
    approvers = db.session.scalars(
        select(AuditEvent.actor_label).where(AuditEvent.action == "approve")
    ).all()
    assert approvers == ["API key 'webshop'"]
