"""Two installations of ReturnDesk (or a test run and the benchmark) on one Redis database,
each with its own queue, keep their jobs apart. Job ids are named after the rows a job works
on, and both number their rows from 1: without the queue in the id, the second's job took
the first's place, and the first's emails waited for the sweep."""

from __future__ import annotations

import pytest

from harness import free_port
from service_processes import redis_server
from services import jobs, outbox, schedule

pytestmark = pytest.mark.services

INSTALLATIONS = {"shop-a": [1, 2], "shop-b": [1, 3]}


def test_each_installations_queue_holds_its_own_email_batch_and_schedules(app):
    port = free_port()
    app.config.update(REDIS_URL=f"redis://127.0.0.1:{port}/0", RQ_ASYNC=True)
    app.extensions.pop("redis", None)
    queued, scheduled = {}, {}
    with redis_server(port):
        for name, email_ids in INSTALLATIONS.items():
            app.config["RQ_QUEUE"] = name
            outbox.EMAILS.enqueue(email_ids)  # the same first id and count: "email-1-2"
            schedule.plan(now=1_000_000.0)
        for name in INSTALLATIONS:
            app.config["RQ_QUEUE"] = name
            queue = jobs.queue()
            queued[name] = [queue.fetch_job(i).args for i in queue.get_job_ids()]
            registry = queue.scheduled_job_registry
            scheduled[name] = {queue.fetch_job(i).origin for i in registry.get_job_ids()}

    assert queued == {name: [(ids,)] for name, ids in INSTALLATIONS.items()}
    assert scheduled == {"shop-a": {"shop-a"}, "shop-b": {"shop-b"}}
