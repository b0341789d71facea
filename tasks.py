"""Background jobs (email delivery, and later labels and bulk work) and ``enqueue()``.

Side effects are outbox rows first. When a transaction that wrote such rows commits, the
rows are handed to RQ when ``REDIS_URL`` is set, or run in-process right away otherwise.
Jobs are idempotent: they claim their row with a conditional UPDATE, do the work once and
mark it done, so a retry or a second enqueue of the same row does nothing.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from flask import current_app, has_app_context
from flask_mail import Message as MailMessage
from sqlalchemy import event, or_, select, update
from sqlalchemy.orm import Session

from extensions import db, mail
from models import BulkJob, OutboundEmail, ReviewStage, utcnow

log = logging.getLogger(__name__)

# Seconds between delivery attempts of one email; RQ and the sweeper both follow it.
RETRY_INTERVALS = [10, 30, 120, 600, 1800]
# A row claimed this long ago without being marked sent belongs to a worker that died.
STALE_CLAIM = timedelta(minutes=10)
_OUTBOX_KEY = "returndesk_outbox"
# Emails committed together go out in jobs of this many, each over one SMTP connection.
EMAIL_BATCH = 50


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
    from rq import Queue

    return Queue(current_app.config["RQ_QUEUE"], connection=redis_connection())


def enqueue(func_name: str, *args: Any, job_id: str | None = None) -> None:
    """Run ``tasks.<func_name>(*args)`` in the background (RQ) or, without Redis, right now.

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
            retry=Retry(max=len(RETRY_INTERVALS), interval=RETRY_INTERVALS),
        )
    except Exception:
        log.exception("could not enqueue %s%r; the sweeper will retry", func_name, args)


def _remember_new_emails(session: Session, flush_context: Any) -> None:
    ids = session.info.setdefault(_OUTBOX_KEY, [])
    ids.extend(obj.id for obj in session.new if isinstance(obj, OutboundEmail))


def deliver_after_commit(email_ids: list[int]) -> None:
    """Hand outbox rows written without the ORM unit of work to the runner after commit."""
    db.session.info.setdefault(_OUTBOX_KEY, []).extend(email_ids)


def _deliver_after_commit(session: Session) -> None:
    ids = session.info.pop(_OUTBOX_KEY, [])
    for start in range(0, len(ids), EMAIL_BATCH):
        batch = ids[start : start + EMAIL_BATCH]
        job_id = f"email-{batch[0]}" if len(batch) == 1 else f"emails-{batch[0]}-{batch[-1]}"
        enqueue("deliver_emails", batch, job_id=job_id)


def _forget_after_rollback(session: Session) -> None:
    session.info.pop(_OUTBOX_KEY, None)


def listen_for_commits() -> None:
    """Hand outbox rows to the job runner once the transaction that wrote them commits."""
    if event.contains(Session, "after_flush", _remember_new_emails):
        return
    event.listen(Session, "after_flush", _remember_new_emails)
    event.listen(Session, "after_commit", _deliver_after_commit)
    event.listen(Session, "after_rollback", _forget_after_rollback)


def _claim(session: Session, email_ids: list[int]) -> list[int]:
    """Claim the pending ones of these rows for this worker, in one UPDATE; returns their ids."""
    claimed = session.scalars(
        update(OutboundEmail)
        .where(OutboundEmail.id.in_(email_ids), OutboundEmail.status == "pending")
        .values(status="sending", attempts=OutboundEmail.attempts + 1, claimed_at=utcnow())
        .returning(OutboundEmail.id)
    ).all()
    session.commit()
    return sorted(claimed)


def _mail_message(email: OutboundEmail, session: Session) -> MailMessage:
    import storage

    message = MailMessage(
        subject=email.subject,
        recipients=[email.to_address],
        body=email.body_text,
        html=email.body_html,
    )
    for attachment in storage.attachments_by_id(email.attachment_ids, session):
        message.attach(attachment.original_name, attachment.content_type, storage.read(attachment))
    return message


def deliver_email(email_id: int) -> None:
    """Send one outbox email exactly once; raise on failure so RQ retries with backoff.

    Without ``MAIL_SERVER`` the row stays pending and readable in the admin's Outbox.
    """
    deliver_emails([email_id])


def deliver_emails(email_ids: list[int]) -> None:
    """Send a batch of outbox emails over one SMTP connection, each exactly once.

    A failed email is marked for retry and the rest of the batch still goes out; the job
    raises at the end so RQ retries it (rows already sent are skipped by their claim).
    """
    import emails

    with app_context():
        if not current_app.config.get("MAIL_SERVER"):
            return
        with Session(db.engine, expire_on_commit=False) as session:
            claimed = _claim(session, email_ids)
            if not claimed:
                return
            batch = session.scalars(
                select(OutboundEmail)
                .where(OutboundEmail.id.in_(claimed))
                .order_by(OutboundEmail.id)
            ).all()
            requests = emails.load_for_rendering(batch, session)
            failures = []
            try:
                connection = mail.connect().__enter__()
            except Exception as exc:
                for email in batch:
                    _mark_failed(email, exc)
                session.commit()
                raise
            try:
                for email in batch:
                    try:
                        emails.render_stored(email, requests)
                        connection.send(_mail_message(email, session))
                    except Exception as exc:
                        failures.append(_mark_failed(email, exc))
                    else:
                        email.status = "sent"
                        email.sent_at = utcnow()
                        email.last_error = None
                    session.commit()
            finally:
                connection.__exit__(None, None, None)
        if failures:
            raise RuntimeError(f"{len(failures)} of {len(claimed)} emails failed: {failures[0]}")


def _mark_failed(email: OutboundEmail, exc: Exception) -> str:
    """Back to pending for a retry, or failed for good after the last attempt."""
    email.status = "failed" if email.attempts > len(RETRY_INTERVALS) else "pending"
    email.last_error = f"{type(exc).__name__}: {exc}"[:2000]
    return email.last_error


def due_for_retry(now=None):
    """Pending rows whose backoff has passed, and rows claimed by a worker that died."""
    now = now or utcnow()
    stale = update(OutboundEmail).where(
        OutboundEmail.status == "sending", OutboundEmail.claimed_at < now - STALE_CLAIM
    )
    db.session.execute(stale.values(status="pending"))
    conditions = [OutboundEmail.attempts == 0]
    for attempts, seconds in enumerate(RETRY_INTERVALS, start=1):
        conditions.append(
            (OutboundEmail.attempts == attempts)
            & (OutboundEmail.claimed_at < now - timedelta(seconds=seconds))
        )
    return db.session.scalars(
        select(OutboundEmail.id)
        .where(OutboundEmail.status == "pending", or_(*conditions))
        .order_by(OutboundEmail.id)
    ).all()


def sweep_outbox() -> int:
    """Hand every due outbox row to the job runner again; returns how many."""
    ids = due_for_retry()
    db.session.commit()
    for email_id in ids:
        enqueue("deliver_email", email_id, job_id=f"email-{email_id}")
    return len(ids)


# A bulk job silent this long belongs to a worker that died; the sweeper resumes it.
STALE_BULK_JOB = timedelta(minutes=5)


def run_bulk_job(job_id: int) -> None:
    """Run a confirmed bulk action chunk by chunk, committing progress with each chunk.

    Transitions, audit events, outbox rows and the progress counter of one chunk commit
    together, so a worker killed mid-way leaves a consistent state and a re-run resumes
    after the last committed chunk: every request is changed (and emailed) exactly once.
    """
    import workflow

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
