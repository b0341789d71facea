"""Erasing a customer (GDPR article 17): anonymised everywhere at once, files deleted after.

What ``customer_data.find`` found is de-personalised in one transaction: names, the address,
street, postcode and city, and every free text written by or about the customer (comments,
answers, messages, notes, reasons) are replaced; outbox emails lose their recipient, subject
and body, and webhook payloads, the API's stored replies and audit notes lose every personal
value they quote. What the shop must keep for its books stays: order, request and return
numbers, amounts, dates, product lines, quantities, decisions and resolutions. Only after the
commit are the customer's files (photos, message files, answers' files, return labels)
deleted from the store, so a rolled-back erasure never leaves rows pointing at nothing.

A customer whose return is still under way (``workflow.returns_in_progress``) is refused
with the reason. Erasing again finds nothing left and changes nothing: it is idempotent. The
address is free afterwards: a new order with it is a new person to ReturnDesk.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Text, cast, or_, select, update

from domain import audit, tenancy, webhook_events, workflow
from domain.statuses import return_status_label
from extensions import db
from models import ApiKey, IdempotencyKey, ScheduledErasure, Shop, User, new_token, utcnow
from services import stores
from services.customer_data import CustomerData, actor_of, find_in

log = logging.getLogger(__name__)

# What an erased text, name or address reads afterwards.
ERASED = "[erased]"
ERASED_EMAIL = "erased@erased.invalid"
# Personal values shorter than this are not searched for inside other texts (a "Ja" answer
# would otherwise be cut out of every word); the columns holding them are cleared all the same.
MIN_QUOTED_LENGTH = 3


class ErasureRefused(Exception):
    """The customer cannot be erased now; the message says why."""


@dataclass
class Erasure:
    """What an erasure removed: the counts per kind (``customer_data.KINDS``)."""

    counts: dict[str, int]

    @property
    def erased(self) -> bool:
        return any(self.counts.values())


def refusal(data: CustomerData) -> str | None:
    """Why the customer may not be erased now, or ``None``: a return still under way."""
    under_way = workflow.returns_in_progress([request.id for request in data.requests])
    if not under_way:
        return None
    return _(
        "Return %(number)s is still under way (%(status)s): it must be resolved or cancelled "
        "before the customer's data can be erased.",
        number=under_way[0].number,
        status=return_status_label(under_way[0].status),
    )


def erase(data: CustomerData, who: User | ApiKey | audit.Actor) -> Erasure:
    """Anonymise everything ``data`` holds in one transaction, commit, then delete the files.

    Raises ``ErasureRefused`` while a return is under way (nothing changes then).
    """
    reason = refusal(data)
    if reason:
        raise ErasureRefused(reason)
    counts = data.counts()
    if not data.found:
        return Erasure(counts)
    _settle_schedules(data)
    shop_ids = data.shop_ids
    keys = depersonalise(data)
    _record(data, who, counts, shop_ids)
    db.session.commit()
    delete_files(keys)
    return Erasure(counts)


def depersonalise(data: CustomerData) -> list[str]:
    """Anonymise every row ``data`` holds and delete its files' rows, in the caller's
    transaction; the storage keys of the files to delete after the commit (``delete_files``).

    The one list of what is personal: an erasure and the shop's retention
    (``services.retention``) both de-personalise through it.
    """
    quoted = personal_values(data)
    addresses = data.addresses
    keys = [attachment.storage_key for attachment in data.files]
    shop_ids = data.shop_ids
    _anonymise_people(data)
    _anonymise_texts(data, quoted)
    _scrub_outbox(data, quoted, addresses)
    _scrub_stored_replies(data, quoted, shop_ids)
    for attachment in data.files:
        db.session.delete(attachment)
    return keys


def schedule(data: CustomerData, who: User | ApiKey) -> list[ScheduledErasure]:
    """Erase the customer once their returns have settled: one row per shop that holds their
    data and has none pending for them yet (``sweep_scheduled`` does the erasing)."""
    pending = set(
        db.session.scalars(
            select(ScheduledErasure.shop_id).where(
                ScheduledErasure.email == data.email, ScheduledErasure.done_at.is_(None)
            )
        )
    )
    actor = actor_of(who)
    by = (
        {"requested_by_id": who.id} if isinstance(who, User) else {"requested_by_label": actor.name}
    )
    rows = [
        ScheduledErasure(shop_id=shop_id, email=data.email, **by)
        for shop_id in data.shop_ids
        if shop_id not in pending
    ]
    db.session.add_all(rows)
    return rows


def sweep_scheduled(batch: int = 100) -> int:
    """Erase the scheduled customers whose returns have now settled; returns how many.

    Each is erased in its own transaction, which first claims its row (a conditional
    UPDATE marking it done and replacing the address), so two sweeps at once erase it once;
    one whose return is still under way waits for the next run.
    """
    erased = 0
    pending = db.session.scalars(
        select(ScheduledErasure)
        .where(ScheduledErasure.done_at.is_(None))
        .order_by(ScheduledErasure.id)
        .limit(batch)
    ).all()
    for row in pending:
        data = find_in([row.shop_id], row.email)
        if refusal(data):
            continue
        who = row.requested_by or audit.Actor(label=row.requested_by_label)
        if not _claimed(row):
            db.session.rollback()
            continue
        erase(data, who)
        db.session.commit()  # when nothing was left to erase, erase() did not commit
        erased += 1
    return erased


def _settle_schedules(data: CustomerData) -> None:
    """An erasure done now settles what was scheduled for the customer in those shops."""
    for row in db.session.scalars(
        select(ScheduledErasure).where(
            ScheduledErasure.email == data.email,
            ScheduledErasure.done_at.is_(None),
            ScheduledErasure.shop_id.in_(data.shop_ids),
        )
    ):
        _mark_done(row)


def _claimed(row: ScheduledErasure) -> bool:
    done = db.session.execute(
        update(ScheduledErasure)
        .where(ScheduledErasure.id == row.id, ScheduledErasure.done_at.is_(None))
        .values(done_at=utcnow(), email=ERASED_EMAIL)
        .execution_options(synchronize_session=False)
    )
    return done.rowcount == 1  # type: ignore[attr-defined]


def _mark_done(row: ScheduledErasure) -> None:
    row.done_at, row.email = utcnow(), ERASED_EMAIL


def personal_values(data: CustomerData) -> list[str]:
    """Every personal value the customer's rows hold, longest first, as other texts may quote
    them (an audit note quoting a cancel reason, a webhook quoting a message)."""
    values: set[str] = {data.email}
    for order in data.orders:
        values |= {order.customer_name, order.customer_email, order.customer_street or ""}
        values |= {order.customer_postcode or "", order.customer_city or ""}
    for request in data.requests:
        values |= {request.customer_name, request.customer_email, request.exchange_note or ""}
        values |= {request.cancel_reason or ""}
        values |= set(_strings(request.answers or {}))
    for line in data.request_lines:
        values |= {line.comment or "", line.decision_reason or "", line.disposition_note or ""}
        values |= {line.refund_note or ""}
    values |= {message.body for message in data.messages}
    values |= {attachment.original_name for attachment in data.files}
    values |= {n.text_en for n in data.notices if n.rule_id is None}
    values |= {n.text_nl for n in data.notices if n.rule_id is None}
    found = {value.strip() for value in values if value and len(value.strip()) >= MIN_QUOTED_LENGTH}
    return sorted(found, key=len, reverse=True)


def _strings(value: Any) -> Iterable[str]:
    """Every string inside a JSON value."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def scrubbed(value: Any, quoted: list[str]) -> Any:
    """A JSON value (or a text) with every quoted personal value replaced by ``ERASED``;
    addresses are matched whatever their case."""
    if isinstance(value, str):
        for personal in quoted:
            value = (
                _replace_any_case(value, personal)
                if "@" in personal
                else value.replace(personal, ERASED)
            )
        return value
    if isinstance(value, dict):
        return {key: scrubbed(item, quoted) for key, item in value.items()}
    if isinstance(value, list):
        return [scrubbed(item, quoted) for item in value]
    return value


def _replace_any_case(text: str, personal: str) -> str:
    lowered, needle = text.lower(), personal.lower()
    start = lowered.find(needle)
    while start != -1:
        text = text[:start] + ERASED + text[start + len(needle) :]
        lowered = text.lower()
        start = lowered.find(needle, start + len(ERASED))
    return text


def _anonymise_people(data: CustomerData) -> None:
    """The customer's name, address and contact on orders and requests; the status link is
    renewed so an old link shows nothing."""
    for order in data.orders:
        order.customer_name, order.customer_email = ERASED, ERASED_EMAIL
        order.customer_street = order.customer_postcode = order.customer_city = None
    for request in data.requests:
        request.customer_name, request.customer_email = ERASED, ERASED_EMAIL
        request.exchange_note = ERASED if request.exchange_note else None
        request.cancel_reason = ERASED if request.cancel_reason else None
        request.answers = {}
        request.submission_key = None
        request.public_token = new_token()
        request.anonymised_at = request.anonymised_at or utcnow()
    for return_ in data.returns:
        # The tracking link may carry the postcode; the label (name, address) is deleted.
        return_.tracking_url = return_.qr_payload = return_.label_error = None
        return_.label_storage_key = None


def _anonymise_texts(data: CustomerData, quoted: list[str]) -> None:
    """Free texts by or about the customer: comments, staff notes on lines, messages, notices
    written by hand, and what audit notes and actors quote of them."""
    for line in data.request_lines:
        line.comment = ERASED if line.comment else None
        line.decision_reason = ERASED if line.decision_reason else None
        line.disposition_note = ERASED if line.disposition_note else None
        line.refund_note = ERASED if line.refund_note else None
    for message in data.messages:
        message.body = ERASED
    for notice in data.notices:
        if notice.rule_id is None:
            notice.text_en = notice.text_nl = ERASED
    for event in data.audit_events:
        if event.note:
            event.note = scrubbed(event.note, quoted)
        if event.actor_label:  # a portal submission's actor is "Name <address>"
            event.actor_label = scrubbed(event.actor_label, quoted)


def _scrub_outbox(data: CustomerData, quoted: list[str], addresses: set[str]) -> None:
    """Emails lose what they said and, when it was the customer's, their recipient; one not
    sent yet never will be. Webhook payloads lose every personal value they quote."""
    for email in data.emails:
        if email.to_address.lower() in addresses:
            email.to_address = ERASED_EMAIL
        email.subject, email.body_text, email.body_html = ERASED, ERASED, None
        email.attachment_ids = []
        if email.status in ("pending", "sending"):
            email.status, email.last_error = "failed", "Not sent: the customer was erased."
    for delivery in data.webhook_deliveries:
        delivery.payload = scrubbed(delivery.payload, quoted)


def _scrub_stored_replies(data: CustomerData, quoted: list[str], shop_ids: list[int]) -> None:
    """The API's stored first replies (``Idempotency-Key``) that quote the customer."""
    if not shop_ids:
        return
    body = cast(IdempotencyKey.response_body, Text)
    numbers = [f'"{request.number}"' for request in data.requests]
    naming = [body.contains(n, autoescape=True) for n in numbers]
    if data.email:
        naming.append(body.contains(data.email, autoescape=True))
    if not naming:
        return
    stored = db.session.scalars(
        select(IdempotencyKey).where(
            or_(*naming), tenancy.of_shops(IdempotencyKey.shop_id, shop_ids)
        )
    )
    for reply in stored:
        reply.response_body = scrubbed(reply.response_body, quoted)


def _record(
    data: CustomerData, who: User | ApiKey | audit.Actor, counts: dict[str, int], shop_ids
) -> None:
    """Audit the erasure and tell each shop's systems (``customer.erased``), by numbers."""
    actor = actor_of(who)
    note = ", ".join(f"{kind}: {count}" for kind, count in counts.items() if count)
    for shop_id in shop_ids:
        audit.record_customer_erasure(shop_id, actor, note)
        webhook_events.announce_erasure(
            db.session.get_one(Shop, shop_id),
            [order.number for order in data.orders if order.shop_id == shop_id],
            [request.number for request in data.requests if request.shop_id == shop_id],
        )


def delete_files(keys: list[str]) -> None:
    """Delete the erased rows' files; one the store cannot delete now is logged (its row is
    gone, so nothing links to it any more)."""
    store = stores.current()
    for key in keys:
        try:
            store.delete(key)
        except stores.StoreUnavailable:
            log.exception("could not delete the erased customer's file %s", key)
