"""The job runner: RQ on Redis when ``REDIS_URL`` is set, else each job right away in-process.

Jobs are the functions of ``tasks.py``, named by string as RQ names them ("tasks.create_label"),
so nothing below the top level imports the module that holds them.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import current_app
from redis import Redis
from rq import Queue, Retry
from rq.utils import import_attribute

log = logging.getLogger(__name__)

# Seconds between delivery attempts of a job (RQ's retries) and of a webhook delivery (also
# the sweeper's); after the last, a webhook delivery or a label is "failed".
RETRY_INTERVALS = [10, 30, 120, 600, 1800]


def redis_connection():
    """One Redis client per app; it pools its own connections."""
    if "redis" not in current_app.extensions:
        current_app.extensions["redis"] = Redis.from_url(current_app.config["REDIS_URL"])
    return current_app.extensions["redis"]


def queue():
    """ReturnDesk's RQ queue. ``RQ_ASYNC = False`` (the test suite's default) runs each job
    through Redis but right away in this process, as RQ's synchronous mode does."""
    return Queue(
        current_app.config["RQ_QUEUE"],
        connection=redis_connection(),
        is_async=current_app.config.get("RQ_ASYNC", True),
    )


def job_id_in_queue(name: str) -> str:
    """The RQ job id of a job ``name``d after what it works on (``email-12-50``): prefixed
    with this app's queue, since job ids are global to the Redis database and another
    installation, a test run or the benchmark sharing it numbers its rows alike."""
    return f"{current_app.config['RQ_QUEUE']}-{name}"


def enqueue(
    func_name: str, *args: Any, job_id: str | None = None, job_timeout: int | None = None
) -> None:
    """Run ``tasks.<func_name>(*args)`` in the background (RQ) or, without Redis, right now.

    ``job_id`` names the job after what it works on (``job_id_in_queue``).
    ``job_timeout`` (seconds) replaces RQ's default of 180 for a job that can take longer;
    RQ interrupts a job past its timeout, whatever it is doing.

    A failure to reach Redis is logged, not raised: the row is still pending in the
    database and ``flask outbox sweep`` hands it over again later.
    """
    func = import_attribute(f"tasks.{func_name}")
    if not current_app.config.get("REDIS_URL"):
        try:
            func(*args)
        except Exception:
            log.exception("in-process job %s%r failed; the sweeper will retry", func_name, args)
        return
    try:
        queue().enqueue(
            f"tasks.{func_name}",
            *args,
            job_id=job_id_in_queue(job_id) if job_id else None,
            job_timeout=job_timeout,
            retry=Retry(max=len(RETRY_INTERVALS), interval=RETRY_INTERVALS),
        )
    except Exception:
        log.exception("could not enqueue %s%r; the sweeper will retry", func_name, args)
