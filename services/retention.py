"""Keep no longer than the shop decides (GDPR's storage limitation): the daily retention job.

``run`` applies every rule of ``domain.retention`` once and records what it did
(``RetentionRun``, shown to support on the dashboard):

- a closed request's photos and message files are deleted ``Shop.file_retention_months``
  after it was closed (return labels stay with their return);
- a closed request is anonymised ``domain.retention.anonymise_months`` after it was closed:
  the same de-personalisation as an erasure (``customer_erasure.depersonalise``, the one list
  of what is personal), by the request rather than by the address, so the same customer's
  newer requests stay as they are; numbers, amounts, dates and product lines stay; each batch
  is audited in its shop (``requests_anonymised``, with the count);
- outbox bodies and webhook payloads are emptied ``TRIM_AFTER`` (90 days) after they were
  written, once they are sent or given up;
- bell entries (``Notification``) are deleted ``NOTIFICATIONS_KEPT`` (90 days) after they
  were written, read or not.

Each rule is set-based and works in batches: a batch is chosen by one query, changed in one
transaction, and its files deleted after the commit (as ``storage.sweep_abandoned_uploads``
does), so a second run finds nothing more to do, and a run stopped half-way is resumed by the
next, which chooses what is still left.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update

from domain import audit
from domain.retention import (
    CLOSED_STATUSES,
    MONTH,
    NOTIFICATIONS_KEPT,
    TRIM_AFTER,
    anonymise_months,
)
from domain.submission import aware
from extensions import db
from models import (
    Attachment,
    Notification,
    OutboundEmail,
    RetentionRun,
    Return,
    ReturnRequest,
    Shop,
    WebhookDelivery,
    utcnow,
)
from services import customer_data, customer_erasure, stores

# Rows handled per transaction.
BATCH = 500
# Requests anonymised per transaction (each loads its lines, messages, files and history).
ANONYMISE_BATCH = 100
# An email or webhook delivery still to be sent keeps its body whatever its age.
FINISHED_EMAILS = ("sent", "failed")
FINISHED_DELIVERIES = ("delivered", "failed", "skipped")
# The workers stop a run that takes longer (it resumes at the next): so an unfinished run
# started longer ago than this has stopped.
TIME_LIMIT = timedelta(hours=2)


def run(now: datetime | None = None) -> RetentionRun:
    """Apply every retention rule once; the run, its counts recorded with each batch (in the
    batch's transaction), so support's dashboard shows its progress."""
    now = now or utcnow()
    record = RetentionRun(
        started_at=now,
        files_deleted=0,
        requests_anonymised=0,
        bodies_trimmed=0,
        notifications_deleted=0,
    )
    db.session.add(record)
    db.session.commit()
    sweep_expired_files(now, record=record)
    anonymise_expired(now, record=record)
    trim_outbox(now, record=record)
    prune_notifications(now, record=record)
    record.finished_at = utcnow()
    db.session.commit()
    return record


@dataclass(frozen=True)
class LastRun:
    """The retention job's latest run, for support's dashboard: finished, running, or stopped
    half-way (its worker died or it ran past ``TIME_LIMIT``; the next run carries on)."""

    started_at: datetime
    finished: bool
    stopped: bool
    requests_anonymised: int
    files_deleted: int
    bodies_trimmed: int
    notifications_deleted: int


def last_run(now: datetime | None = None) -> LastRun | None:
    """The latest run of the retention job, or ``None`` before the first."""
    latest = db.session.scalar(select(RetentionRun).order_by(RetentionRun.id.desc()).limit(1))
    if latest is None:
        return None
    finished = latest.finished_at is not None
    too_long = aware(latest.started_at) < (now or utcnow()) - TIME_LIMIT
    return LastRun(
        started_at=latest.started_at,
        finished=finished,
        stopped=not finished and too_long,
        requests_anonymised=latest.requests_anonymised,
        files_deleted=latest.files_deleted,
        bodies_trimmed=latest.bodies_trimmed,
        notifications_deleted=latest.notifications_deleted,
    )


def _closed_before(shop_id: int, cutoff: datetime):
    return select(ReturnRequest.id).where(
        ReturnRequest.shop_id == shop_id,
        ReturnRequest.status.in_(CLOSED_STATUSES),
        ReturnRequest.updated_at < cutoff,
    )


# --- files ---------------------------------------------------------------------------------------


def sweep_expired_files(
    now: datetime | None = None, batch: int = BATCH, record: RetentionRun | None = None
) -> int:
    """Delete the photos and message files past their shop's retention; returns how many."""
    now = now or utcnow()
    deleted = 0
    shops = db.session.execute(select(Shop.id, Shop.file_retention_months)).all()
    for shop_id, months in shops:
        cutoff = now - months * MONTH
        while keys := _delete_batch(shop_id, cutoff, batch):
            if record is not None:
                record.files_deleted += len(keys)
            db.session.commit()
            for key in keys:
                stores.current().delete(key)
            deleted += len(keys)
            if len(keys) < batch:
                break
    return deleted


def _delete_batch(shop_id: int, cutoff: datetime, batch: int) -> list[str]:
    """Delete up to ``batch`` expired files' rows of one shop; their storage keys."""
    labels = select(Return.label_storage_key).where(Return.label_storage_key.is_not(None))
    expired = (
        select(Attachment.id)
        .where(
            Attachment.shop_id == shop_id,
            Attachment.request_id.in_(_closed_before(shop_id, cutoff)),
            Attachment.storage_key.not_in(labels),
        )
        .limit(batch)
    )
    ids = list(db.session.scalars(expired))
    if not ids:
        return []
    return list(
        db.session.execute(
            delete(Attachment)
            .where(Attachment.id.in_(ids))
            .returning(Attachment.storage_key)
            .execution_options(synchronize_session=False)
        ).scalars()
    )


# --- requests ------------------------------------------------------------------------------------


def anonymise_expired(
    now: datetime | None = None, batch: int = ANONYMISE_BATCH, record: RetentionRun | None = None
) -> tuple[int, int]:
    """Anonymise the closed requests past their shop's retention; how many requests, and how
    many of their files were deleted."""
    now = now or utcnow()
    requests = files = 0
    for shop in db.session.scalars(select(Shop).order_by(Shop.id)).all():
        due = _closed_before(shop.id, now - anonymise_months(shop) * MONTH).where(
            ReturnRequest.anonymised_at.is_(None)
        )
        shop_id = shop.id
        while ids := list(db.session.scalars(due.order_by(ReturnRequest.id).limit(batch))):
            keys = customer_erasure.depersonalise(customer_data.of_requests(shop_id, ids))
            audit.record_retention_anonymisation(shop_id, len(ids))
            if record is not None:
                record.requests_anonymised += len(ids)
                record.files_deleted += len(keys)
            db.session.commit()
            customer_erasure.delete_files(keys)
            requests, files = requests + len(ids), files + len(keys)
            if len(ids) < batch:
                break
    return requests, files


# --- outbox --------------------------------------------------------------------------------------


def trim_outbox(
    now: datetime | None = None, batch: int = BATCH, record: RetentionRun | None = None
) -> int:
    """Empty the bodies of emails and the payloads of webhook deliveries written more than
    ``TRIM_AFTER`` ago and no longer to be sent; returns how many were trimmed."""
    now = now or utcnow()
    cutoff = now - TRIM_AFTER
    emails = select(OutboundEmail.id).where(
        OutboundEmail.created_at < cutoff,
        OutboundEmail.status.in_(FINISHED_EMAILS),
        OutboundEmail.trimmed_at.is_(None),
    )
    deliveries = select(WebhookDelivery.id).where(
        WebhookDelivery.created_at < cutoff,
        WebhookDelivery.status.in_(FINISHED_DELIVERIES),
        WebhookDelivery.trimmed_at.is_(None),
    )
    emptied = {"body_text": "", "body_html": None}
    trimmed = _trim(emails, OutboundEmail, emptied, now, batch, record)
    return trimmed + _trim(deliveries, WebhookDelivery, {"payload": {}}, now, batch, record)


def _trim(chosen, model, emptied: dict, now: datetime, batch: int, record) -> int:
    def empty(ids: list[int]) -> None:
        db.session.execute(
            update(model)
            .where(model.id.in_(ids))
            .values(**emptied, trimmed_at=now)
            .execution_options(synchronize_session=False)
        )

    return _in_batches(chosen.order_by(model.id), batch, empty, record, "bodies_trimmed")


def _in_batches(
    chosen, batch: int, change: Callable[[list[int]], None], record, counter: str
) -> int:
    """``change`` the rows whose ids ``chosen`` selects, ``batch`` at a time, each batch in a
    transaction of its own that also adds its size to the run's ``counter``; returns how
    many rows were changed."""
    changed = 0
    while ids := list(db.session.scalars(chosen.limit(batch))):
        change(ids)
        if record is not None:
            setattr(record, counter, getattr(record, counter) + len(ids))
        db.session.commit()
        changed += len(ids)
        if len(ids) < batch:
            break
    return changed


# --- the bell ------------------------------------------------------------------------------------


def prune_notifications(
    now: datetime | None = None, batch: int = BATCH, record: RetentionRun | None = None
) -> int:
    """Delete the bell entries written more than ``NOTIFICATIONS_KEPT`` ago; returns how many."""
    cutoff = (now or utcnow()) - NOTIFICATIONS_KEPT
    chosen = select(Notification.id).where(Notification.created_at < cutoff)

    def delete_them(ids: list[int]) -> None:
        db.session.execute(
            delete(Notification)
            .where(Notification.id.in_(ids))
            .execution_options(synchronize_session=False)
        )

    return _in_batches(
        chosen.order_by(Notification.id), batch, delete_them, record, "notifications_deleted"
    )
