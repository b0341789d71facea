"""The audit trail: who did what to which request or return, and when.

Every change the workflow, the notice rules or the label job make is recorded here, so a
request's history tells the whole story (``AuditEvent`` rows). ``domain.notifications``
reads each event as it is flushed and tells the staff who should know of it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from extensions import db
from models import AuditEvent, ReturnRequest, User


@dataclass
class Actor:
    """Who acts: a staff user, or a rule, the customer or an API key (``user`` None)."""

    user: User | None = None
    label: str | None = None

    @property
    def name(self) -> str:
        return self.user.name if self.user else (self.label or "system")


def as_actor(actor: User | Actor | None, label: str | None = None) -> Actor:
    if isinstance(actor, Actor):
        return actor
    return Actor(user=actor, label=label)


CUSTOMER = Actor(label="customer")


def record(
    request: ReturnRequest,
    actor: User | Actor | None,
    action: str,
    *,
    from_status: str | None = None,
    to_status: str | None = None,
    note: str | None = None,
    return_id: int | None = None,
    session: Session | None = None,
) -> AuditEvent:
    """Write the audit event of something done to a request (or its return), in ``session``
    (the delivery jobs' own) or else the app's."""
    who = as_actor(actor)
    event = AuditEvent(
        shop_id=request.shop_id,
        request_id=request.id,
        return_id=return_id,
        actor_id=who.user.id if who.user else None,
        actor_label=None if who.user else who.label,
        action=action,
        from_status=from_status,
        to_status=to_status,
        note=note,
    )
    (session or db.session()).add(event)
    return event


def record_customer_export(shop_id: int | None, actor: User | Actor, email: str) -> AuditEvent:
    """Audit an export of a customer's data (who, when, for which address). The address is
    personal data too: erasing the customer de-personalises this note with the rest."""
    return _record_for_shop(
        AuditEvent(shop_id=shop_id, action="customer_data_exported", note=email), actor
    )


def record_customer_erasure(shop_id: int | None, actor: User | Actor, note: str) -> AuditEvent:
    """Audit an erasure; ``note`` says what went (counts), never whose data it was."""
    return _record_for_shop(AuditEvent(shop_id=shop_id, action="customer_erased", note=note), actor)


def record_retention_anonymisation(shop_id: int, count: int) -> AuditEvent:
    """Audit a batch of the shop's requests its retention rules anonymised: how many, never
    whose (ReturnDesk itself acts)."""
    event = AuditEvent(shop_id=shop_id, action="requests_anonymised", note=str(count))
    return _record_for_shop(event, Actor())


def _record_for_shop(event: AuditEvent, actor: User | Actor) -> AuditEvent:
    who = as_actor(actor)
    event.actor_id = who.user.id if who.user else None
    event.actor_label = None if who.user else who.label
    db.session.add(event)
    return event
