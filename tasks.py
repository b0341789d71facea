"""RQ job functions, the entry points a worker runs by name ("tasks.deliver_emails").

Each hands over to the service that does the work; side effects are outbox rows first, and
every job is idempotent, so a retry or a second enqueue does nothing twice. Workers run them
in the app's context: start them with ``flask rq worker``.
"""

from __future__ import annotations

from services import bulk_jobs, label_jobs, outbox, refund_jobs, schedule
from services.connectors import orders as connector_orders


def deliver_emails(email_ids: list[int]) -> None:
    """Write (when a bulk action left them unwritten) and send these outbox emails."""
    outbox.deliver_emails(email_ids)


def deliver_webhooks(delivery_ids: list[int]) -> None:
    """Post each webhook delivery of a batch, signed."""
    for delivery_id in delivery_ids:
        outbox.deliver_webhook(delivery_id)


def run_bulk_job(job_id: int) -> None:
    """Run a confirmed bulk action on its requests, resuming after its last committed chunk."""
    bulk_jobs.run(job_id)


def create_label(return_id: int) -> None:
    """Create a return's label through its carrier, store the PDF and email it."""
    label_jobs.create_label(return_id)


def send_refund(refund_id: int) -> None:
    """Carry out a resolved return's refund or store credit on the shop's platform, once."""
    refund_jobs.send_refund(refund_id)


def follow_refund(refund_id: int) -> None:
    """Ask the payment provider how far a refund it accepted got; email once it is paid."""
    refund_jobs.follow_refund(refund_id)


def run_schedule(name: str, period: int) -> None:
    """One period's run of a schedule (``services.schedule``): the sweeps, then the next."""
    schedule.run(name, period)


def sync_orders(connection_id: int) -> None:
    """Import the orders a shop's platform changed since the connection's saved cursor."""
    connector_orders.sync_orders(connection_id)
