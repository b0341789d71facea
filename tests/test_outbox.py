"""The outbox: an email is a row written in the caller's transaction, delivered after commit,
retried when SMTP refuses, swept when a worker died, never sent twice and never lost.

Without ``REDIS_URL`` jobs run in-process at commit; with it they go through RQ and
``run_jobs()`` plays the worker, so these tests prove the same behaviour on both.
"""

import os
import re
import socket
import time
from datetime import timedelta
from pathlib import Path

import pytest
from flask import current_app
from jinja2 import ChoiceLoader, FileSystemLoader
from sqlalchemy import func, select

import tasks
from app import create_app
from domain import workflow
from domain.emails import queue_email
from domain.formatting import shop_time
from domain.submission import aware
from extensions import db
from factories import make_order, make_request, make_shop, make_user
from harness import app_config, need_service
from models import (
    CONCEPT,
    AuditEvent,
    EmailTemplate,
    OutboundEmail,
    ReturnRequest,
    User,
    utcnow,
)
from services import jobs, outbox
from staff_helpers import csrf_token_in, emails_to, link_in

CUSTOMER = "jan.jansen@example.nl"
SUBJECT = "Your return request R-2026-00042 for Demo Winkel"
TEST_TEMPLATES = Path(__file__).parent / "templates"


def use_test_email_templates(flask_app) -> None:
    """Make ``templates/email/outbox_check.*`` (in tests/) available to ``queue_email``."""
    flask_app.jinja_env.loader = ChoiceLoader(
        [flask_app.jinja_env.loader, FileSystemLoader(str(TEST_TEMPLATES))]
    )


@pytest.fixture(autouse=True)
def email_templates_and_real_workers(app):
    """With REDIS_URL, jobs wait in Redis for ``run_jobs()``, as they wait for a worker."""
    use_test_email_templates(app)
    app.config["RQ_ASYNC"] = True


def queue_check_email(shop, to: str = CUSTOMER, name: str = "Jan") -> OutboundEmail:
    """An email about no request: emails only see names of the context (email_context.py),
    so the person greeted is a ``user`` and the number travels as its ``link``."""
    return queue_email(
        "outbox_check", to, "en", shop=shop, user=User(name=name), link="R-2026-00042"
    )


def run_jobs() -> None:
    """Run what RQ holds, as a worker would; without Redis jobs already ran at commit."""
    if not current_app.config.get("REDIS_URL"):
        return
    from rq import SimpleWorker

    SimpleWorker([jobs.queue()], connection=jobs.redis_connection()).work(burst=True)


def reload(email_id: int) -> OutboundEmail:
    db.session.expire_all()
    return db.session.get(OutboundEmail, email_id)


def make_due_for_retry(email_id: int) -> None:
    """Move the next attempt to now instead of waiting for it."""
    email = reload(email_id)
    email.next_attempt_at = utcnow()
    db.session.commit()


def test_email_is_delivered_after_commit_and_not_before(app, smtp_sink):
    shop = make_shop()
    email = queue_check_email(shop)
    db.session.flush()
    run_jobs()
    assert smtp_sink.to(CUSTOMER) == []

    db.session.commit()
    run_jobs()

    [message] = smtp_sink.to(CUSTOMER)
    assert message["Subject"] == SUBJECT
    assert message["To"] == CUSTOMER
    assert (
        "We received your return request R-2026-00042."
        in message.get_body(("plain",)).get_content()
    )
    assert reload(email.id).status == "sent"


def test_an_address_with_non_ascii_characters_gets_its_email(app, smtp_sink):
    email = queue_check_email(make_shop(), "zoë@example.nl", "Zoë")
    db.session.commit()
    run_jobs()

    [message] = smtp_sink.to("zoë@example.nl")
    assert message["X-Envelope-To"] == "zoë@example.nl", "the SMTP envelope names Zoë as she is"
    assert message["To"] == "zoë@example.nl"
    assert message["Subject"] == SUBJECT
    assert "Hello Zoë," in message.get_body(("plain",)).get_content()
    assert reload(email.id).status == "sent"


@pytest.fixture
def hung_mail_server():
    """A socket that accepts connections (the kernel does) and never says a word."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield server.getsockname()[1]


@pytest.fixture
def app_with_hung_mail_server(migrated, smtp_sink, hung_mail_server, tmp_path):
    config = app_config(migrated, smtp_sink, tmp_path / "storage")
    config.update(MAIL_PORT=hung_mail_server, MAIL_TIMEOUT=2, REDIS_URL=None)
    hung = create_app(config)
    use_test_email_templates(hung)
    with hung.app_context():
        yield hung
        db.session.remove()
        db.engine.dispose()


def test_a_mail_server_that_never_answers_fails_the_attempt_within_mail_timeout(
    app_with_hung_mail_server,
):
    email = queue_check_email(make_shop())
    started = time.monotonic()
    db.session.commit()
    waited = time.monotonic() - started

    assert waited < 2 + 5, f"the attempt gave up after MAIL_TIMEOUT (2 s), not {waited:.0f} s"
    tried = reload(email.id)
    assert (tried.status, tried.attempts) == ("pending", 1), "it is retried later"
    assert "timed out" in tried.last_error


def test_rolled_back_email_is_never_sent(app, smtp_sink):
    shop = make_shop()
    db.session.commit()
    queue_check_email(shop)
    db.session.flush()
    db.session.rollback()

    make_shop("fashion", "Mode Huis")
    db.session.commit()
    run_jobs()

    assert smtp_sink.to(CUSTOMER) == []
    assert db.session.scalar(select(func.count()).select_from(OutboundEmail)) == 0


def test_refused_email_stays_pending_and_the_sweeper_delivers_it_later(app, smtp_sink, runner):
    smtp_sink.fail_with = "451 try later"
    email = queue_check_email(make_shop())
    db.session.commit()
    run_jobs()

    refused = reload(email.id)
    assert refused.status == "pending"
    assert refused.attempts == 1
    assert "451" in refused.last_error
    assert smtp_sink.to(CUSTOMER) == []

    smtp_sink.fail_with = None
    make_due_for_retry(email.id)
    result = runner.invoke(args=["outbox", "sweep"])
    assert result.exit_code == 0, result.output
    assert "1 outbox rows" in result.output
    run_jobs()

    assert len(smtp_sink.to(CUSTOMER)) == 1
    delivered = reload(email.id)
    assert delivered.status == "sent"
    assert delivered.attempts == 2
    assert delivered.last_error is None


def test_sweeper_leaves_a_refused_email_alone_until_its_backoff_passed(app, smtp_sink, runner):
    smtp_sink.fail_with = "451 try later"
    email = queue_check_email(make_shop())
    db.session.commit()
    run_jobs()
    smtp_sink.fail_with = None

    result = runner.invoke(args=["outbox", "sweep"])
    run_jobs()

    assert "0 outbox rows" in result.output
    assert smtp_sink.to(CUSTOMER) == []
    assert reload(email.id).status == "pending"


def test_email_claimed_by_a_dead_worker_is_swept_and_delivered_once(app, smtp_sink, runner):
    shop = make_shop()
    db.session.commit()
    email = queue_check_email(shop)
    email.status = "sending"
    email.attempts = 1
    email.claimed_at = utcnow() - timedelta(hours=1)
    db.session.commit()
    run_jobs()
    assert smtp_sink.to(CUSTOMER) == [], "a row another worker claimed is not sent again"

    for _ in range(2):
        runner.invoke(args=["outbox", "sweep"])
        run_jobs()

    assert len(smtp_sink.to(CUSTOMER)) == 1
    assert reload(email.id).status == "sent"


def test_delivering_the_same_email_twice_sends_it_once(app, smtp_sink):
    email = queue_check_email(make_shop())
    db.session.commit()
    run_jobs()

    tasks.deliver_emails([email.id])
    tasks.deliver_emails([email.id])

    assert len(smtp_sink.to(CUSTOMER)) == 1
    assert reload(email.id).attempts == 1


@pytest.fixture
def app_without_mail_server(migrated, smtp_sink, tmp_path):
    config = app_config(migrated, smtp_sink, tmp_path / "storage")
    config["MAIL_SERVER"] = None
    config["RQ_ASYNC"] = True
    mailless = create_app(config)
    use_test_email_templates(mailless)
    with mailless.app_context():
        yield mailless
        db.session.remove()
        db.engine.dispose()


def test_without_mail_server_emails_wait_readable_in_the_outbox(app_without_mail_server, smtp_sink):
    shop = make_shop()
    make_user("support@example.com", is_support=True)
    email = queue_check_email(shop)
    db.session.commit()
    run_jobs()

    assert smtp_sink.to(CUSTOMER) == []
    waiting = reload(email.id)
    assert (waiting.status, waiting.attempts) == ("pending", 0)

    client = app_without_mail_server.test_client()
    client.post("/login", data={"email": "support@example.com", "password": "secret-pw"})
    listing = client.get("/admin/outbox/")
    assert listing.status_code == 200
    assert CUSTOMER in listing.text
    assert SUBJECT in listing.text
    details = client.get(f"/admin/outbox/details/?id={email.id}")
    assert details.status_code == 200
    assert "srcdoc=" in details.text, "the HTML body is shown as a rendered preview"
    assert "We received your return request" in details.text


def test_email_travels_through_rq_and_a_worker_to_smtp(app, smtp_sink):
    need_service("Redis", bool(os.environ.get("REDIS_URL")))
    from rq import SimpleWorker

    queue = jobs.queue()
    queue.empty()
    email = queue_check_email(make_shop())
    db.session.flush()
    assert queue.count == 0, "nothing is handed to RQ before the commit"

    db.session.commit()
    assert queue.count == 1
    assert smtp_sink.to(CUSTOMER) == [], "the web process does not send; the worker does"

    SimpleWorker([jobs.queue()], connection=jobs.redis_connection()).work(burst=True)

    [message] = smtp_sink.to(CUSTOMER)
    assert message["Subject"] == SUBJECT
    assert message["To"] == CUSTOMER
    assert reload(email.id).status == "sent"


def approve_in_bulk(shop, customers: list[str]) -> list[ReturnRequest]:
    """Concept requests of these customers, approved by one bulk action (not yet committed)."""
    agent = make_user("anna@example.com", shop, name="Anna")
    requests = [
        make_request(
            shop, make_order(shop, lines=1, customer_email=customer), CONCEPT, language="en"
        )
        for customer in customers
    ]
    db.session.commit()
    workflow.bulk_apply("approve", [r.id for r in requests], agent)
    return requests


def test_bulk_approval_emails_are_written_after_commit_from_the_approved_requests(app, smtp_sink):
    customers = ["a@example.nl", "b@example.nl", "c@example.nl"]
    requests = approve_in_bulk(make_shop(), customers)
    db.session.flush()
    waiting = db.session.scalars(select(OutboundEmail)).all()
    assert len(waiting) == 3
    assert not any(email.written for email in waiting), "the bulk transaction renders nothing"

    db.session.commit()
    run_jobs()

    for request, customer in zip(requests, customers, strict=True):
        [message] = smtp_sink.to(customer)
        assert request.number in message["Subject"]
        assert "approved" in message.get_body(("plain",)).get_content()
    for email in waiting:
        stored = reload(email.id)
        assert (stored.written, stored.status) == (True, "sent")
        assert stored.subject.startswith("Your return")


def test_an_address_refused_for_good_fails_at_once_and_does_not_hold_up_its_batch(
    app, smtp_sink, runner
):
    smtp_sink.refused = {"b@example.nl"}
    _a, b, _c = approve_in_bulk(make_shop(), ["a@example.nl", "b@example.nl", "c@example.nl"])
    db.session.commit()
    run_jobs()

    assert len(smtp_sink.to("a@example.nl")) == len(smtp_sink.to("c@example.nl")) == 1
    refused = db.session.scalar(
        select(OutboundEmail).where(OutboundEmail.to_address == "b@example.nl")
    )
    assert (refused.status, refused.attempts, refused.next_attempt_at) == ("failed", 1, None)
    assert "550 mailbox unavailable" in refused.last_error
    told = db.session.scalars(select(AuditEvent.action).where(AuditEvent.request_id == b.id))
    assert "email_failed" in list(told), "the request's history (and support's bell) says so"

    runner.invoke(args=["outbox", "sweep"])
    run_jobs()
    assert smtp_sink.to("b@example.nl") == [], "a 5xx refusal is not tried again by itself"

    smtp_sink.refused = set()
    assert outbox.retry_emails_now([refused.id]) == [refused.id]
    run_jobs()

    assert len(smtp_sink.to("b@example.nl")) == 1
    assert len(smtp_sink.messages) == 3, "the emails already sent are not sent again"
    assert reload(refused.id).status == "sent"


@pytest.mark.parametrize(
    ("reply", "status"),
    [("554 5.7.1 message rejected as spam", "failed"), ("452 4.3.1 out of storage", "pending")],
)
def test_a_permanent_refusal_fails_at_once_and_a_passing_one_is_retried(
    app, smtp_sink, reply, status
):
    smtp_sink.fail_with = reply
    email = queue_check_email(make_shop())
    db.session.commit()
    run_jobs()

    refused = reload(email.id)
    assert (refused.status, refused.attempts) == (status, 1)
    assert reply in refused.last_error
    assert (refused.next_attempt_at is None) == (status == "failed")


def test_outbox_shows_an_unwritten_email_as_it_would_be_written(app, client):
    shop = make_shop()
    make_user("support@example.com", is_support=True)
    [request] = approve_in_bulk(shop, ["a@example.nl"])
    db.session.info.pop("returndesk_outbox")  # as if Redis were down at the commit
    db.session.commit()
    email = db.session.scalar(select(OutboundEmail))
    assert not email.written

    client.post("/login", data={"email": "support@example.com", "password": "secret-pw"})
    listing = client.get("/admin/outbox/")
    assert "request_approved (written when sent)" in listing.text
    details = client.get(f"/admin/outbox/details/?id={email.id}")
    assert request.number in details.text
    assert "srcdoc=" in details.text


def test_without_mail_server_bulk_emails_are_written_and_wait_in_the_outbox(
    app_without_mail_server, smtp_sink
):
    [request] = approve_in_bulk(make_shop(), ["a@example.nl"])
    db.session.commit()
    run_jobs()

    email = reload(db.session.scalar(select(OutboundEmail.id)))
    assert (email.written, email.status) == (True, "pending")
    assert request.number in email.subject
    assert smtp_sink.messages == []


def test_bulk_approval_emails_follow_the_shops_own_template(app, smtp_sink):
    shop = make_shop()
    db.session.add(
        EmailTemplate(
            shop=shop,
            name="request_approved",
            language="en",
            subject="Good news about {{ request.number }}",
            body_text="Dear {{ request.customer_name }}, send it back to {{ shop.name }}.",
        )
    )
    requests = approve_in_bulk(shop, ["a@example.nl", "b@example.nl"])
    db.session.commit()
    run_jobs()

    for request in requests:
        [message] = smtp_sink.to(request.customer_email)
        assert message["Subject"] == f"Good news about {request.number}"
        assert "send it back to Demo Winkel." in message.get_body(("plain",)).get_content()


# --- emails that carry a credential (invites, password resets) ------------------------------


def outbox_pages(client, email_id: int) -> dict[str, str]:
    """Every Outbox page that could show an email: list, search, details, edit, export."""
    urls = (
        "/admin/outbox/",
        "/admin/outbox/?search=example.com",
        f"/admin/outbox/details/?id={email_id}",
        f"/admin/outbox/edit/?id={email_id}",
        "/admin/outbox/export/csv/",
    )
    return {url: client.get(url, follow_redirects=True).text for url in urls}


def token_of(link: str) -> str:
    return link.rstrip("/").rsplit("/", 1)[1]


def test_agent_cannot_open_the_outbox(client, auth, shop_staff):
    email = queue_check_email(shop_staff.shop)
    db.session.commit()
    auth.login("agent@example.com")

    assert client.get("/admin/outbox/").status_code == 403
    assert client.get(f"/admin/outbox/details/?id={email.id}").status_code == 403
    assert "/admin/outbox/" not in client.get("/admin/").text


def test_invite_link_reaches_the_invitee_but_no_outbox_page_shows_it(
    client, auth, shop_staff, smtp_sink
):
    auth.login("admin@example.com")
    invited = client.post(
        "/admin/team/invite",
        data={
            "email": "new@example.com",
            "name": "Noor",
            "shop_id": shop_staff.shop.id,
            "role": "admin",
        },
    )
    assert invited.status_code == 302
    [message] = emails_to(smtp_sink, "new@example.com")
    link = link_in(message)
    assert link.startswith("/invite/"), "the invitee gets the link"
    email = db.session.scalar(
        select(OutboundEmail).where(OutboundEmail.to_address == "new@example.com")
    )

    for reader in ("admin@example.com", "support@example.com"):
        auth.logout()
        auth.login(reader)
        pages = outbox_pages(client, email.id)
        assert "new@example.com" in pages["/admin/outbox/"], reader
        assert "Link hidden" in pages[f"/admin/outbox/details/?id={email.id}"], reader
        for url, text in pages.items():
            assert token_of(link) not in text, f"{reader} reads the invite link at {url}"
            assert "/invite/" not in text, f"{reader} reads the invite link at {url}"


def test_password_reset_link_reaches_the_user_but_not_even_support_reads_it(
    client, auth, shop_staff, smtp_sink
):
    client.post("/password/forgot", data={"email": "agent@example.com"})
    [message] = emails_to(smtp_sink, "agent@example.com")
    link = link_in(message)
    assert link.startswith("/password/reset/")
    email = db.session.scalar(
        select(OutboundEmail).where(OutboundEmail.template == "password_reset")
    )

    auth.login("support@example.com")
    pages = outbox_pages(client, email.id)

    assert "agent@example.com" in pages["/admin/outbox/"]
    assert "Link hidden" in pages[f"/admin/outbox/details/?id={email.id}"]
    for url, text in pages.items():
        assert token_of(link) not in text, f"support reads the reset link at {url}"
        assert "/password/reset/" not in text, f"support reads the reset link at {url}"


# --- retries over a long outage, failed for good, "Retry now" ---------------------------------


def sweep_and_run(runner) -> None:
    result = runner.invoke(args=["outbox", "sweep"])
    assert result.exit_code == 0, result.output
    run_jobs()


def test_email_refused_for_longer_than_six_attempts_keeps_being_retried_then_delivered(
    app, smtp_sink, runner
):
    smtp_sink.fail_with = "451 4.3.0 Mail server temporarily unavailable"
    email = queue_check_email(make_shop())
    db.session.commit()
    run_jobs()

    for attempt in range(2, 13):
        make_due_for_retry(email.id)
        sweep_and_run(runner)
        refused = reload(email.id)
        assert (refused.status, refused.attempts) == ("pending", attempt)
        wait = aware(refused.next_attempt_at) - utcnow()
        expected = min(timedelta(seconds=10 * 2 ** (attempt - 1)), timedelta(hours=1))
        assert expected - timedelta(seconds=5) < wait <= expected
    assert outbox.due_for_retry() == [], "the sweeper waits for the next attempt"

    smtp_sink.fail_with = None
    make_due_for_retry(email.id)
    sweep_and_run(runner)

    assert len(smtp_sink.to(CUSTOMER)) == 1
    assert (reload(email.id).status, reload(email.id).attempts) == ("sent", 13)


def written_days_ago(email_id: int, days: float) -> None:
    email = reload(email_id)
    email.created_at = utcnow() - timedelta(days=days)
    db.session.commit()


def test_email_still_refused_three_days_after_it_was_written_fails_for_good(app, smtp_sink, runner):
    smtp_sink.fail_with = "451 try later"
    email = queue_check_email(make_shop())
    db.session.commit()
    run_jobs()
    written_days_ago(email.id, 2.9)
    make_due_for_retry(email.id)
    sweep_and_run(runner)
    assert reload(email.id).status == "pending", "under three days old: retried"

    written_days_ago(email.id, 3.1)
    make_due_for_retry(email.id)
    sweep_and_run(runner)
    smtp_sink.fail_with = None
    sweep_and_run(runner)

    failed = reload(email.id)
    assert (failed.status, failed.attempts, failed.next_attempt_at) == ("failed", 3, None)
    assert "451" in failed.last_error
    assert smtp_sink.to(CUSTOMER) == []


@pytest.fixture
def failed_email(app, smtp_sink, runner) -> OutboundEmail:
    """An email of shop "demo" the mail server still refused when it was three days old."""
    smtp_sink.fail_with = "451 try later"
    email = queue_check_email(make_shop())
    db.session.commit()
    run_jobs()
    written_days_ago(email.id, 3.1)
    make_due_for_retry(email.id)
    sweep_and_run(runner)
    smtp_sink.fail_with = None
    assert reload(email.id).status == "failed"
    return reload(email.id)


def log_in_with_csrf(app, client, email: str) -> str:
    """Log in as the browser does with CSRF on (as in production); returns the token."""
    app.config["WTF_CSRF_ENABLED"] = True
    token = csrf_token_in(client.get("/login").data)
    client.post("/login", data={"email": email, "password": "secret-pw", "csrf_token": token})
    return token


def test_shop_admin_retries_a_failed_email_from_the_outbox_and_it_is_delivered(
    app, client, failed_email, smtp_sink
):
    make_user("admin@example.com", failed_email.shop, role="admin")
    db.session.commit()
    token = log_in_with_csrf(app, client, "admin@example.com")

    listing = client.get("/admin/outbox/").get_data(as_text=True)
    assert "0 are being retried, 1 failed for good" in listing
    assert "Retry now" in listing
    retry = {"action": "retry", "rowid": str(failed_email.id), "url": "/admin/outbox/"}
    assert client.post("/admin/outbox/action/", data=retry).status_code == 400, "no CSRF token"
    response = client.post("/admin/outbox/action/", data={**retry, "csrf_token": token})
    assert response.status_code == 302
    run_jobs()

    assert len(smtp_sink.to(CUSTOMER)) == 1
    assert reload(failed_email.id).status == "sent"
    listing = client.get("/admin/outbox/").get_data(as_text=True)
    assert "1 emails handed to the job runner." in listing
    assert "could not be sent" not in listing


def outbox_row(shop, status: str, error: str | None = None, to: str = CUSTOMER) -> OutboundEmail:
    """An outbox row in this state; commit it with ``commit_without_delivery``."""
    email = OutboundEmail(
        shop=shop,
        template="outbox_check",
        to_address=to,
        subject=SUBJECT,
        body_text="We received your return request.",
        status=status,
        attempts=1 if error else 0,
        last_error=error,
        next_attempt_at=utcnow() + timedelta(minutes=5) if error else None,
    )
    db.session.add(email)
    return email


def commit_without_delivery() -> None:
    """Commit new outbox rows without handing them to the job runner (as if Redis were down)."""
    db.session.flush()
    db.session.info.pop("returndesk_outbox", None)
    db.session.commit()


def test_retry_now_in_bulk_sends_the_failing_and_failed_emails_of_the_admins_shops_only(
    app, client, auth, smtp_sink
):
    shop, other = make_shop(), make_shop("fashion", "Mode Huis")
    make_user("admin@example.com", shop, role="admin")
    failing = outbox_row(shop, "pending", "451 try later", "a@example.nl")
    failed = outbox_row(shop, "failed", "451 try later", "b@example.nl")
    not_theirs = outbox_row(other, "failed", "451 try later", "c@example.nl")
    commit_without_delivery()
    auth.login("admin@example.com")

    ids = [str(email.id) for email in (failing, failed, not_theirs)]
    client.post("/admin/outbox/action/", data={"action": "retry", "rowid": ids})
    run_jobs()

    assert [len(smtp_sink.to(a)) for a in ("a@example.nl", "b@example.nl", "c@example.nl")] == [
        1,
        1,
        0,
    ]
    assert reload(not_theirs.id).status == "failed"


def test_agents_can_neither_see_nor_retry_failing_emails(app, client, auth, smtp_sink):
    shop = make_shop()
    make_user("agent@example.com", shop)
    failed = outbox_row(shop, "failed", "451 try later")
    commit_without_delivery()
    auth.login("agent@example.com")

    assert client.get("/admin/outbox/").status_code == 403
    client.post("/admin/outbox/action/", data={"action": "retry", "rowid": [str(failed.id)]})
    run_jobs()

    assert smtp_sink.to(CUSTOMER) == []
    assert reload(failed.id).status == "failed"


def test_outbox_says_when_a_failing_email_is_tried_next(app, client, auth):
    shop = make_shop()
    make_user("admin@example.com", shop, role="admin")
    failing = outbox_row(shop, "pending", "451 try later")
    commit_without_delivery()
    auth.login("admin@example.com")

    listing = client.get("/admin/outbox/").get_data(as_text=True)
    assert f"Failing, next attempt {shop_time(failing.next_attempt_at, shop)}" in listing


def emails_figure(client, query: str = "") -> str | None:
    page = client.get(f"/admin/{query}").get_data(as_text=True)
    found = re.search(r'id="emails-failing">(.*?)</dd>', page, re.S)
    return " ".join(re.sub(r"<[^>]+>", "", found.group(1)).split()) if found else None


def test_dashboard_counts_the_emails_not_sent_for_the_shops_admins_and_for_support(
    app, client, auth
):
    shop, other = make_shop(), make_shop("fashion", "Mode Huis")
    make_user("admin@example.com", shop, role="admin")
    make_user("agent@example.com", shop)
    make_user("other-admin@example.com", other, role="admin")
    make_user("support@example.com", is_support=True)
    outbox_row(shop, "pending", "451 try later")
    outbox_row(shop, "failed", "550 no such user")
    outbox_row(shop, "pending")  # waiting for its first attempt: not a failure
    outbox_row(shop, "sent")
    outbox_row(None, "failed", "451 try later", "new-colleague@example.com")  # an invitation
    commit_without_delivery()

    auth.login("admin@example.com")
    assert emails_figure(client) == "1 being retried, 1 failed"
    auth.logout()
    auth.login("agent@example.com")
    assert emails_figure(client) is None
    auth.logout()
    auth.login("other-admin@example.com")
    assert emails_figure(client) == "0"
    auth.logout()
    auth.login("support@example.com")
    assert emails_figure(client) == "1 being retried, 2 failed"
    assert emails_figure(client, f"?shop={shop.id}") == "1 being retried, 1 failed"
