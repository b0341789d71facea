"""The return tests' steps: an approved request, its label, the jobs, and what they left."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import select

from domain import audit, workflow
from extensions import db
from factories import make_request
from models import AuditEvent, OutboundEmail, Return, ReturnRequest, Shop, User
from services import jobs, label_jobs, labels


def approved_request(shop: Shop, agent: User, language: str = "en", **fields) -> ReturnRequest:
    """A request of two lines (one unit each: €49.95 and €59.95), approved and committed."""
    request = make_request(shop, language=language, **fields)
    workflow.approve(request, agent)
    db.session.commit()
    return request


def run_jobs() -> None:
    """Let the queued jobs run: in-process they already did; with Redis, an RQ worker does."""
    if not current_app.config.get("REDIS_URL"):
        return
    from rq import SimpleWorker

    SimpleWorker([jobs.queue()], connection=jobs.redis_connection()).work(burst=True)
    db.session.expire_all()


def create_label(request: ReturnRequest, carrier: str = "own") -> Return:
    """The customer creates the label; committed, then the label job runs."""

    return_ = labels.create_return(request, carrier, audit.CUSTOMER)
    db.session.commit()
    label_jobs.start_label_job(return_.id)
    run_jobs()
    db.session.refresh(return_)
    return return_


def emails_to(address: str, template: str) -> list[OutboundEmail]:
    """The outbox rows of ``template`` written to ``address``."""
    return list(
        db.session.scalars(
            select(OutboundEmail).where(
                OutboundEmail.to_address == address, OutboundEmail.template == template
            )
        )
    )


def return_audit(return_: Return) -> list[tuple[str, str | None, str | None]]:
    return [
        (e.action, e.from_status, e.to_status)
        for e in db.session.scalars(
            select(AuditEvent).where(AuditEvent.return_id == return_.id).order_by(AuditEvent.id)
        )
    ]
