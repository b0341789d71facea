"""The label job: one return's label created once through its carrier, stored and emailed;
retried with backoff while the carrier is down, and swept up when a worker died."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any, cast

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import CursorResult, or_, select, update

from domain import audit, emails
from extensions import db
from models import Attachment, Return, utcnow
from services import labels, storage
from services.jobs import RETRY_INTERVALS, enqueue

log = logging.getLogger(__name__)

# A label job silent this long belongs to a worker that died; the sweeper hands it over again.
STALE_LABEL_JOB = timedelta(minutes=10)


def start_label_job(return_id: int) -> None:
    """Hand a committed return to the label job (RQ, or in-process without Redis)."""
    enqueue("create_label", return_id, job_id=f"label-{return_id}-{utcnow().timestamp():.0f}")


def _claim_label(return_id: int) -> bool:
    result = db.session.execute(
        update(Return)
        .where(Return.id == return_id, Return.label_status == "pending")
        .values(
            label_status="working", label_attempts=Return.label_attempts + 1, updated_at=utcnow()
        )
        .execution_options(synchronize_session=False)
    )
    # An UPDATE hands back a CursorResult, which counts the rows; Session.execute says Result.
    claimed = cast(CursorResult[Any], result).rowcount
    db.session.commit()
    return claimed == 1


def create_label(return_id: int) -> None:
    """Create a return's label once through its carrier, store the PDF and email it.

    A carrier that is down or busy (a retryable ``CarrierError``) puts the return back to
    pending and raises, so RQ retries with backoff (in-process, the sweeper does); after the
    last attempt, and at once for a refusal, the label is "failed" with the carrier's message
    in ``label_error``, which the customer and support see.
    """
    if not _claim_label(return_id):
        return
    return_ = db.session.get(Return, return_id)
    if return_ is None:  # deleted since it was claimed
        return
    request = return_.request
    try:
        result = labels.get_adapter(return_.shop, return_.carrier).create_label(
            return_, request, return_.shop
        )
    except Exception as error:
        if not isinstance(error, labels.CarrierError):
            log.exception("label job of return %s crashed", return_id)
            error = labels.CarrierError(_l("The label could not be created."), retryable=True)
        retry = error.retryable and return_.label_attempts <= len(RETRY_INTERVALS)
        _label_failed(return_, error, retry)
        if retry:
            raise error from None
        return
    _label_ready(return_, result)


def _label_failed(return_: Return, error: Exception, retry: bool) -> None:
    """Keep the carrier's message (in the customer's language) and the reference it gave."""
    with force_locale(return_.request.language):
        message = str(error)
    return_.label_error = message
    return_.label_status = "pending" if retry else "failed"
    if not retry:
        audit.record(
            return_.request,
            audit.Actor(label=return_.carrier),
            "label_failed",
            note=message,
            return_id=return_.id,
        )
    db.session.commit()
    log.warning("label of return %s failed (retry: %s): %s", return_.number, retry, message)


def _label_ready(return_: Return, result: labels.LabelResult) -> None:
    request = return_.request
    attachment = storage.save(
        result.pdf_bytes,
        f"{return_.number}.pdf",
        "application/pdf",
        return_.shop_id,
        request_id=request.id,
    )
    return_.label_storage_key = attachment.storage_key
    return_.tracking_number = result.tracking_number
    return_.tracking_url = result.tracking_url
    return_.qr_payload = result.qr_payload
    return_.carrier_reference = result.carrier_reference or return_.carrier_reference
    return_.label_status = "ready"
    return_.label_error = None
    db.session.flush()
    audit.record(
        request,
        audit.Actor(label=return_.carrier),
        "label_ready",
        note=result.tracking_number,
        return_id=return_.id,
    )
    emails.queue_email(
        "return_label",
        request.customer_email,
        request.language,
        shop=return_.shop,
        request=request,
        return_=return_,
        attachment_ids=[attachment.id],
    )
    db.session.commit()


def sweep_labels(now=None) -> int:
    """Hand labels left pending (in-process retry, Redis down) or stuck in a dead worker
    to the label job again; returns how many."""
    now = now or utcnow()
    db.session.execute(
        update(Return)
        .where(Return.label_status == "working", Return.updated_at < now - STALE_LABEL_JOB)
        .values(label_status="pending")
    )
    conditions = [Return.label_attempts == 0]
    for attempts, seconds in enumerate(RETRY_INTERVALS, start=1):
        conditions.append(
            (Return.label_attempts == attempts)
            & (Return.updated_at < now - timedelta(seconds=seconds))
        )
    ids = db.session.scalars(
        select(Return.id).where(Return.label_status == "pending", or_(*conditions))
    ).all()
    db.session.commit()
    for return_id in ids:
        start_label_job(return_id)
    return len(ids)


def label_attachment(return_: Return) -> Attachment | None:
    """The stored label PDF of a return, once its label is ready."""
    if return_.label_status != "ready" or not return_.label_storage_key:
        return None
    return db.session.scalar(
        select(Attachment).where(Attachment.storage_key == return_.label_storage_key)
    )
