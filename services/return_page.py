"""A return's staff page as plain data: the shipment, its request's items as received, and
its history (templates never see an ORM object; ``services.request_page`` does the same for
the request page)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from domain.formatting import language
from domain.refunds import line_default_choice
from domain.statuses import decision_badge
from extensions import db
from models import CONDITION_DAMAGED, AuditEvent, Return, ReturnRequestLine
from services.request_page import HistoryEntry, history_entries


@dataclass(frozen=True)
class ReturnShop:
    """The shop as the page needs it: its zone for the times, its currency for amounts."""

    name: str
    time_zone: str
    currency: str


@dataclass(frozen=True)
class ReceivedLine:
    """An item of the request: what was asked, and how it came back (once received)."""

    id: int
    product_name: str
    variant: str
    quantity: int
    decision: str
    decision_badge: Markup
    # The customer's reason in the reader's language, "" without one.
    reason: str
    # The refund an item received damaged gets unless the inspector says otherwise.
    damaged_default: str
    condition: str | None
    received_quantity: int | None
    disposition: str | None
    disposition_note: str
    refund_choice: str | None
    refund_partial_cents: int | None
    refund_note: str


@dataclass(frozen=True)
class ReturnPage:
    id: int
    number: str
    status: str
    label_status: str
    label_error: str
    tracking_number: str
    tracking_url: str
    created_at: datetime
    resolved_at: datetime | None
    resolution: str | None
    refund_cents: int | None
    shop: ReturnShop
    request_id: int
    request_number: str
    request_resolution: str
    customer_name: str
    customer_email: str
    lines: tuple[ReceivedLine, ...]
    timeline: tuple[HistoryEntry, ...]


def received_line(line: ReturnRequestLine, words: str) -> ReceivedLine:
    return ReceivedLine(
        id=line.id,
        product_name=line.order_line.product_name,
        variant=line.order_line.variant or "",
        quantity=line.quantity,
        decision=line.decision,
        decision_badge=decision_badge(line.decision),
        reason=line.reason.label(words) if line.reason else "",
        damaged_default=line_default_choice(line, CONDITION_DAMAGED),
        condition=line.condition,
        received_quantity=line.received_quantity,
        disposition=line.disposition,
        disposition_note=line.disposition_note or "",
        refund_choice=line.refund_choice,
        refund_partial_cents=line.refund_partial_cents,
        refund_note=line.refund_note or "",
    )


def build(shipment: Return) -> ReturnPage:
    """The page of ``shipment`` (loaded with its request, lines and order lines)."""
    req, words = shipment.request, language()
    events = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.return_id == shipment.id)
        .options(joinedload(AuditEvent.actor))
        .order_by(AuditEvent.id)
    )
    return ReturnPage(
        id=shipment.id,
        number=shipment.number,
        status=shipment.status,
        label_status=shipment.label_status,
        label_error=shipment.label_error or "",
        tracking_number=shipment.tracking_number or "",
        tracking_url=shipment.tracking_url or "",
        created_at=shipment.created_at,
        resolved_at=shipment.resolved_at,
        resolution=shipment.resolution,
        refund_cents=shipment.refund_cents,
        shop=ReturnShop(
            name=shipment.shop.name,
            time_zone=shipment.shop.time_zone,
            currency=shipment.shop.currency,
        ),
        request_id=req.id,
        request_number=req.number,
        request_resolution=req.resolution,
        customer_name=req.customer_name,
        customer_email=req.customer_email,
        lines=tuple(received_line(line, words) for line in req.lines),
        timeline=history_entries(events),
    )
