"""Nothing lost: customers' requests and their emails survive Redis, SMTP, a worker and
PostgreSQL going away, and a carrier that never answers.

Every test runs its own throwaway servers on loopback (see ``service_processes``) and stops
them itself; the machine's shared PostgreSQL and Redis are never touched.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from contextlib import ExitStack, contextmanager
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

import tasks
from app import create_app
from domain import submission, workflow
from extensions import db
from factories import make_order, make_reason, make_request, make_shop, make_user
from harness import FreshContextClient, SmtpSink, app_config, free_port
from instances import ROOT, app_env, gunicorn, post, submit_over_http
from models import (
    APPROVED,
    CONCEPT,
    AuditEvent,
    BulkJob,
    OutboundEmail,
    Return,
    ReturnRequest,
    ReturnRequestLine,
    utcnow,
)
from service_processes import PrivatePostgres, redis_server, wait_until
from services import bulk_jobs, jobs, label_jobs, labels, outbox
from serving import serving

pytestmark = pytest.mark.services


def count(model, *where) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def use_private_redis(app, port: int) -> None:
    """Point the app's jobs at a private Redis (running or not) with a real, async queue."""
    app.config.update(REDIS_URL=f"redis://127.0.0.1:{port}/0", RQ_ASYNC=True)
    app.extensions.pop("redis", None)


def run_worker_in_process() -> None:
    from rq import SimpleWorker

    SimpleWorker([jobs.queue()], connection=jobs.redis_connection()).work(burst=True)


def submit(shop, order, reason, key: str) -> ReturnRequest:
    chosen = [submission.ChosenLine(order.lines[0].id, 1, reason.id)]
    asked = submission.Submission(lines=chosen, resolution="refund", language="nl")
    return submission.create_request(shop, order, asked, submission_key=key)


def emails_per_recipient(smtp_sink) -> Counter:
    return Counter(m["X-Envelope-To"] for m in smtp_sink.messages)


def test_requests_submitted_while_redis_is_down_are_stored_and_mailed_once_after(app, smtp_sink):
    port = free_port()
    use_private_redis(app, port)  # nothing listens there yet: Redis is down
    shop = make_shop()
    reason = make_reason(shop)
    orders = [make_order(shop, lines=1, customer_email=f"klant{i}@example.nl") for i in range(300)]
    db.session.commit()

    for i, order in enumerate(orders):
        submit(shop, order, reason, key=f"redis-down-{i}")

    assert count(ReturnRequest) == 300
    assert count(OutboundEmail, OutboundEmail.status == "pending") == count(OutboundEmail)
    assert smtp_sink.messages == []

    with redis_server(port):
        assert outbox.sweep_outbox() == count(OutboundEmail)
        run_worker_in_process()

    received = emails_per_recipient(smtp_sink)
    assert all(received[order.customer_email] == 1 for order in orders)
    assert (
        sum(received.values())
        == count(OutboundEmail)
        == count(OutboundEmail, OutboundEmail.status == "sent")
    )


def test_portal_and_login_keep_working_while_redis_is_down(app, smtp_sink, tmp_path):
    """Redis (jobs and rate limits) stops under a running gunicorn: lookups, the staff login,
    customer replies and whole submissions are still answered, the limits still hold (counted
    in memory meanwhile, which the log says), and the emails go out once Redis is back."""
    redis_port = free_port()
    use_private_redis(app, redis_port)
    shop = make_shop()
    reason = make_reason(shop)
    make_user("anna@example.com", shop)
    order = make_order(shop, lines=1, customer_email="sanne@example.nl")
    other = make_order(shop, lines=1)
    waiting = make_request(shop, language="en")
    db.session.commit()
    log = tmp_path / "gunicorn.log"

    with gunicorn(app, smtp_sink, log) as base:
        portal = f"{base}/returns/{shop.slug}/"
        with redis_server(redis_port):
            assert post(requests.Session(), portal, order_number="1", email_or_postcode="x").ok
        # Redis is down from here on.
        submitted = submit_over_http(base, shop, order, reason)
        guesses = [
            post(requests.Session(), portal, order_number=other.number, email_or_postcode="raad")
            for _ in range(6)
        ]
        login = post(
            requests.Session(), f"{base}/login", email="anna@example.com", password="secret-pw"
        )
        status_page = f"{portal}status/{waiting.public_token}"
        reply = post(
            requests.Session(), f"{status_page}/reply", status_page, body="De doos is onderweg"
        )
        assert "falling back to in-memory storage" in log.read_text()

    assert submitted.status_code == 302 and "/status/" in submitted.headers["Location"]
    assert [guess.status_code for guess in guesses] == [200] * 5 + [429]
    assert login.status_code == 302 and login.headers["Location"].endswith("/admin/")
    assert reply.status_code == 302
    assert count(ReturnRequest, ReturnRequest.customer_email == "sanne@example.nl") == 1
    assert smtp_sink.messages == [], "nothing could be handed to the workers"

    with redis_server(redis_port):
        assert outbox.sweep_outbox() == count(OutboundEmail) >= 2
        run_worker_in_process()
    assert len(smtp_sink.to("sanne@example.nl")) == 1
    assert count(OutboundEmail, OutboundEmail.status == "sent") == count(OutboundEmail)


def test_email_refused_by_smtp_is_retried_with_backoff_and_delivered_once(
    app, smtp_sink, client, auth
):
    app.config["REDIS_URL"] = None  # in-process delivery; the sweeper is the retry
    shop = make_shop()
    reason = make_reason(shop)
    order = make_order(shop, lines=1, customer_email="sanne@example.nl")
    make_user("support@returndesk.test", is_support=True)
    db.session.commit()
    smtp_sink.fail_with = "451 4.3.0 Mailbox temporarily unavailable"

    submit(shop, order, reason, key="smtp-down")

    email = db.session.scalars(
        select(OutboundEmail).where(OutboundEmail.to_address == "sanne@example.nl")
    ).one()
    assert (email.status, email.attempts) == ("pending", 1)
    assert "temporarily unavailable" in email.last_error
    assert outbox.sweep_outbox() == 0, "the backoff has not passed yet"

    outbox.sweep_outbox(now=utcnow() + outbox.email_retry_delay(1) + timedelta(seconds=1))
    db.session.refresh(email)
    assert (email.status, email.attempts) == ("pending", 2)
    auth.login("support@returndesk.test")
    outbox_page = client.get(f"/admin/outbox/details/?id={email.id}").get_data(as_text=True)
    assert "temporarily unavailable" in outbox_page

    smtp_sink.fail_with = None
    outbox.sweep_outbox(now=utcnow() + outbox.email_retry_delay(2) + timedelta(seconds=1))
    db.session.refresh(email)
    assert (email.status, email.attempts, email.last_error) == ("sent", 3, None)
    assert len(smtp_sink.to("sanne@example.nl")) == 1
    outbox.sweep_outbox(now=utcnow() + timedelta(hours=3))
    assert len(smtp_sink.to("sanne@example.nl")) == 1


def test_emails_failed_in_a_long_smtp_outage_go_out_once_with_retry_now(app, tmp_path):
    """The mail server is down for longer than the three-day retry window (the clock is
    moved, not waited for): real workers fail the emails for good. Once it is back, the
    shop's admin chooses "Retry now" over HTTP in gunicorn and a worker sends each once."""
    from aiosmtpd.controller import Controller

    sink = SmtpSink()
    sink.port = free_port()  # nothing listens there yet: the mail server is down
    redis_port = free_port()
    use_private_redis(app, redis_port)
    shop = make_shop()
    make_user("admin@example.com", shop, role="admin")
    customers = ["a@example.nl", "b@example.nl"]
    with redis_server(redis_port):
        db.session.add_all(waiting_email(shop, customer) for customer in customers)
        db.session.commit()
        run_worker(app, sink)
        assert count(OutboundEmail, OutboundEmail.status == "pending") == 2, "to be retried"
        for email in db.session.scalars(select(OutboundEmail)):
            email.created_at -= timedelta(days=3, hours=1)
            email.next_attempt_at = utcnow()
        db.session.commit()
        assert outbox.sweep_outbox() == 2
        run_worker(app, sink)
        assert count(OutboundEmail, OutboundEmail.status == "failed") == 2

        controller = Controller(sink, hostname="127.0.0.1", port=sink.port)
        controller.start()  # the mail server is back
        try:
            assert outbox.sweep_outbox() == 0, "failed for good: only a person retries them"
            with gunicorn(app, sink, tmp_path / "gunicorn.log") as base:
                admin = requests.Session()
                post(admin, f"{base}/login", email="admin@example.com", password="secret-pw")
                outbox_url = f"{base}/admin/outbox/"
                assert "2 failed for good" in admin.get(outbox_url, timeout=10).text
                ids = [str(i) for i in db.session.scalars(select(OutboundEmail.id))]
                retried = post(
                    admin,
                    f"{outbox_url}action/",
                    outbox_url,
                    action="retry",
                    rowid=ids,
                    url=outbox_url,
                )
                assert retried.status_code == 302
            run_worker(app, sink)
        finally:
            controller.stop()

    assert emails_per_recipient(sink) == dict.fromkeys(customers, 1)
    assert count(OutboundEmail, OutboundEmail.status == "sent") == 2


def run_worker(app, smtp_sink) -> None:
    """A real worker process that sends what the queue holds, then stops."""
    worker = start_worker(app, smtp_sink, chunk=10)
    _, errors = worker.communicate(timeout=120)
    assert worker.returncode == 0, errors.decode()[-2000:]


WORKER_SCRIPT = """
import os
from datetime import timedelta
from domain import workflow
from services import jobs, outbox
if "BULK_CHUNK" in os.environ:
    workflow.BULK_CHUNK = int(os.environ["BULK_CHUNK"])
if "CLAIM_RENEWAL" in os.environ:
    outbox.CLAIM_RENEWAL = timedelta(seconds=float(os.environ["CLAIM_RENEWAL"]))
from rq import SimpleWorker
from app import create_app
app = create_app()
burst = "KEEP_RUNNING" not in os.environ
with app.app_context():
    worker = SimpleWorker([jobs.queue()], connection=jobs.redis_connection())
    worker.work(burst=burst, with_scheduler=not burst)
"""


def start_worker(app, smtp_sink, chunk: int) -> subprocess.Popen:
    """A real RQ worker process against the test's services. It runs each job itself
    (``SimpleWorker``): RQ's forking worker puts its work horse in a session of its own, which
    a SIGKILL of the worker would not reach."""
    return subprocess.Popen(
        [sys.executable, "-c", WORKER_SCRIPT],
        cwd=ROOT,
        env=app_env(app, smtp_sink.port, BULK_CHUNK=str(chunk)),
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def bulk_progress(job_id: int) -> int:
    db.session.expire_all()
    return db.session.get(BulkJob, job_id).done


def test_worker_killed_mid_bulk_approval_resumes_and_approves_and_mails_each_once(app, smtp_sink):
    """SIGKILL of a worker (and its work horse) while a bulk approval runs.

    Each chunk commits its transitions, audit events, outbox rows and the job's progress in
    one transaction, so the re-run after ``sweep_bulk_jobs`` resumes after the last
    committed chunk. Emails are claimed (``sending``) before SMTP and marked ``sent`` after;
    the only duplicate window is a kill between the SMTP server accepting a message and that
    mark being committed: such a row is handed out again after ``STALE_CLAIM`` and sent a
    second time. At most one email per killed work horse can be in that window (a worker
    sends one at a time). Measured here: the rows claimed-but-not-marked at the kill are
    counted and every other recipient must get exactly one email; with a kill during the
    bulk job the count is 0, because the emails wait in the queue behind the bulk job.
    """
    port = free_port()
    use_private_redis(app, port)
    shop = make_shop()
    anna = make_user("anna@example.com", shop, name="Anna")
    requests = [
        make_request(shop, status=CONCEPT, order=make_order(shop, lines=1)) for _ in range(300)
    ]
    job = BulkJob(actor=anna, action="approve", request_ids=[r.id for r in requests], total=300)
    db.session.add(job)
    db.session.commit()

    with redis_server(port):
        bulk_jobs.start_bulk_job(job)
        worker = start_worker(app, smtp_sink, chunk=10)
        try:
            wait_until(lambda: bulk_progress(job.id) >= 30, timeout=120, interval=0.01)
        finally:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(timeout=10)
        done_at_kill = bulk_progress(job.id)
        duplicate_window = count(OutboundEmail, OutboundEmail.status == "sending")
        assert 0 < done_at_kill < 300, "the worker died in the middle of the job"

        later = utcnow() + bulk_jobs.STALE_BULK_JOB + outbox.STALE_CLAIM + timedelta(minutes=1)
        assert bulk_jobs.sweep_bulk_jobs(now=later) == 1
        outbox.sweep_outbox(now=later)
        second = start_worker(app, smtp_sink, chunk=10)
        _, errors = second.communicate(timeout=240)
        assert second.returncode == 0, errors.decode()[-2000:]

    assert count(BulkJob, BulkJob.status == "done") == 1
    assert count(ReturnRequest, ReturnRequest.status == APPROVED) == 300
    assert count(AuditEvent, AuditEvent.action == "approve") == 300
    received = emails_per_recipient(smtp_sink)
    duplicates = sum(n - 1 for n in received.values() if n > 1)
    assert duplicates <= duplicate_window == 0
    assert all(received[r.customer_email] == 1 for r in requests)


class SlowSink(SmtpSink):
    """An SMTP server that keeps each message, then takes its time to say 250 OK: a worker
    killed meanwhile has had its email delivered without knowing it."""

    def __init__(self, delay: float = 1.5) -> None:
        super().__init__()
        self.delay = delay

    async def handle_DATA(self, server, session, envelope):
        import asyncio

        answer = await super().handle_DATA(server, session, envelope)
        await asyncio.sleep(self.delay)
        return answer


def stop_processes(processes: list[subprocess.Popen]) -> None:
    """SIGTERM (a worker finishes its job first), then SIGKILL what is left after 10 s."""
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@contextmanager
def slow_sink(delay: float):
    """A ``SlowSink`` on a free loopback port for the duration of the block."""
    from aiosmtpd.controller import Controller

    sink = SlowSink(delay)
    sink.port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()


def test_slow_mail_server_gets_every_email_of_a_long_batch_exactly_once(app, monkeypatch, tmp_path):
    """A mail server that takes its time over each email, two real workers and a sweeper:
    the batch runs longer than RQ's default job timeout and than a claim stays fresh, yet
    no email is interrupted in flight (its job's timeout is sized from the SMTP timeout and
    the batch) nor taken for a dead worker's (the worker renews its claims).

    Time is scaled down: the server takes 1 s per email, RQ's default job timeout is 3 s
    (180 s), a claim goes stale after 3 s (10 minutes) and workers renew theirs every 0.5 s
    (a minute)."""
    from rq import Queue

    monkeypatch.setattr(Queue, "DEFAULT_TIMEOUT", 3)
    monkeypatch.setattr(outbox, "STALE_CLAIM", timedelta(seconds=3))
    port = free_port()
    use_private_redis(app, port)
    shop = make_shop()
    db.session.commit()
    customers = [f"klant{i}@example.nl" for i in range(8)]
    with slow_sink(delay=1.0) as sink, redis_server(port), ExitStack() as logs:
        app.config["MAIL_PORT"] = sink.port
        workers = [
            subprocess.Popen(
                [sys.executable, "-c", WORKER_SCRIPT],
                cwd=ROOT,
                env=app_env(app, sink.port, KEEP_RUNNING="1", CLAIM_RENEWAL="0.5"),
                stdout=logs.enter_context((tmp_path / f"worker{n}.log").open("wb")),
                stderr=subprocess.STDOUT,
            )
            for n in range(2)
        ]
        try:
            db.session.add_all(waiting_email(shop, customer) for customer in customers)
            db.session.commit()  # one batch, handed to the workers after the commit
            wait_until(lambda: sink.messages, timeout=30)
            deadline = time.monotonic() + 30
            sent = OutboundEmail.status == "sent"
            while count(OutboundEmail, sent) < len(customers) and time.monotonic() < deadline:
                outbox.sweep_outbox()  # as ``flask outbox sweep --every`` does
                time.sleep(0.5)
        finally:
            stop_processes(workers)

    received = Counter(m["X-Envelope-To"] for m in sink.messages)
    assert received == dict.fromkeys(customers, 1)


def test_worker_killed_while_sending_email_resends_only_the_claimed_ones(app, smtp_sink):
    """Measures the duplicate window: a worker SIGKILLed while the SMTP server holds a
    message it already kept. The rows of its batch claimed but not marked at the kill go out
    again after ``STALE_CLAIM``; only the one the server had kept arrives twice (one per
    killed worker), every other email exactly once."""
    from aiosmtpd.controller import Controller

    sink = SlowSink()
    sink.port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port)
    controller.start()
    port = free_port()
    use_private_redis(app, port)
    app.config["MAIL_PORT"] = sink.port
    shop = make_shop()
    reason = make_reason(shop)
    orders = [make_order(shop, lines=1, customer_email=f"klant{i}@example.nl") for i in range(3)]
    db.session.commit()
    try:
        with redis_server(port):
            for i, order in enumerate(orders):
                submit(shop, order, reason, key=f"kill-smtp-{i}")
            worker = start_worker(app, sink, chunk=10)
            try:
                wait_until(lambda: len(sink.messages) >= 1, timeout=60, interval=0.01)
            finally:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait(timeout=10)
            claimed_at_kill = count(OutboundEmail, OutboundEmail.status == "sending")
            later = utcnow() + outbox.STALE_CLAIM + timedelta(minutes=1)
            outbox.sweep_outbox(now=later)
            second = start_worker(app, sink, chunk=10)
            _, errors = second.communicate(timeout=120)
            assert second.returncode == 0, errors.decode()[-2000:]
    finally:
        controller.stop()

    received = Counter((m["X-Envelope-To"], m["Subject"]) for m in sink.messages)
    duplicates = sum(n - 1 for n in received.values())
    assert claimed_at_kill >= 1
    assert duplicates == 1
    assert (
        len(received)
        == count(OutboundEmail)
        == count(OutboundEmail, OutboundEmail.status == "sent")
    )


def test_app_recovers_by_itself_after_postgresql_restarts_under_load(smtp_sink, tmp_path):
    """Submissions keep coming while PostgreSQL restarts: those that fail roll back whole,
    and once it is back (pool pre-ping drops the dead connections) nothing fails."""
    from flask_migrate import upgrade

    postgres = PrivatePostgres().start()
    try:
        config = app_config(postgres.url, smtp_sink, tmp_path / "storage")
        config["REDIS_URL"] = None
        app = create_app(config)
        with app.app_context():
            upgrade()
            assert app.config["SQLALCHEMY_ENGINE_OPTIONS"]["pool_pre_ping"]
            shop = make_shop()
            reason = make_reason(shop)
            make_user("agent@example.com", shop)
            orders = [make_order(shop, lines=1) for _ in range(60)]
            db.session.commit()
            shop_id, reason_id = shop.id, reason.id
            order_ids = [o.id for o in orders]
            app.test_client_class = FreshContextClient
            client = app.test_client()
            client.post("/login", data={"email": "agent@example.com", "password": "secret-pw"})

            restart = threading.Thread(target=postgres.pg_ctl, args=("restart", "-m", "fast"))
            failures_during, statuses_after = 0, []
            for i, order_id in enumerate(order_ids):
                if i == 10:
                    restart.start()
                if i == 40:
                    restart.join(timeout=60)
                try:
                    shop, reason = (
                        db.session.get(type(shop), shop_id),
                        db.session.get(type(reason), reason_id),
                    )
                    order = db.session.get(type(orders[0]), order_id)
                    submit(shop, order, reason, key=f"pg-{i}")
                except SQLAlchemyError:
                    db.session.rollback()
                    assert i < 40, "a submission failed after PostgreSQL was back"
                    failures_during += 1
                if i >= 40:
                    statuses_after.append(client.get("/admin/requests/?all=1").status_code)
                time.sleep(0.02)

            assert statuses_after and set(statuses_after) == {200}
            db.session.expire_all()
            stored = count(ReturnRequest)
            assert stored >= 20
            half_written = db.session.scalar(
                select(func.count()).select_from(ReturnRequest).where(~ReturnRequest.lines.any())
            )
            assert half_written == 0
            assert count(ReturnRequestLine) == stored
            assert count(OutboundEmail) > 0
            db.session.remove()
            db.engine.dispose()
    finally:
        postgres.stop()


def waiting_email(shop, to: str, **fields) -> OutboundEmail:
    """An email as ``emails.queue_email`` writes it, waiting in the outbox."""
    return OutboundEmail(
        shop=shop,
        template="request_received",
        to_address=to,
        subject=fields.pop("subject", "Your return request"),
        body_text="We received your return request.",
        **fields,
    )


def wait_for_log(log: Path, text: str, times: int = 1, timeout: float = 45) -> None:
    """Wait until a process's log says ``text`` so many times; fail with its end if not."""
    try:
        wait_until(lambda: log.read_text().count(text) >= times, timeout=timeout, interval=0.2)
    except TimeoutError:
        pytest.fail(f"{text!r} not logged {times} times; the log ends:\n{log.read_text()[-3000:]}")


def test_sweeper_outlives_a_postgresql_outage_and_then_sends_what_waits(smtp_sink, tmp_path):
    """``flask outbox sweep --every 1`` as a real process: PostgreSQL stops under it for a
    few sweeps and comes back; the sweeper logs each failure, keeps going and sends the
    emails that wait in the outbox afterwards."""
    from flask_migrate import upgrade

    postgres = PrivatePostgres().start()
    log = tmp_path / "sweeper.log"
    smtp_sink.clear()
    try:
        config = app_config(postgres.url, smtp_sink, tmp_path / "storage")
        config.update(REDIS_URL=None, MAIL_SERVER=None)  # here, emails wait in the outbox
        app = create_app(config)
        with app.app_context(), log.open("wb") as output:
            upgrade()
            shop = make_shop()
            db.session.commit()
            sweeper = subprocess.Popen(
                [sys.executable, "-m", "flask", "--app", "app", "outbox", "sweep", "--every", "1"],
                cwd=ROOT,
                env=app_env(app, smtp_sink.port, PYTHONUNBUFFERED="1"),
                stdout=output,
                stderr=subprocess.STDOUT,
            )
            try:
                wait_for_log(log, "outbox rows handed")
                postgres.pg_ctl("stop", "-m", "fast")
                wait_for_log(log, "sweeping the outbox failed", times=2)
                postgres.pg_ctl("start")
                customers = [f"klant{i}@example.nl" for i in range(3)]
                db.session.add_all(waiting_email(shop, customer) for customer in customers)
                db.session.commit()
                wait_until(lambda: len(smtp_sink.messages) == 3, timeout=30)
                assert sweeper.poll() is None, "the sweeper is still running"
            finally:
                sweeper.terminate()
                sweeper.wait(timeout=10)
            assert sorted(m["X-Envelope-To"] for m in smtp_sink.messages) == customers
            assert "OperationalError" in log.read_text()
            db.session.remove()
            db.engine.dispose()
    finally:
        postgres.stop()


class SlowCarrier(BaseHTTPRequestHandler):
    """A carrier API that answers only after the client gave up (a hung carrier).

    With ``slow_only`` set, only that call hangs (after the carrier did the work) and the
    others answer at once as Sendcloud would.
    """

    def log_message(self, *args):
        pass

    def do_POST(self):
        self.server.calls.append(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b"{}"
        slow_only = getattr(self.server, "slow_only", None)
        if slow_only and not self.path.endswith(slow_only):
            return self.answer(200, body)
        time.sleep(self.server.delay)
        self.answer(503, b"{}")

    def answer(self, status: int, body: bytes) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            pass

    do_GET = do_POST


@pytest.fixture
def slow_carrier(app, monkeypatch):
    """A hung carrier on loopback, a demo shop with a Sendcloud account and an approved
    request whose return waits for its label."""
    from models import CarrierAccount
    from services.labels import SendcloudAdapter

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), SlowCarrier)
    server.calls, server.delay = [], 1.0
    monkeypatch.setattr(SendcloudAdapter, "timeout", 0.2)
    app.config["OUTBOUND_ALLOW_PRIVATE"] = True  # the stand-in is on loopback
    app.config["SENDCLOUD_API_URL"] = f"http://127.0.0.1:{server.server_port}/api/v3"
    shop = make_shop()
    agent = make_user("agent@example.com", shop)
    make_user("support@returndesk.test", is_support=True)
    db.session.add(
        CarrierAccount(
            shop_id=shop.id,
            carrier="sendcloud",
            public_key="pk",
            secret_key="sk",
            settings={"shipping_option_code": "postnl:return/standard"},
        )
    )
    order = make_order(shop, customer_street="Kerkstraat 12", customer_city="Amsterdam")
    request = make_request(shop, order=order, language="en")
    workflow.approve(request, agent)
    db.session.commit()
    return_ = Return(
        number="RT-SLOW-1", shop=shop, request=request, carrier="sendcloud", label_status="pending"
    )
    db.session.add(return_)
    db.session.commit()
    server.return_ = return_
    with serving(server):
        yield server


def test_carrier_that_hangs_on_announcing_gets_one_announce_and_support_is_told(
    slow_carrier, client, auth
):
    """Sendcloud got the announce call but answered too late: it may have made the label,
    so the job never announces again; the label is failed with a message for support."""
    slow_carrier.slow_only = "announce-synchronously"
    return_ = slow_carrier.return_

    tasks.create_label(return_.id)
    tasks.create_label(return_.id)
    label_jobs.sweep_labels(now=utcnow() + timedelta(hours=2))

    db.session.refresh(return_)
    assert return_.label_status == "failed"
    announces = [call for call in slow_carrier.calls if call.endswith("announce-synchronously")]
    assert len(announces) == 1
    auth.login("support@returndesk.test")
    page = client.get(f"/admin/returns/{return_.id}").get_data(as_text=True)
    assert "did not answer in time" in page


def test_label_job_against_a_carrier_that_times_out_is_retried_then_failed_never_two_labels(
    slow_carrier, client, auth
):
    return_ = slow_carrier.return_
    for attempt in range(1, len(jobs.RETRY_INTERVALS) + 1):
        with pytest.raises(labels.CarrierError):
            tasks.create_label(return_.id)
        db.session.refresh(return_)
        assert (return_.label_status, return_.label_attempts) == ("pending", attempt)
        assert return_.label_error
    tasks.create_label(return_.id)  # the last attempt gives up instead of raising
    db.session.refresh(return_)
    assert return_.label_status == "failed"
    assert return_.label_storage_key is None and return_.tracking_number is None
    assert "announce-synchronously" not in " ".join(slow_carrier.calls)

    auth.login("support@returndesk.test")
    page = client.get(f"/admin/returns/{return_.id}").get_data(as_text=True)
    assert "cannot be reached" in page
