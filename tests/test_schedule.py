"""The workers keep the periodic work scheduled: no extra sweep loop runs in production.

Three real ``flask rq worker`` processes share one Redis; the sweep is scheduled every
second, and each second runs once however many workers plan it. An email whose hand-over
failed (Redis was down when the request was approved) reaches the customer through the
scheduled sweep alone.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from domain import workflow
from extensions import db
from factories import make_request, make_shop, make_user
from harness import free_port
from instances import ROOT, app_env
from service_processes import redis_server, wait_until
from services import schedule

pytestmark = pytest.mark.services


def start_workers(count: int, env: dict[str, str]) -> list[subprocess.Popen]:
    command = [sys.executable, "-m", "flask", "--app", "app", "rq", "worker"]
    return [
        subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for _ in range(count)
    ]


def stop(workers: list[subprocess.Popen]) -> None:
    for worker in workers:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)


def test_three_workers_run_each_period_of_the_sweep_once_and_it_delivers(app, smtp_sink):
    port = free_port()
    redis_url = f"redis://127.0.0.1:{port}/0"
    app.config.update(REDIS_URL=redis_url, RQ_ASYNC=True, SWEEP_EVERY=1)
    app.extensions.pop("redis", None)
    shop = make_shop()
    agent = make_user("agent@example.com", shop)
    request = make_request(shop, language="en")
    workflow.approve(request, agent)
    db.session.commit()  # Redis is not running yet: the email waits in the outbox
    assert smtp_sink.messages == []

    with redis_server(port):
        workers = start_workers(3, app_env(app, smtp_sink.port, SWEEP_EVERY="1"))
        try:
            wait_until(lambda: len(schedule.recent_runs("sweep")) >= 6, timeout=90)
        finally:
            stop(workers)
        runs = schedule.recent_runs("sweep")

    assert len(runs) == len(set(runs)), f"a period ran twice: {runs}"
    assert runs == sorted(runs)
    assert runs[-1] - runs[0] <= len(runs) + 2, f"periods were skipped: {runs}"
    approvals = [m for m in smtp_sink.messages if m["To"] == request.customer_email]
    assert len(approvals) == 1
    assert "approved" in approvals[0]["Subject"].lower()
