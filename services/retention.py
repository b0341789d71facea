"""Keep no longer than the shop decides: a closed request's photos and message files are
deleted ``Shop.file_retention_months`` after it was closed (GDPR's storage limitation).

A request is closed when completed, cancelled or expired; the moment it was closed is taken
as its last change (``updated_at``), so a later change only keeps its files longer. Return
labels stay with their return. Set-based and in batches: each batch's rows go in one
transaction, their files after the commit (as ``storage.sweep_abandoned_uploads`` does), so a
second run finds nothing more to do and a crash leaves no row pointing at a missing file.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select

from extensions import db
from models import CANCELLED, COMPLETED, EXPIRED, Attachment, Return, ReturnRequest, Shop, utcnow
from services import stores

CLOSED_STATUSES = (COMPLETED, CANCELLED, EXPIRED)
# A month of the retention settings, for the cut-off (a day either way does not matter).
MONTH = timedelta(days=30)


def sweep_expired_files(now: datetime | None = None, batch: int = 500) -> int:
    """Delete the photos and message files past their shop's retention; returns how many."""
    now = now or utcnow()
    deleted = 0
    for shop_id, months in db.session.execute(select(Shop.id, Shop.file_retention_months)):
        cutoff = now - months * MONTH
        while keys := _delete_batch(shop_id, cutoff, batch):
            db.session.commit()
            for key in keys:
                stores.current().delete(key)
            deleted += len(keys)
            if len(keys) < batch:
                break
    return deleted


def _delete_batch(shop_id: int, cutoff: datetime, batch: int) -> list[str]:
    """Delete up to ``batch`` expired files' rows of one shop; their storage keys."""
    closed = select(ReturnRequest.id).where(
        ReturnRequest.shop_id == shop_id,
        ReturnRequest.status.in_(CLOSED_STATUSES),
        ReturnRequest.updated_at < cutoff,
    )
    labels = select(Return.label_storage_key).where(Return.label_storage_key.is_not(None))
    expired = (
        select(Attachment.id)
        .where(
            Attachment.shop_id == shop_id,
            Attachment.request_id.in_(closed),
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
