"""The periodic work of ReturnDesk, run by the workers' schedule (``services.schedule``) or,
without Redis, by ``flask outbox sweep``.

Each sweeper is idempotent and set-based: running it twice at once, or after a crash, hands
nothing over twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from extensions import db
from services import (
    bulk_jobs,
    customer_erasure,
    import_previews,
    label_jobs,
    outbox,
    refund_jobs,
    ship_by_sweep,
    storage,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Sweeper:
    name: str
    # What the number it returns counts, for the log and the command line.
    outcome: str
    sweep: Callable[[], int]


SWEEPERS = (
    Sweeper("the outbox", "outbox rows handed to the job runner", outbox.sweep_outbox),
    Sweeper("bulk jobs", "interrupted bulk jobs resumed", bulk_jobs.sweep_bulk_jobs),
    Sweeper("labels", "return labels handed to the label job", label_jobs.sweep_labels),
    Sweeper("refunds", "refunds handed to the refund job", refund_jobs.sweep_refunds),
    Sweeper("ship-by reminders", "ship-by reminders emailed", ship_by_sweep.sweep_reminders),
    Sweeper(
        "ship-by dates", "requests expired past their ship-by date", ship_by_sweep.sweep_expired
    ),
    Sweeper("draft uploads", "abandoned draft uploads removed", storage.sweep_abandoned_uploads),
    Sweeper(
        "order import previews",
        "unimported order files removed",
        import_previews.sweep_abandoned,
    ),
    Sweeper(
        "scheduled erasures",
        "customers erased once their returns settled",
        customer_erasure.sweep_scheduled,
    ),
)


def sweep_all(report: Callable[[str], None] = log.info) -> bool:
    """Run every sweeper once; one that fails is logged and the others still run.

    Returns whether all of them succeeded.
    """
    succeeded = True
    for sweeper in SWEEPERS:
        try:
            report(f"{sweeper.sweep()} {sweeper.outcome}")
        except Exception:
            log.exception("sweeping %s failed; trying again later", sweeper.name)
            db.session.rollback()
            succeeded = False
    return succeeded
