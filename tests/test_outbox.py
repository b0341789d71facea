"""The outbox: an email is a row written in the caller's transaction, delivered after commit,
retried when SMTP refuses, swept when a worker died, never sent twice and never lost.

Without ``REDIS_URL`` jobs run in-process at commit; with it they go through RQ and
``run_jobs()`` plays the worker, so these tests prove the same behaviour on both.
"""

import os
from datetime import timedelta
from pathlib import Path

import pytest
from flask import current_app
from jinja2 import ChoiceLoader, FileSystemLoader
from sqlalchemy import func, select

import conftest
import tasks
import workflow
from app import create_app
from conftest import make_shop, make_user, need_service
from emails import queue_email
from extensions import db
from factories import make_order, make_request
from models import CONCEPT, EmailTemplate, OutboundEmail, ReturnRequest, User, utcnow

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

    SimpleWorker([tasks.queue()], connection=tasks.redis_connection()).work(burst=True)


def reload(email_id: int) -> OutboundEmail:
    db.session.expire_all()
    return db.session.get(OutboundEmail, email_id)


def make_due_for_retry(email_id: int) -> None:
    """Move the last claim back past every backoff interval instead of waiting for it."""
    email = reload(email_id)
    email.claimed_at = utcnow() - timedelta(hours=2)
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
    assert message["Subject"] == SUBJECT
    assert "Hello Zoë," in message.get_body(("plain",)).get_content()
    assert reload(email.id).status == "sent"


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
    config = conftest.test_config(migrated, smtp_sink, tmp_path / "storage")
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

    queue = tasks.queue()
    queue.empty()
    email = queue_check_email(make_shop())
    db.session.flush()
    assert queue.count == 0, "nothing is handed to RQ before the commit"

    db.session.commit()
    assert queue.count == 1
    assert smtp_sink.to(CUSTOMER) == [], "the web process does not send; the worker does"

    SimpleWorker([tasks.queue()], connection=tasks.redis_connection()).work(burst=True)

    [message] = smtp_sink.to(CUSTOMER)
    assert message["Subject"] == SUBJECT
    assert message["To"] == CUSTOMER
    assert reload(email.id).status == "sent"


def approve_in_bulk(shop, customers: list[str]) -> list[ReturnRequest]:
    """Concept requests of these customers, approved by one bulk action (not yet committed)."""
    agent = make_user("anna@example.com", shop, name="Anna")
    requests = [
        make_request(
            shop, CONCEPT, make_order(shop, lines=1, customer_email=customer), language="en"
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


def test_a_refused_address_does_not_hold_up_the_rest_of_its_batch(app, smtp_sink, runner):
    smtp_sink.refused = {"b@example.nl"}
    approve_in_bulk(make_shop(), ["a@example.nl", "b@example.nl", "c@example.nl"])
    db.session.commit()
    run_jobs()

    assert len(smtp_sink.to("a@example.nl")) == len(smtp_sink.to("c@example.nl")) == 1
    refused = db.session.scalar(
        select(OutboundEmail).where(OutboundEmail.to_address == "b@example.nl")
    )
    assert (refused.status, refused.attempts) == ("pending", 1)
    assert "550" in refused.last_error

    smtp_sink.refused = set()
    make_due_for_retry(refused.id)
    runner.invoke(args=["outbox", "sweep"])
    run_jobs()

    assert len(smtp_sink.to("b@example.nl")) == 1
    assert len(smtp_sink.messages) == 3, "the emails already sent are not sent again"


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
