"""Periodic work as RQ jobs that the workers keep scheduled: production is web instances and
workers, with no extra loop to start.

RQ runs jobs at a time (``enqueue_at``, moved to the queue by the scheduler each worker
starts), but has no stable way to repeat them (its ``CronScheduler`` is a separate process
and still beta). So each schedule's runs are numbered periods of ``every`` seconds: whoever
plans period N first (a worker starting, a worker's maintenance, or the run of period N-1)
takes its Redis key with ``SET NX``, and only that one enqueues the run. However many workers
plan, a period runs once; if a run is lost, the next maintenance of any worker plans again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import current_app
from rq import Worker

from services import dashboard_recount, inbound_imap, jobs, retention, sweeps
from services.connectors import orders as connector_orders

log = logging.getLogger(__name__)

# How many of a schedule's past runs are kept (for support to see when it last ran).
KEPT_RUNS = 100
# How often (seconds) a worker checks that every schedule has its next run planned.
CHECK_EVERY = 60


@dataclass(frozen=True)
class Schedule:
    name: str
    every: int
    work: Callable[[], object]
    # Seconds RQ lets one run take (its default, 180, unless said).
    time_limit: int | None = None


def schedules() -> tuple[Schedule, ...]:
    """What runs periodically: every sweeper, every ``SWEEP_EVERY`` seconds; the platforms'
    order sync, every ``CONNECTOR_SYNC_EVERY`` seconds; the retention rules, every
    ``RETENTION_EVERY`` seconds (daily); the recount of the dashboard's marked days, every
    ``DASHBOARD_RECOUNT_EVERY`` seconds; and, when ``INBOUND_IMAP_URL`` names one, the poll of
    the customers' replies' mailbox, every ``INBOUND_IMAP_EVERY`` seconds."""
    config = current_app.config
    mailbox = (
        (Schedule("mailbox-poll", config["INBOUND_IMAP_EVERY"], inbound_imap.poll),)
        if inbound_imap.configured()
        else ()
    )
    return (
        Schedule("sweep", config["SWEEP_EVERY"], sweeps.sweep_all),
        Schedule(
            "connector-sync", config["CONNECTOR_SYNC_EVERY"], connector_orders.sync_every_connection
        ),
        Schedule(
            "retention",
            config["RETENTION_EVERY"],
            retention.run,
            int(retention.TIME_LIMIT.total_seconds()),
        ),
        Schedule("dashboard-recount", config["DASHBOARD_RECOUNT_EVERY"], dashboard_recount.recount),
        *mailbox,
    )


def _key(schedule_name: str, part: str) -> str:
    """A Redis key of this app's queue (tests and shops sharing a Redis keep apart)."""
    return f"returndesk:{current_app.config['RQ_QUEUE']}:schedule:{schedule_name}:{part}"


def plan(now: float | None = None) -> list[str]:
    """Plan the next run of every schedule that has none planned yet; the job ids planned."""
    now = time.time() if now is None else now
    connection, planned = jobs.redis_connection(), []
    for schedule in schedules():
        period = int(now // schedule.every) + 1
        claimed = connection.set(
            _key(schedule.name, f"period:{period}"), 1, nx=True, ex=3 * schedule.every + 60
        )
        if claimed:
            job_id = jobs.job_id_in_queue(f"schedule-{schedule.name}-{period}")
            jobs.queue().enqueue_at(
                datetime.fromtimestamp(period * schedule.every, UTC),
                "tasks.run_schedule",
                schedule.name,
                period,
                job_id=job_id,
                job_timeout=schedule.time_limit,
            )
            planned.append(job_id)
    return planned


def run(name: str, period: int) -> None:
    """Do one period's work of a schedule, note it, and plan the next period."""
    try:
        next(s for s in schedules() if s.name == name).work()
        connection = jobs.redis_connection()
        connection.rpush(_key(name, "runs"), period)
        connection.ltrim(_key(name, "runs"), -KEPT_RUNS, -1)
    finally:
        plan()


def recent_runs(name: str) -> list[int]:
    """The periods a schedule ran for, oldest first (at most ``KEPT_RUNS``)."""
    return [int(p) for p in jobs.redis_connection().lrange(_key(name, "runs"), 0, -1)]


class ScheduledWorker(Worker):
    """An RQ worker that keeps the schedules planned: at its start and every ``CHECK_EVERY``
    seconds (RQ's maintenance hook), next to cleaning RQ's registries."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("maintenance_interval", CHECK_EVERY)
        super().__init__(*args, **kwargs)

    def run_maintenance_tasks(self) -> None:
        super().run_maintenance_tasks()
        try:
            plan()
        except Exception:
            log.exception("could not plan the schedules; trying again at the next check")
