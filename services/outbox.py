"""The outbox: emails and webhook deliveries written as rows in the caller's transaction,
handed to the job runner once it commits, claimed by one worker, retried with backoff and
swept up when a worker died.

Jobs are idempotent: they claim their row with a conditional UPDATE, do the work once and
mark it done, so a retry or a second enqueue of the same row does nothing.
"""

from __future__ import annotations

import logging
import smtplib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import ColumnElement, event, or_, select, update
from sqlalchemy.orm import Session, object_session

from domain import audit, emails, outbox_rows
from domain.submission import aware
from extensions import db
from models import OutboundEmail, WebhookDelivery, utcnow
from services import inbound_mail, mailer, outbound, storage, webhooks
from services.jobs import RETRY_INTERVALS, enqueue
from services.mailer import mail

log = logging.getLogger(__name__)

# Emails that could not be sent are tried again 10 s later, then each time twice as late but
# at most an hour apart, until they are three days old: then they are "failed" and wait for
# "Retry now" in the Outbox. RQ's retries (RETRY_INTERVALS) never come before this schedule.
# An email the mail server refuses for good (``refused_for_good``) fails at its first attempt.
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


# The tables that hold outbox rows.
OutboxModel = type[OutboundEmail] | type[WebhookDelivery]


@dataclass(frozen=True)
class OutboxKind:
    """A table of outbox rows and the job that delivers a batch of them, e.g. emails or webhooks.

    Every such table has ``status`` (pending/sending/...), ``attempts`` and ``claimed_at``,
    so claiming, handing over after commit and sweeping work the same for all of them.
    """

    model: OutboxModel
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


EMAILS = OutboxKind(
    OutboundEmail,
    "deliver_emails",
    "email",
    batch_size=EMAIL_BATCH,
    job_timeout=email_job_timeout,
)


WEBHOOKS = OutboxKind(WebhookDelivery, "deliver_webhooks", "webhook")


OUTBOX_KINDS = (EMAILS, WEBHOOKS)


def _kind_of(model: type) -> OutboxKind | None:
    return next((kind for kind in OUTBOX_KINDS if kind.model is model), None)


def _remember_new_outbox_rows(session: Session, flush_context: Any) -> None:
    outbox_rows.note_written(
        session, [(type(row), row.id) for row in session.new if _kind_of(type(row))]
    )


def _deliver_after_commit(session: Session) -> None:
    rows = outbox_rows.take_written(session)
    for kind in OUTBOX_KINDS:
        if row_ids := [row_id for model, row_id in rows if model is kind.model]:
            kind.enqueue(row_ids)


def _forget_after_rollback(session: Session, previous_transaction: Any = None) -> None:
    outbox_rows.take_written(session)


def listen_for_commits() -> None:
    """Hand outbox rows to the job runner once the transaction that wrote them commits."""
    if event.contains(Session, "after_flush", _remember_new_outbox_rows):
        return
    event.listen(Session, "after_flush", _remember_new_outbox_rows)
    event.listen(Session, "after_commit", _deliver_after_commit)
    event.listen(Session, "after_rollback", _forget_after_rollback)


def _claim(session: Session, model: OutboxModel, row_id: int) -> bool:
    """Take a pending outbox row for this worker; False when another one has it or it is done."""
    return _claim_many(session, model, [row_id]) == [row_id]


def _claim_many(session: Session, model: OutboxModel, row_ids: list[int]) -> list[int]:
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
    attachments = [
        (storage.download_name(attachment), attachment.content_type, storage.read(attachment))
        for attachment in storage.attachments_by_id(email.attachment_ids, session)
    ]
    return mailer.message(
        email.to_address,
        email.subject,
        email.body_text,
        email.body_html,
        attachments,
        reply_to=_reply_address(email),
    )


def _reply_address(email: OutboundEmail) -> str | None:
    """A customer's email about a request is answered into its thread (inbound_mail.py);
    the address is made at sending, so a renewed status link renews it too."""
    request = email.request
    if request is None or email.to_address.lower() != request.customer_email.lower():
        return None
    return inbound_mail.reply_address(request)


class EmailsNotSent(Exception):
    """Some emails of a batch failed; they are pending again (or failed for good)."""


def email_retry_delay(attempts: int) -> timedelta:
    """How long an email waits after its ``attempts``-th failed attempt: 10 s, 20 s, 40 s …
    at most an hour."""
    doublings = min(max(attempts - 1, 0), 20)
    return min(EMAIL_FIRST_RETRY * 2**doublings, EMAIL_LONGEST_RETRY)


def refused_for_good(exc: Exception) -> bool:
    """Whether the mail server refused this email itself with a permanent (5xx) reply: every
    recipient unknown, say, or the message rejected. Sending it again cannot help, so it
    fails at once and is on support's bell today rather than in three days. A refusal of the
    server's own settings (login, sender) is not the email's: it is retried as before, so
    fixing the settings delivers it."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return bool(exc.recipients) and all(
            500 <= code < 600 for code, _reply in exc.recipients.values()
        )
    return isinstance(exc, smtplib.SMTPDataError) and 500 <= exc.smtp_code < 600


def failure_text(exc: Exception) -> str:
    """What went wrong, as support reads it in the Outbox: the mail server's own reply where
    it gave one ("550 mailbox unavailable (b@example.nl)"), else the error."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "; ".join(
            f"{code} {_reply_text(reply)} ({address})"
            for address, (code, reply) in exc.recipients.items()
        )
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{exc.smtp_code} {_reply_text(exc.smtp_error)}"
    return f"{type(exc).__name__}: {exc}"


def _reply_text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply


def _attempt_failed(email: OutboundEmail, exc: Exception) -> None:
    """Schedule the next attempt, or give up on an email refused for good or older than the
    retry window."""
    now = utcnow()
    gives_up = refused_for_good(exc) or aware(email.created_at) <= now - EMAIL_RETRY_WINDOW
    email.status = "failed" if gives_up else "pending"
    email.next_attempt_at = None if gives_up else now + email_retry_delay(email.attempts)
    email.last_error = failure_text(exc)[:2000]
    if gives_up and email.request is not None:
        # In the request's history, and so on support's bell: its reader was never told.
        audit.record(
            email.request,
            None,
            "email_failed",
            note=email.template,
            session=object_session(email),
        )


def _renew_claims(session: Session, emails: Sequence[OutboundEmail]) -> None:
    session.execute(
        update(OutboundEmail)
        .where(OutboundEmail.id.in_([email.id for email in emails]))
        .where(OutboundEmail.status == "sending")
        .values(claimed_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    session.commit()


def _send_batch(session: Session, batch: Sequence[OutboundEmail]) -> int:
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
    with Session(db.engine, expire_on_commit=False) as session:
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


def deliver_webhook(delivery_id: int) -> None:
    """POST one webhook delivery, signed; raise on failure so RQ retries with backoff.

    An endpoint switched off since the event was queued gets nothing (status ``skipped``).
    A URL that leads to a private address, or a receiver that redirects, fails the delivery
    at once: trying again would be refused again.
    """
    with Session(db.engine) as session:
        if not _claim(session, WebhookDelivery, delivery_id):
            return
        delivery = session.get(WebhookDelivery, delivery_id)
        if delivery is None:  # deleted (with its endpoint) since it was claimed
            return
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


def due_for_retry(now: datetime | None = None, model: OutboxModel = OutboundEmail) -> list[int]:
    """Pending rows of one outbox table whose backoff has passed, and rows claimed by a
    worker that died."""
    now = now or utcnow()
    stale = update(model).where(model.status == "sending", model.claimed_at < now - STALE_CLAIM)
    db.session.execute(stale.values(status="pending"))
    return list(
        db.session.scalars(
            select(model.id)
            .where(model.status == "pending", _backoff_passed(model, now))
            .order_by(model.id)
        )
    )


def _backoff_passed(model: OutboxModel, now: datetime) -> ColumnElement[bool]:
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
        EMAILS.enqueue(retried)
    return retried


def sweep_outbox(now: datetime | None = None) -> int:
    """Hand every due outbox row (emails, webhooks) to the job runner again; returns how many."""
    due = [(kind, due_for_retry(now, kind.model)) for kind in OUTBOX_KINDS]
    db.session.commit()
    for kind, row_ids in due:
        if row_ids:
            kind.enqueue(row_ids)
    return sum(len(row_ids) for _kind, row_ids in due)
