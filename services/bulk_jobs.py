"""Bulk work on many requests as a background job: chunk by chunk, each chunk committed with
its progress, so a worker killed mid-way is resumed by the sweeper where it stopped."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from domain import workflow
from extensions import db
from models import BulkJob, ReviewStage, utcnow
from services.jobs import enqueue

# A bulk job silent this long belongs to a worker that died; the sweeper resumes it.
STALE_BULK_JOB = timedelta(minutes=5)


def run(job_id: int) -> None:
    """Run a confirmed bulk action chunk by chunk, committing progress with each chunk.

    Transitions, audit events, outbox rows and the progress counter of one chunk commit
    together, so a worker killed mid-way leaves a consistent state and a re-run resumes
    after the last committed chunk: every request is changed (and emailed) exactly once.
    """
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
