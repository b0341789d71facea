"""A customer's personal data: found by email address (or order number), and exported.

GDPR articles 15 and 20 (the right of access and to data portability): ``find`` gathers every
row that names one person in the shops a user or API key may see (``tenancy.shops_for`` at
``MIN_ROLE``, the one tenancy rule), ``document`` turns it into ``customer.json`` (stable,
documented keys; see docs/PRIVACY.md), and ``zip_chunks`` streams that with the customer's
own files and return labels as one ZIP. ``services.customer_erasure`` erases what ``find``
found (article 17).
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Text, cast, func, or_, select
from sqlalchemy.orm import selectinload

from domain import audit, tenancy
from extensions import db
from models import (
    ApiKey,
    Attachment,
    AuditEvent,
    Message,
    Notice,
    Order,
    OutboundEmail,
    Return,
    ReturnRequest,
    ReturnRequestLine,
    User,
    WebhookDelivery,
    WebhookEndpoint,
    utcnow,
)
from services import stores
from services.storage import download_name

# Version of customer.json's keys: raised when a key changes meaning or goes, not when one
# is added (docs/PRIVACY.md lists them).
SCHEMA_VERSION = 1
# Who may find, export and erase a customer's data: a shop's admins and platform support.
MIN_ROLE = "admin"
# The audit events of the data-protection log (``recent_requests_log``).
DATA_PROTECTION_ACTIONS = ("customer_data_exported", "customer_erased", "requests_anonymised")
# The kinds of rows found, in the order pages and counts list them.
KINDS = (
    "orders",
    "requests",
    "request_lines",
    "returns",
    "messages",
    "files",
    "notices",
    "audit_events",
    "emails",
    "webhook_deliveries",
)


def normalised(email: str) -> str:
    """An address as it is compared: trimmed and lower case (``Zoë@X.nl`` is ``zoë@x.nl``)."""
    return email.strip().lower()


@dataclass
class CustomerData:
    """Every row that names one customer (by ``email``) in the shops searched."""

    email: str
    orders: list[Order] = field(default_factory=list)
    requests: list[ReturnRequest] = field(default_factory=list)
    returns: list[Return] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    files: list[Attachment] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    audit_events: list[AuditEvent] = field(default_factory=list)
    emails: list[OutboundEmail] = field(default_factory=list)
    webhook_deliveries: list[WebhookDelivery] = field(default_factory=list)

    @property
    def request_lines(self) -> list[ReturnRequestLine]:
        return [line for request in self.requests for line in request.lines]

    def counts(self) -> dict[str, int]:
        """How many rows of each kind were found, in ``KINDS`` order."""
        return {kind: len(getattr(self, kind)) for kind in KINDS}

    @property
    def found(self) -> bool:
        return any(self.counts().values())

    @property
    def shop_ids(self) -> list[int]:
        """The shops in which something names the customer."""
        ids = {row.shop_id for row in self.orders} | {row.shop_id for row in self.requests}
        ids |= {row.shop_id for row in self.emails if row.shop_id is not None}
        return sorted(ids)

    @property
    def addresses(self) -> set[str]:
        """The customer's email addresses, lower case: the one searched and those on the
        orders and requests found."""
        found = {self.email} | {row.customer_email.lower() for row in self.orders}
        found |= {row.customer_email.lower() for row in self.requests}
        return found - {""}

    @property
    def label_keys(self) -> set[str]:
        return {r.label_storage_key for r in self.returns if r.label_storage_key}


def find(who: User | ApiKey, email: str) -> CustomerData:
    """Everything that names the customer with this address in the shops ``who`` may see as
    a shop admin (support: every shop; an API key: its shop)."""
    return find_in(tenancy.shops_for(who, MIN_ROLE), email)


def find_in(shop_ids: list[int] | None, email: str) -> CustomerData:
    """Everything that names the customer with this address in these shops (``None``: every
    shop); ``find`` asks the tenancy rule which."""
    email = normalised(email)
    data = CustomerData(email)
    if not email or (shop_ids is not None and not shop_ids):
        return data
    data.orders = _all(
        tenancy.in_shops(
            select(Order)
            .where(func.lower(Order.customer_email) == email)
            .options(selectinload(Order.lines))
            .order_by(Order.id),
            Order.shop_id,
            shop_ids,
        )
    )
    order_ids = [order.id for order in data.orders]
    data.requests = _all(
        tenancy.in_shops(
            select(ReturnRequest)
            .where(
                or_(
                    func.lower(ReturnRequest.customer_email) == email,
                    ReturnRequest.order_id.in_(order_ids),
                )
            )
            .options(selectinload(ReturnRequest.lines), selectinload(ReturnRequest.shop))
            .order_by(ReturnRequest.id),
            ReturnRequest.shop_id,
            shop_ids,
        )
    )
    _find_around_requests(data, shop_ids)
    return data


def of_requests(shop_id: int, request_ids: list[int]) -> CustomerData:
    """What names the customers of these requests of one shop, found by the requests alone
    (not by address: the same person's other requests stay as they are), for anonymising them
    after the shop's retention (``services.retention``). An order comes along once no other
    request of it keeps the customer's details."""
    data = CustomerData(email="")
    data.requests = _all(
        select(ReturnRequest)
        .where(ReturnRequest.shop_id == shop_id, ReturnRequest.id.in_(request_ids))
        .options(selectinload(ReturnRequest.lines), selectinload(ReturnRequest.shop))
        .order_by(ReturnRequest.id)
    )
    order_ids = {request.order_id for request in data.requests}
    kept = select(ReturnRequest.order_id).where(
        ReturnRequest.order_id.in_(order_ids),
        ReturnRequest.id.not_in(request_ids),
        ReturnRequest.anonymised_at.is_(None),
    )
    data.orders = _all(
        select(Order)
        .where(Order.id.in_(order_ids), Order.id.not_in(kept))
        .options(selectinload(Order.lines))
        .order_by(Order.id)
    )
    _find_around_requests(data, [shop_id])
    return data


def _find_around_requests(data: CustomerData, shop_ids: list[int] | None) -> None:
    """What hangs off the customer's requests, and the outbox and audit rows naming them (or,
    when ``data.email`` is known, the address)."""
    request_ids = [request.id for request in data.requests]
    line_ids = [line.id for line in data.request_lines]
    data.returns = _all(
        select(Return).where(Return.request_id.in_(request_ids)).order_by(Return.id)
    )
    data.messages = _all(
        select(Message)
        .where(Message.request_id.in_(request_ids))
        .options(selectinload(Message.attachments))
        .order_by(Message.id)
    )
    message_ids = [message.id for message in data.messages]
    data.files = _all(
        tenancy.in_shops(
            select(Attachment)
            .where(
                or_(
                    Attachment.request_id.in_(request_ids),
                    Attachment.request_line_id.in_(line_ids),
                    Attachment.message_id.in_(message_ids),
                )
            )
            .order_by(Attachment.id),
            Attachment.shop_id,
            shop_ids,
        )
    )
    data.notices = _all(
        select(Notice).where(Notice.request_id.in_(request_ids)).order_by(Notice.id)
    )
    return_ids = [return_.id for return_ in data.returns]
    quoting = [AuditEvent.note.contains(data.email, autoescape=True)] if data.email else []
    data.audit_events = _all(
        select(AuditEvent)
        .where(
            or_(
                AuditEvent.request_id.in_(request_ids),
                AuditEvent.return_id.in_(return_ids),
                *quoting,
            ),
            tenancy.of_shops(AuditEvent.shop_id, shop_ids),
        )
        .order_by(AuditEvent.id)
    )
    addressed = [func.lower(OutboundEmail.to_address) == data.email] if data.email else []
    data.emails = _all(
        select(OutboundEmail)
        .where(
            or_(OutboundEmail.request_id.in_(request_ids), *addressed),
            tenancy.of_shops(OutboundEmail.shop_id, shop_ids),
        )
        .order_by(OutboundEmail.id)
    )
    data.webhook_deliveries = _deliveries_naming(data, shop_ids)


def _deliveries_naming(data: CustomerData, shop_ids: list[int] | None) -> list[WebhookDelivery]:
    """The webhook deliveries whose payload names one of the customer's requests or orders
    (by number, in quotes, so R-2026-00001 does not match R-2026-000012) or the address."""
    payload = cast(WebhookDelivery.payload, Text)
    numbers = {r.number for r in data.requests} | {o.number for o in data.orders}
    naming = [payload.contains(f'"{number}"', autoescape=True) for number in sorted(numbers)]
    if data.email:
        naming.append(payload.contains(data.email, autoescape=True))
    if not naming:
        return []
    return _all(
        select(WebhookDelivery)
        .join(WebhookEndpoint)
        .where(or_(*naming), tenancy.of_shops(WebhookEndpoint.shop_id, shop_ids))
        .order_by(WebhookDelivery.id)
    )


def _all(query) -> list:
    return list(db.session.scalars(query))


def order_emails(who: User | ApiKey, number: str) -> list[str]:
    """The customers' addresses on the orders with this number in the shops ``who`` may see
    as a shop admin (one per shop at most), for a search by order number."""
    number = number.strip().lstrip("#").strip()
    query = tenancy.in_shops(
        select(func.lower(Order.customer_email)).where(Order.number == number).distinct(),
        Order.shop_id,
        tenancy.shops_for(who, MIN_ROLE),
    )
    return sorted(db.session.scalars(query))


# --- customer.json ------------------------------------------------------------------------------


def _moment(value: datetime | None) -> str | None:
    """Stored datetimes as RFC 3339 in UTC (SQLite hands them back naive)."""
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()


def file_kind(data: CustomerData, attachment: Attachment) -> str:
    """``photo`` (of a request line), ``message`` (a file on a message), ``label`` (a return
    label) or ``answer`` (a file answering a form question)."""
    if attachment.request_line_id is not None:
        return "photo"
    if attachment.message_id is not None:
        return "message"
    if attachment.storage_key in data.label_keys:
        return "label"
    return "answer"


def file_path(data: CustomerData, attachment: Attachment) -> str:
    """Where a file is in the ZIP: labels under ``labels/``, the customer's files under
    ``files/``, each name starting with the file's id so no two collide."""
    folder = "labels" if file_kind(data, attachment) == "label" else "files"
    return f"{folder}/{attachment.id}-{download_name(attachment)}"


def document(data: CustomerData) -> dict[str, Any]:
    """``customer.json``: everything found, under the keys docs/PRIVACY.md documents."""
    paths = {attachment.id: file_path(data, attachment) for attachment in data.files}
    return {
        "schema_version": SCHEMA_VERSION,
        "exported_at": _moment(utcnow()),
        "email": data.email,
        "orders": [_order(order) for order in data.orders],
        "requests": [_request(data, request, paths) for request in data.requests],
        "emails": [_email(email) for email in data.emails],
        "webhook_deliveries": [_delivery(d) for d in data.webhook_deliveries],
        "history": [_event(event) for event in data.audit_events],
        "files": [_file(data, attachment, paths) for attachment in data.files],
    }


def _order(order: Order) -> dict[str, Any]:
    return {
        "shop": order.shop.slug,
        "number": order.number,
        "customer_name": order.customer_name,
        "customer_email": order.customer_email,
        "street": order.customer_street,
        "postcode": order.customer_postcode,
        "city": order.customer_city,
        "country": order.customer_country,
        "language": order.customer_language,
        "ordered_at": _moment(order.ordered_at),
        "delivered_at": _moment(order.delivered_at),
        "currency": order.currency,
        "lines": [
            {
                "sku": line.sku,
                "product_name": line.product_name,
                "variant": line.variant,
                "quantity": line.quantity,
                "unit_price_cents": line.unit_price_cents,
                "discount_cents": line.discount_cents,
            }
            for line in order.lines
        ],
    }


def _request(data: CustomerData, request: ReturnRequest, paths: dict[int, str]) -> dict[str, Any]:
    return {
        "shop": request.shop.slug,
        "number": request.number,
        "order_number": request.order_number,
        "customer_name": request.customer_name,
        "customer_email": request.customer_email,
        "language": request.language,
        "status": request.status,
        "resolution": request.resolution,
        "exchange_note": request.exchange_note,
        "keep_items": request.keep_items,
        "is_withdrawal": request.is_withdrawal,
        "answers": request.answers or {},
        "cancel_reason": request.cancel_reason,
        "return_fee_cents": request.return_fee_cents,
        "total_cents": request.total_cents,
        "settled_resolution": request.settled_resolution,
        "settled_cents": request.settled_cents,
        "created_at": _moment(request.created_at),
        "updated_at": _moment(request.updated_at),
        "lines": [_line(line, paths) for line in request.lines],
        "messages": [_message(m, paths) for m in data.messages if m.request_id == request.id],
        "notices": [
            {"severity": n.severity, "text_en": n.text_en, "text_nl": n.text_nl}
            for n in data.notices
            if n.request_id == request.id
        ],
        "returns": [_return(r) for r in data.returns if r.request_id == request.id],
    }


def _line(line: ReturnRequestLine, paths: dict[int, str]) -> dict[str, Any]:
    return {
        "sku": line.order_line.sku,
        "product_name": line.order_line.product_name,
        "quantity": line.quantity,
        "reason": line.reason.code if line.reason else None,
        "comment": line.comment,
        "decision": line.decision,
        "decision_reason": line.decision_reason,
        "received_quantity": line.received_quantity,
        "condition": line.condition,
        "refund_choice": line.refund_choice,
        "refund_partial_cents": line.refund_partial_cents,
        "refund_note": line.refund_note,
        "photos": [paths[photo.id] for photo in line.photos if photo.id in paths],
    }


def _message(message: Message, paths: dict[int, str]) -> dict[str, Any]:
    return {
        "direction": message.direction,
        "body": message.body,
        "created_at": _moment(message.created_at),
        "files": [paths[a.id] for a in message.attachments if a.id in paths],
    }


def _return(return_: Return) -> dict[str, Any]:
    return {
        "number": return_.number,
        "carrier": return_.carrier,
        "tracking_number": return_.tracking_number,
        "tracking_url": return_.tracking_url,
        "status": return_.status,
        "resolution": return_.resolution,
        "refund_cents": return_.refund_cents,
        "cost_cents": return_.cost_cents,
        "created_at": _moment(return_.created_at),
        "resolved_at": _moment(return_.resolved_at),
    }


def _email(email: OutboundEmail) -> dict[str, Any]:
    return {
        "template": email.template,
        "to_address": email.to_address,
        "subject": email.subject,
        "body_text": email.body_text,
        "status": email.status,
        "created_at": _moment(email.created_at),
        "sent_at": _moment(email.sent_at),
    }


def _delivery(delivery: WebhookDelivery) -> dict[str, Any]:
    return {
        "event": delivery.event,
        "status": delivery.status,
        "created_at": _moment(delivery.created_at),
        "payload": delivery.payload,
    }


def _event(event: AuditEvent) -> dict[str, Any]:
    """An audit entry: what was done and when; the staff member's name is theirs, not the
    customer's, so only whether a person, the customer or the system acted is given."""
    if event.actor_id is not None:
        actor = "staff"
    else:
        actor = "customer" if event.actor_label == audit.CUSTOMER.label else "system"
    return {
        "at": _moment(event.created_at),
        "action": event.action,
        "actor": actor,
        "from_status": event.from_status,
        "to_status": event.to_status,
        "note": event.note,
    }


def _file(data: CustomerData, attachment: Attachment, paths: dict[int, str]) -> dict[str, Any]:
    return {
        "path": paths[attachment.id],
        "kind": file_kind(data, attachment),
        "original_name": attachment.original_name,
        "content_type": attachment.content_type,
        "size": attachment.size,
        "sha256": attachment.sha256,
        "uploaded_at": _moment(attachment.created_at),
    }


# --- the export ---------------------------------------------------------------------------------


def record_export(data: CustomerData, who: User | ApiKey) -> None:
    """Audit the export in every shop whose data it holds (none found: in a shop of the
    searcher's, so that shop's later erasure of the address finds the entry), in the caller's
    transaction."""
    actor = actor_of(who)
    shop_ids = tenancy.shops_for(who, MIN_ROLE)
    searched: list[int | None] = [*data.shop_ids] or [shop_ids[0] if shop_ids else None]
    for shop_id in searched:
        audit.record_customer_export(shop_id, actor, data.email)


def recent_requests_log(who: User, limit: int = 20) -> list[AuditEvent]:
    """The latest exports, erasures and anonymisations by the shop's retention in the shops
    ``who`` administers, newest first: what a data-protection officer asks to see."""
    return _all(
        tenancy.in_shops(
            select(AuditEvent)
            .where(AuditEvent.action.in_(DATA_PROTECTION_ACTIONS))
            .options(selectinload(AuditEvent.actor))
            .order_by(AuditEvent.id.desc())
            .limit(limit),
            AuditEvent.shop_id,
            tenancy.shops_for(who, MIN_ROLE),
        )
    )


def actor_of(who: User | ApiKey | audit.Actor) -> User | audit.Actor:
    if isinstance(who, ApiKey):
        return audit.Actor(label=f"API key '{who.name}'")
    return who


class _Pipe(io.RawIOBase):
    """A write-only stream whose bytes are taken out as they come: the ZIP's chunks."""

    def __init__(self) -> None:
        self.pending: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self.pending.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        chunk, self.pending = b"".join(self.pending), []
        return chunk


def export_files(data: CustomerData) -> list[tuple[str, str]]:
    """``(path in the ZIP, storage key)`` of every file the export carries."""
    return [(file_path(data, attachment), attachment.storage_key) for attachment in data.files]


def zip_chunks(customer_json: dict[str, Any], files: list[tuple[str, str]]) -> Iterator[bytes]:
    """The export as a ZIP, streamed: ``customer.json``, then each file read from the store
    chunk by chunk. A file missing from the store is named in ``MISSING.txt`` instead."""
    pipe = _Pipe()
    missing: list[str] = []
    with zipfile.ZipFile(pipe, "w", zipfile.ZIP_DEFLATED) as archive:
        text = json.dumps(customer_json, indent=2, ensure_ascii=False)
        archive.writestr("customer.json", text.encode())
        yield pipe.take()
        for path, key in files:
            chunks = iter(stores.current().stream(key))
            try:
                first = next(chunks, b"")  # a store's stream opens the file at its first chunk
            except stores.MissingFile:
                missing.append(path)
                continue
            with archive.open(path, "w") as entry:
                entry.write(first)
                for chunk in chunks:
                    yield pipe.take()
                    entry.write(chunk)
            yield pipe.take()
        if missing:
            archive.writestr("MISSING.txt", "\n".join(missing) + "\n")
    yield pipe.take()


def zip_name() -> str:
    """The export's file name: the date only, never the address (it may be saved anywhere)."""
    return f"customer-data-{utcnow():%Y%m%d}.zip"
