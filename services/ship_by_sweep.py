"""The ship-by sweeps (``services.sweeps``, run by the workers' schedule): remind customers whose ship-by date is
near, expire the approved requests past it (``domain.ship_by``). Each commits its own work,
so the emails it wrote are handed to the outbox at once."""

from __future__ import annotations

from datetime import datetime

from domain import workflow
from extensions import db


def sweep_reminders(now: datetime | None = None) -> int:
    """Email the ship-by reminders that are due; returns how many."""
    reminded = workflow.remind_ship_by(now)
    db.session.commit()
    return reminded


def sweep_expired(now: datetime | None = None) -> int:
    """Expire the approved requests whose ship-by date passed without a label; returns how many."""
    expired = workflow.expire_overdue(now)
    db.session.commit()
    return expired
