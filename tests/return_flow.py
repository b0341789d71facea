"""Shared setup for the return tests: a shop, its staff and an approved request (real rows)."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import select

from conftest import make_shop, make_user
from domain import audit, workflow
from extensions import db
from factories import make_request
from models import AuditEvent, OutboundEmail, Return, ReturnRequest, User
from return_builders import ADDRESS
from services import label_jobs, labels


def make_demo_shop(slug: str = "demo", name: str = "Demo Winkel", **fields):
    return make_shop(slug, name, **{**ADDRESS, **fields})


def approved_request(shop, agent: User, language: str = "en", **fields) -> ReturnRequest:
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

    from services import jobs

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


def staff(shop, email: str = "agent@example.com", role: str = "agent") -> User:
    return make_user(email, shop, role)
