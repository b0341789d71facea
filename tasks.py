"""Background jobs (email and webhook delivery, and later labels and bulk work) and ``enqueue()``.

Side effects are outbox rows first. When a transaction that wrote such rows commits, the
rows are handed to RQ when ``REDIS_URL`` is set, or run in-process right away otherwise.
Jobs are idempotent: they claim their row with a conditional UPDATE, do the work once and
mark it done, so a retry or a second enqueue of the same row does nothing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app, has_app_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import event, or_, select, update
from sqlalchemy.orm import Session

from extensions import db
from models import BulkJob, OutboundEmail, Return, ReviewStage, WebhookDelivery, utcnow
from services import mailer, outbound
from services.mailer import mail

log = logging.getLogger(__name__)

# Seconds between delivery attempts of a job (RQ's retries) and of a webhook delivery (also
# the sweeper's); after the last, a webhook delivery or a label is "failed".
RETRY_INTERVALS = [10, 30, 120, 600, 1800]
# Emails that could not be sent are tried again 10 s later, then each time twice as late but
# at most an hour apart, until they are three days old: then they are "failed" and wait for
# "Retry now" in the Outbox. RQ's retries (RETRY_INTERVALS) never come before this schedule.
EMAIL_FIRST_RETRY = timedelta(seconds=10)
EMAIL_LONGEST_RETRY = timedelta(hours=1)
EMAIL_RETRY_WINDOW = timedelta(days=3)
# A row claimed this long ago without being marked sent belongs to a worker that died.
STALE_CLAIM = timedelta(minutes=10)
# A worker renews the claim of the emails its batch has yet to send this often, so that a
# long batch to a slow mail server is never taken for a dead worker's. It must stay well
# under STALE_CLAIM minus the longest one email can take (mailer.longest_send(1)).
CLAIM_RENEWAL = timedelta(minutes=1)
# Seconds a delivery job may take besides talking to the mail server: writing the batch's
# unwritten emails, reading attachments, committing each outcome.
EMAIL_JOB_MARGIN = 120
_OUTBOX_KEY = "returndesk_outbox"


def app_context():
    """The current app context, or one of a fresh app when an RQ worker runs a job bare."""
    if has_app_context():
        return _NullContext()
    from app import create_app

    return create_app().app_context()


class _NullContext:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def redis_connection():
    """One Redis client per app; it pools its own connections."""
    from redis import Redis

    if "redis" not in current_app.extensions:
        current_app.extensions["redis"] = Redis.from_url(current_app.config["REDIS_URL"])
    return current_app.extensions["redis"]


def queue():
    """ReturnDesk's RQ queue. ``RQ_ASYNC = False`` (the test suite's default) runs each job
    through Redis but right away in this process, as RQ's synchronous mode does."""
    from rq import Queue

    return Queue(
        current_app.config["RQ_QUEUE"],
        connection=redis_connection(),
        is_async=current_app.config.get("RQ_ASYNC", True),
    )


def enqueue(
    func_name: str, *args: Any, job_id: str | None = None, job_timeout: int | None = None
) -> None:
    """Run ``tasks.<func_name>(*args)`` in the background (RQ) or, without Redis, right now.

    ``job_timeout`` (seconds) replaces RQ's default of 180 for a job that can take longer;
    RQ interrupts a job past its timeout, whatever it is doing.

    A failure to reach Redis is logged, not raised: the row is still pending in the
    database and ``flask outbox sweep`` hands it over again later.
    """
    func = globals()[func_name]
    if not current_app.config.get("REDIS_URL"):
        try:
            func(*args)
        except Exception:
            log.exception("in-process job %s%r failed; the sweeper will retry", func_name, args)
        return
    from rq import Retry

    try:
        queue().enqueue(
            f"tasks.{func_name}",
            *args,
            job_id=job_id,
            job_timeout=job_timeout,
            retry=Retry(max=len(RETRY_INTERVALS), interval=RETRY_INTERVALS),
        )
    except Exception:
        log.exception("could not enqueue %s%r; the sweeper will retry", func_name, args)


@dataclass(frozen=True)
class OutboxKind:
    """A table of outbox rows and the job that delivers a batch of them, e.g. emails or webhooks.

    Every such table has ``status`` (pending/sending/...), ``attempts`` and ``claimed_at``,
    so claiming, handing over after commit and sweeping work the same for all of them.
    """

    model: type
    job: str
    job_prefix: str
    batch_size: int = 1
    # Seconds a job of a batch of this many rows may run; None: RQ's default.
    job_timeout: Callable[[int], int] | None = None

    def enqueue(self, row_ids: list[int]) -> None:
        for start in range(0, len(row_ids), self.batch_size):
            batch = row_ids[start : start + self.batch_size]
            enqueue(
                self.job,
                batch,
                job_id=f"{self.job_prefix}-{batch[0]}-{len(batch)}",
                job_timeout=self.job_timeout(len(batch)) if self.job_timeout else None,
            )


# Emails go in batches: one job loads, writes and sends 50 over one SMTP connection.
EMAIL_BATCH = 50


def email_job_timeout(emails: int) -> int:
    """Seconds a job sending ``emails`` may take: enough for every reply of the mail server
    to come just before the SMTP timeout, so RQ never interrupts an email in flight (the
    server may have kept it; sending it again would send it twice)."""
    return mailer.longest_send(emails) + EMAIL_JOB_MARGIN


OUTBOX_KINDS = (
    OutboxKind(
        OutboundEmail,
        "deliver_emails",
        "email",
        batch_size=EMAIL_BATCH,
        job_timeout=email_job_timeout,
    ),
    OutboxKind(WebhookDelivery, "deliver_webhooks", "webhook"),
)


def _kind_of(model: type) -> OutboxKind | None:
    return next((kind for kind in OUTBOX_KINDS if kind.model is model), None)


def _remember_new_outbox_rows(session: Session, flush_context: Any) -> None:
    rows = session.info.setdefault(_OUTBOX_KEY, [])
    for obj in session.new:
        if kind := _kind_of(type(obj)):
            rows.append((kind, obj.id))


def deliver_after_commit(model: type, row_ids: list[int]) -> None:
    """Hand over after commit outbox rows written with a bulk INSERT, which no flush sees."""
    kind = _kind_of(model)
    db.session.info.setdefault(_OUTBOX_KEY, []).extend((kind, row_id) for row_id in row_ids)


def _deliver_after_commit(session: Session) -> None:
    rows = session.info.pop(_OUTBOX_KEY, [])
    for kind in OUTBOX_KINDS:
        if row_ids := [row_id for row_kind, row_id in rows if row_kind is kind]:
            kind.enqueue(row_ids)


def _forget_after_rollback(session: Session, previous_transaction: Any = None) -> None:
    session.info.pop(_OUTBOX_KEY, None)


def listen_for_commits() -> None:
    """Hand outbox rows to the job runner once the transaction that wrote them commits."""
    if event.contains(Session, "after_flush", _remember_new_outbox_rows):
        return
    event.listen(Session, "after_flush", _remember_new_outbox_rows)
    event.listen(Session, "after_commit", _deliver_after_commit)
    event.listen(Session, "after_rollback", _forget_after_rollback)


def _claim(session: Session, model: type, row_id: int) -> bool:
    """Take a pending outbox row for this worker; False when another one has it or it is done."""
    return _claim_many(session, model, [row_id]) == [row_id]


def _claim_many(session: Session, model: type, row_ids: list[int]) -> list[int]:
    """Take the pending rows among ``row_ids`` for this worker; returns the ids it got."""
    claimed = session.scalars(
        update(model)
        .where(model.id.in_(row_ids), model.status == "pending")
        .values(status="sending", attempts=model.attempts + 1, claimed_at=utcnow())
        .returning(model.id)
    ).all()
    session.commit()
    return sorted(claimed)


def _mail_message(email: OutboundEmail, session: Session) -> mailer.Message:
    from services import storage

    attachments = [
        (storage.download_name(attachment), attachment.content_type, storage.read(attachment))
        for attachment in storage.attachments_by_id(email.attachment_ids, session)
    ]
    return mailer.message(
        email.to_address, email.subject, email.body_text, email.body_html, attachments
    )


class EmailsNotSent(Exception):
    """Some emails of a batch failed; they are pending again (or failed for good)."""


def email_retry_delay(attempts: int) -> timedelta:
    """How long an email waits after its ``attempts``-th failed attempt: 10 s, 20 s, 40 s …
    at most an hour."""
    doublings = min(max(attempts - 1, 0), 20)
    return min(EMAIL_FIRST_RETRY * 2**doublings, EMAIL_LONGEST_RETRY)


def _attempt_failed(email: OutboundEmail, exc: Exception) -> None:
    """Schedule the next attempt, or give up on an email older than the retry window."""
    from domain.submission import aware

    now = utcnow()
    gives_up = aware(email.created_at) <= now - EMAIL_RETRY_WINDOW
    email.status = "failed" if gives_up else "pending"
    email.next_attempt_at = None if gives_up else now + email_retry_delay(email.attempts)
    email.last_error = f"{type(exc).__name__}: {exc}"[:2000]


def _renew_claims(session: Session, emails: list[OutboundEmail]) -> None:
    session.execute(
        update(OutboundEmail)
        .where(OutboundEmail.id.in_([email.id for email in emails]))
        .where(OutboundEmail.status == "sending")
        .values(claimed_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    session.commit()


def _send_batch(session: Session, batch: list[OutboundEmail]) -> int:
    """Send each email over one SMTP connection, committing each outcome; returns failures."""
    failures = 0
    renewed = time.monotonic()
    with mail.connect() as connection:
        for index, email in enumerate(batch):
            if time.monotonic() - renewed > CLAIM_RENEWAL.total_seconds():
                _renew_claims(session, batch[index:])
                renewed = time.monotonic()
            try:
                connection.send(_mail_message(email, session))
            except Exception as exc:
                _attempt_failed(email, exc)
                failures += 1
            else:
                email.status, email.sent_at, email.last_error = "sent", utcnow(), None
            session.commit()
    return failures


def deliver_emails(email_ids: list[int]) -> None:
    """Write (when a bulk action left them unwritten) and send outbox emails, each exactly once.

    Raises when any failed, so RQ retries the job with backoff; a retry claims only the
    emails still pending. Without ``MAIL_SERVER`` the rows stay pending, written and
    readable in the admin's Outbox.
    """
    from domain import emails

    with app_context(), Session(db.engine, expire_on_commit=False) as session:
        emails.write_unwritten(session, email_ids)
        if not current_app.config.get("MAIL_SERVER"):
            return
        claimed = _claim_many(session, OutboundEmail, email_ids)
        if not claimed:
            return
        batch = session.scalars(
            select(OutboundEmail)
            .where(OutboundEmail.id.in_(claimed))
            .order_by(OutboundEmail.id)
            .execution_options(populate_existing=True)
        ).all()
        try:
            failures = _send_batch(session, batch)
        except Exception as exc:
            for email in batch:
                if email.status == "sending":
                    _attempt_failed(email, exc)
            session.commit()
            raise
        if failures:
            raise EmailsNotSent(f"{failures} of {len(batch)} emails not sent")


def deliver_webhooks(delivery_ids: list[int]) -> None:
    """Post each delivery of a batch (webhooks go one per job: see ``OUTBOX_KINDS``)."""
    for delivery_id in delivery_ids:
        deliver_webhook(delivery_id)


def deliver_webhook(delivery_id: int) -> None:
    """POST one webhook delivery, signed; raise on failure so RQ retries with backoff.

    An endpoint switched off since the event was queued gets nothing (status ``skipped``).
    A URL that leads to a private address, or a receiver that redirects, fails the delivery
    at once: trying again would be refused again.
    """
    from services import webhooks

    with app_context(), Session(db.engine) as session:
        if not _claim(session, WebhookDelivery, delivery_id):
            return
        delivery = session.get(WebhookDelivery, delivery_id)
        if not delivery.endpoint.active:
            delivery.status = "skipped"
            session.commit()
            return
        try:
            delivery.last_status_code = webhooks.post(delivery)
        except outbound.Refused as refused:
            delivery.status = "failed"
            delivery.last_status_code = getattr(refused, "status_code", None)
            delivery.last_error = f"{type(refused).__name__}: {refused}"[:2000]
            session.commit()
            log.warning("webhook delivery %s refused: %s", delivery_id, refused)
            return
        except Exception as exc:
            delivery.status = "failed" if delivery.attempts > len(RETRY_INTERVALS) else "pending"
            delivery.last_status_code = getattr(exc, "status_code", None)
            delivery.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            session.commit()
            raise
        delivery.status = "delivered"
        delivery.delivered_at = utcnow()
        delivery.last_error = None
        session.commit()


def due_for_retry(now: datetime | None = None, model: type = OutboundEmail) -> list[int]:
    """Pending rows of one outbox table whose backoff has passed, and rows claimed by a
    worker that died."""
    now = now or utcnow()
    stale = update(model).where(model.status == "sending", model.claimed_at < now - STALE_CLAIM)
    db.session.execute(stale.values(status="pending"))
    return db.session.scalars(
        select(model.id)
        .where(model.status == "pending", _backoff_passed(model, now))
        .order_by(model.id)
    ).all()


def _backoff_passed(model: type, now: datetime):
    """Emails say when they are due; webhook deliveries wait RETRY_INTERVALS after a claim."""
    if model is OutboundEmail:
        return or_(OutboundEmail.next_attempt_at.is_(None), OutboundEmail.next_attempt_at <= now)
    conditions = [model.attempts == 0]
    for attempts, seconds in enumerate(RETRY_INTERVALS, start=1):
        conditions.append(
            (model.attempts == attempts) & (model.claimed_at < now - timedelta(seconds=seconds))
        )
    return or_(*conditions)


def retry_emails_now(email_ids: list[int]) -> list[int]:
    """Give failed or failing emails a fresh schedule and hand them to the job runner now.

    Emails sent or being sent are left alone. An email past the retry window that fails
    again is "failed" again at once. Returns the ids handed over.
    """
    retried = db.session.scalars(
        update(OutboundEmail)
        .where(OutboundEmail.id.in_(email_ids), OutboundEmail.status.in_(("pending", "failed")))
        .values(status="pending", next_attempt_at=None)
        .returning(OutboundEmail.id)
        .execution_options(synchronize_session=False)
    ).all()
    db.session.commit()
    retried = sorted(retried)
    if retried:
        _kind_of(OutboundEmail).enqueue(retried)
    return retried


def sweep_outbox(now: datetime | None = None) -> int:
    """Hand every due outbox row (emails, webhooks) to the job runner again; returns how many."""
    due = [(kind, due_for_retry(now, kind.model)) for kind in OUTBOX_KINDS]
    db.session.commit()
    for kind, row_ids in due:
        if row_ids:
            kind.enqueue(row_ids)
    return sum(len(row_ids) for _kind, row_ids in due)


# A bulk job silent this long belongs to a worker that died; the sweeper resumes it.
STALE_BULK_JOB = timedelta(minutes=5)


def run_bulk_job(job_id: int) -> None:
    """Run a confirmed bulk action chunk by chunk, committing progress with each chunk.

    Transitions, audit events, outbox rows and the progress counter of one chunk commit
    together, so a worker killed mid-way leaves a consistent state and a re-run resumes
    after the last committed chunk: every request is changed (and emailed) exactly once.
    """
    from domain import workflow

    with app_context():
        job = db.session.get(BulkJob, job_id)
        if job is None or job.status == "done":
            return
        job.status = "running"
        db.session.commit()
        try:
            while job.done < job.total:
                chunk = job.request_ids[job.done : job.done + workflow.BULK_CHUNK]
                stage = db.session.get(ReviewStage, job.stage_id) if job.stage_id else None
                part = workflow.bulk_apply_chunk(job.action, chunk, job.actor, job.reason, stage)
                job.outcome = _merged_outcome(job.outcome, part)
                job.done += len(chunk)
                db.session.commit()
        except Exception as exc:
            db.session.rollback()
            job.error = f"{type(exc).__name__}: {exc}"[:2000]
            db.session.commit()
            raise
        job.status = "done"
        job.finished_at = utcnow()
        db.session.commit()


def _merged_outcome(so_far: dict, part) -> dict:
    skipped = dict(so_far.get("skipped", {}))
    for reason, n in (part.skipped or {}).items():
        skipped[reason] = skipped.get(reason, 0) + n
    return {"done": so_far.get("done", 0) + part.done, "skipped": skipped}


def start_bulk_job(job: BulkJob) -> None:
    """Hand a committed bulk job to the job runner."""
    enqueue("run_bulk_job", job.id, job_id=f"bulk-{job.id}")


def sweep_bulk_jobs(now=None) -> int:
    """Resume bulk jobs whose worker died (no progress for a while); returns how many."""
    now = now or utcnow()
    ids = db.session.scalars(
        select(BulkJob.id).where(
            BulkJob.status.in_(("pending", "running")), BulkJob.updated_at < now - STALE_BULK_JOB
        )
    ).all()
    for job_id in ids:
        enqueue("run_bulk_job", job_id, job_id=f"bulk-{job_id}-{int(now.timestamp())}")
    return len(ids)


# Return labels: one job per return, claimed with label_status pending → working.

# A label job silent this long belongs to a worker that died; the sweeper hands it over again.
STALE_LABEL_JOB = timedelta(minutes=10)


def start_label_job(return_id: int) -> None:
    """Hand a committed return to the label job (RQ, or in-process without Redis)."""
    enqueue("create_label", return_id, job_id=f"label-{return_id}-{utcnow().timestamp():.0f}")


def _claim_label(return_id: int) -> bool:
    claimed = db.session.execute(
        update(Return)
        .where(Return.id == return_id, Return.label_status == "pending")
        .values(
            label_status="working", label_attempts=Return.label_attempts + 1, updated_at=utcnow()
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return claimed == 1


def create_label(return_id: int) -> None:
    """Create a return's label once through its carrier, store the PDF and email it.

    A carrier that is down or busy (a retryable ``CarrierError``) puts the return back to
    pending and raises, so RQ retries with backoff (in-process, the sweeper does); after the
    last attempt, and at once for a refusal, the label is "failed" with the carrier's message
    in ``label_error``, which the customer and support see.
    """
    from services import labels

    with app_context():
        if not _claim_label(return_id):
            return
        return_ = db.session.get(Return, return_id)
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
    from flask_babel import force_locale

    from domain import workflow

    with force_locale(return_.request.language):
        message = str(error)
    return_.label_error = message
    return_.label_status = "pending" if retry else "failed"
    if not retry:
        workflow.record(
            return_.request,
            workflow.Actor(label=return_.carrier),
            "label_failed",
            note=message,
            return_id=return_.id,
        )
    db.session.commit()
    log.warning("label of return %s failed (retry: %s): %s", return_.number, retry, message)


def _label_ready(return_: Return, result) -> None:
    from domain import emails, workflow
    from services import storage

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
    workflow.record(
        request,
        workflow.Actor(label=return_.carrier),
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
