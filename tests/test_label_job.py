"""The label job (tasks.create_label): once per return, stored, emailed, retried, or failed."""

from __future__ import annotations

import threading
from datetime import UTC, timedelta
from http.server import ThreadingHTTPServer

import pytest
from sqlalchemy import func, select

import tasks
from conftest import free_port, make_user
from domain import audit, workflow
from extensions import db
from factories import make_order, make_request
from models import Attachment, CarrierAccount, Return
from return_flow import emails_to, make_demo_shop, return_audit, run_jobs, staff
from services import jobs, label_jobs, labels
from test_labels import LABEL_PDF, PUBLIC_KEY, SECRET_KEY, SendcloudStandIn, errors


@pytest.fixture
def shop(app):
    return make_demo_shop()


@pytest.fixture
def agent(shop):
    return staff(shop)


@pytest.fixture
def sendcloud(app, shop):
    """Sendcloud's stand-in on loopback, and the shop's Sendcloud account pointing at it."""
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), SendcloudStandIn)
    server.state = {"calls": [], "announced": True, "fail_with": None}
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    app.config["OUTBOUND_ALLOW_PRIVATE"] = True  # the stand-in is on loopback
    app.config["SENDCLOUD_API_URL"] = f"http://127.0.0.1:{server.server_port}/api/v3"
    db.session.add(
        CarrierAccount(
            shop_id=shop.id,
            carrier="sendcloud",
            public_key=PUBLIC_KEY,
            secret_key=SECRET_KEY,
            settings={"shipping_option_code": "postnl:return/standard"},
        )
    )
    db.session.commit()
    yield server.state
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def new_return(shop, agent, carrier: str = "own") -> Return:
    """An approved request with a full address, and the return the customer just created."""
    order = make_order(shop, customer_street="Kerkstraat 12", customer_city="Amsterdam")
    request = make_request(shop, order=order, language="en")
    workflow.approve(request, agent)
    return_ = labels.create_return(request, carrier, audit.CUSTOMER)
    db.session.commit()
    return return_


def stored_label(return_: Return) -> Attachment:
    return db.session.scalar(
        select(Attachment).where(Attachment.storage_key == return_.label_storage_key)
    )


def test_job_stores_the_pdf_and_tracking_and_emails_the_label(shop, agent, smtp_sink):
    from services import storage

    return_ = new_return(shop, agent)

    tasks.create_label(return_.id)
    run_jobs()  # the email delivery

    db.session.refresh(return_)
    assert return_.label_status == "ready" and return_.label_attempts == 1
    assert return_.tracking_number.startswith("RD")
    assert storage.read(stored_label(return_)).startswith(b"%PDF")
    [email] = emails_to(return_.request.customer_email, "return_label")
    assert email.attachment_ids == [stored_label(return_).id]
    [message] = [m for m in smtp_sink.to(return_.request.customer_email) if "label" in m["Subject"]]
    [pdf] = list(message.iter_attachments())
    assert pdf.get_content_type() == "application/pdf"
    assert pdf.get_filename() == f"{return_.number}.pdf"
    assert pdf.get_content().startswith(b"%PDF")


def test_running_the_job_twice_makes_one_label(shop, agent):
    return_ = new_return(shop, agent)

    tasks.create_label(return_.id)
    tasks.create_label(return_.id)

    assert db.session.scalar(select(func.count()).select_from(Attachment)) == 1
    assert len(emails_to(return_.request.customer_email, "return_label")) == 1


def test_sendcloud_label_is_fetched_and_stored(shop, agent, sendcloud):
    from services import storage

    return_ = new_return(shop, agent, "sendcloud")

    tasks.create_label(return_.id)

    db.session.refresh(return_)
    assert return_.label_status == "ready"
    assert return_.tracking_number == "3SSEND12345678"
    assert return_.tracking_url == "https://tracking.example/3SSEND12345678"
    assert storage.read(stored_label(return_)) == LABEL_PDF


def test_carrier_down_is_retried_until_it_answers(shop, agent, sendcloud):
    return_ = new_return(shop, agent, "sendcloud")
    sendcloud["fail_with"] = (503, errors("503", "unavailable", "Service unavailable"))

    with pytest.raises(labels.CarrierError):
        tasks.create_label(return_.id)  # RQ retries a job that raises

    db.session.refresh(return_)
    assert return_.label_status == "pending"
    assert "Service unavailable" in return_.label_error

    sendcloud["fail_with"] = None
    tasks.create_label(return_.id)

    db.session.refresh(return_)
    assert return_.label_status == "ready" and return_.label_error is None
    assert return_.label_attempts == 2


def test_after_the_last_retry_the_label_fails_and_support_sees_it(
    shop, agent, sendcloud, client, auth
):
    return_ = new_return(shop, agent, "sendcloud")
    return_.label_attempts = len(jobs.RETRY_INTERVALS)
    db.session.commit()
    sendcloud["fail_with"] = (503, errors("503", "unavailable", "Service unavailable"))

    tasks.create_label(return_.id)  # the last attempt gives up instead of raising

    db.session.refresh(return_)
    assert return_.label_status == "failed"
    make_user("support@returndesk.test", is_support=True)
    db.session.commit()
    auth.login("support@returndesk.test")
    listing = client.get("/admin/returns/?flt0_status=label_failed").get_data(as_text=True)
    assert return_.number in listing and "Label failed" in listing
    page = client.get(f"/admin/returns/{return_.id}").get_data(as_text=True)
    assert "Sendcloud refused the request: Service unavailable" in page


def test_a_refusal_fails_at_once_with_the_carriers_message(shop, agent, sendcloud):
    return_ = new_return(shop, agent, "sendcloud")
    sendcloud["fail_with"] = (422, {"error": {"code": 422, "message": "Unknown shipping option"}})

    tasks.create_label(return_.id)

    db.session.refresh(return_)
    assert return_.label_status == "failed"
    assert return_.label_error == "Sendcloud refused the request: Unknown shipping option"
    assert ("label_failed", None, None) in return_audit(return_)
    assert emails_to(return_.request.customer_email, "return_label") == []


def test_sweeper_hands_a_pending_label_to_the_job_again(shop, agent, sendcloud):
    return_ = new_return(shop, agent, "sendcloud")
    sendcloud["fail_with"] = (503, errors("503", "unavailable", "Service unavailable"))
    with pytest.raises(labels.CarrierError):
        tasks.create_label(return_.id)
    sendcloud["fail_with"] = None

    failed_at = return_.updated_at.replace(tzinfo=UTC)

    assert label_jobs.sweep_labels(now=failed_at + timedelta(seconds=1)) == 0  # backoff not over
    assert label_jobs.sweep_labels(now=failed_at + timedelta(minutes=1)) == 1
    run_jobs()

    db.session.refresh(return_)
    assert return_.label_status == "ready"


def test_a_label_made_again_is_emailed_again(shop, agent):
    return_ = new_return(shop, agent)
    tasks.create_label(return_.id)
    workflow.recreate_label(return_, agent)
    db.session.commit()
    tasks.create_label(return_.id)

    assert len(emails_to(return_.request.customer_email, "return_label")) == 2


def test_carrier_address_in_a_private_network_is_refused_without_a_call(
    app, shop, agent, sendcloud
):
    """Outbound calls go through the same guard as webhooks: by default a carrier URL on
    loopback is never called, and the label fails with a message instead of retrying."""
    app.config["OUTBOUND_ALLOW_PRIVATE"] = False
    return_ = new_return(shop, agent, "sendcloud")

    tasks.create_label(return_.id)

    db.session.refresh(return_)
    assert sendcloud["calls"] == []
    assert return_.label_status == "failed"
    assert "The carrier's address in the settings is not allowed" in return_.label_error
