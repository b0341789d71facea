"""The customer's label pages under the status link: carrier, fee, create, download, QR."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from sqlalchemy import func, select

from app import create_app
from domain import audit, workflow
from extensions import db
from factories import RETURN_ADDRESS, make_request, make_shop, make_user
from harness import app_config, empty_all_tables, need_service
from models import LABEL_CREATED, Return
from return_flow import approved_request, run_jobs
from services import labels

# The labels go back to the shop's return address.
pytestmark = pytest.mark.shop(**RETURN_ADDRESS)


def label_url(req, slug: str | None = None, token: str | None = None, tail: str = "") -> str:
    return f"/returns/{slug or req.shop.slug}/status/{token or req.public_token}/label{tail}"


def returns_of(req) -> int:
    return db.session.scalar(
        select(func.count()).select_from(Return).where(Return.request_id == req.id)
    )


@pytest.mark.parametrize("tail", ["", "/pdf", "/qr", "/qr.png"])
def test_a_wrong_token_or_shop_is_not_found(client, shop, request_, tail):
    other = make_shop("fashion", "Fashion", **RETURN_ADDRESS)
    db.session.commit()

    assert client.get(label_url(request_, token="not-the-token", tail=tail)).status_code == 404
    assert client.get(label_url(request_, slug=other.slug, tail=tail)).status_code == 404
    assert (
        client.post(label_url(request_, slug=other.slug), data={"carrier": "own"}).status_code
        == 404
    )
    assert returns_of(request_) == 0


def test_the_fee_is_shown_before_the_label_is_created(client, request_):
    page = client.get(label_url(request_)).get_data(as_text=True)

    assert "€5.95 deducted from your refund." in page
    assert 'name="carrier"' in page and "Own label" in page
    assert "Drop the parcel off at a service point." in page
    assert returns_of(request_) == 0


def test_with_free_shipping_the_label_is_free(client, shop, agent):
    req = approved_request(shop, agent, free_shipping=True)

    page = client.get(label_url(req)).get_data(as_text=True)

    assert "The return label is free." in page and "deducted" not in page


def test_the_page_speaks_the_requests_language(client, shop, agent):
    req = approved_request(shop, agent, language="nl")

    page = client.get(label_url(req)).get_data(as_text=True)

    assert '<html lang="nl">' in page
    assert "€\xa05,95" in page  # as Dutch writes money


def test_creating_the_label_makes_it_and_shows_the_download(client, request_):
    response = client.post(label_url(request_), data={"carrier": "own"})
    run_jobs()

    assert response.status_code == 302
    assert response.headers["Location"].endswith(label_url(request_))
    page = client.get(label_url(request_)).get_data(as_text=True)
    assert "Download label (PDF)" in page and 'http-equiv="refresh"' not in page
    db.session.refresh(request_)
    assert request_.status == LABEL_CREATED


def test_a_double_submit_creates_one_return(client, request_):
    client.post(label_url(request_), data={"carrier": "own"})
    client.post(label_url(request_), data={"carrier": "own"})

    assert returns_of(request_) == 1


def test_the_pdf_downloads_as_an_attachment(client, request_):
    client.post(label_url(request_), data={"carrier": "own"})
    run_jobs()
    return_ = workflow.active_return(request_)

    response = client.get(label_url(request_, tail="/pdf"))

    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert f"{return_.number}.pdf" in response.headers["Content-Disposition"]
    assert response.data.startswith(b"%PDF")


def test_no_download_before_the_label_exists(client, request_):
    assert client.get(label_url(request_, tail="/pdf")).status_code == 404


def test_the_progress_page_refreshes_itself_until_the_label_is_ready(client, request_):
    labels.create_return(request_, "own", audit.CUSTOMER)
    db.session.commit()  # the job has not run yet

    page = client.get(label_url(request_)).get_data(as_text=True)

    assert '<meta http-equiv="refresh" content="3">' in page
    assert "Your label is being created." in page


def test_a_carrier_that_is_retried_or_failed_is_explained(client, request_):
    return_ = labels.create_return(request_, "own", audit.CUSTOMER)
    return_.label_error = "The carrier cannot be reached right now. We will try again."
    db.session.commit()
    retrying = client.get(label_url(request_)).get_data(as_text=True)
    return_.label_status = "failed"
    db.session.commit()
    failed = client.get(label_url(request_)).get_data(as_text=True)

    assert "we are retrying. Try again later." in retrying
    assert "The carrier could not make your label" in failed and "try again later" in failed


def test_try_again_makes_the_label_on_the_same_return(client, request_):
    return_ = labels.create_return(request_, "own", audit.CUSTOMER)
    return_.label_status = "failed"
    db.session.commit()

    client.post(label_url(request_, tail="/again"))
    run_jobs()

    db.session.refresh(return_)
    assert return_.label_status == "ready" and returns_of(request_) == 1


def test_no_label_for_a_request_that_is_not_approved(client, shop):
    req = make_request(shop, language="en")
    db.session.commit()

    page = client.get(label_url(req)).get_data(as_text=True)
    client.post(label_url(req), data={"carrier": "own"})

    assert "once your request is approved" in page
    assert returns_of(req) == 0


def test_no_printer_shows_a_qr_code_of_the_label(client, request_, tmp_path):
    client.post(label_url(request_), data={"carrier": "own"})
    run_jobs()
    return_ = workflow.active_return(request_)

    page = client.get(label_url(request_, tail="/qr")).get_data(as_text=True)
    image = client.get(label_url(request_, tail="/qr.png"))

    assert label_url(request_, tail="/qr.png") in page and "QR code of return" in page
    assert image.mimetype == "image/png" and image.data.startswith(b"\x89PNG")
    need_service("zbarimg (apt: zbar-tools)", bool(shutil.which("zbarimg")))
    (tmp_path / "qr.png").write_bytes(image.data)
    scan = subprocess.run(
        ["zbarimg", "-q", str(tmp_path / "qr.png")], capture_output=True, text=True, check=True
    )
    assert scan.stdout.strip() == f"QR-Code:{return_.tracking_number}"


def test_creating_needs_the_csrf_token(migrated, smtp_sink, tmp_path):
    app = create_app({**app_config(migrated, smtp_sink, tmp_path), "WTF_CSRF_ENABLED": True})
    with app.app_context():
        try:
            shop = make_shop(**RETURN_ADDRESS)
            req = approved_request(shop, make_user("agent@example.com", shop))
            response = app.test_client().post(label_url(req), data={"carrier": "own"})
            assert response.status_code == 400
            assert returns_of(req) == 0
        finally:
            db.session.remove()
            empty_all_tables()


def status_url(req) -> str:
    return f"/returns/{req.shop.slug}/status/{req.public_token}?lang=en"


def test_status_block_offers_the_label_then_its_download(client, request_):
    before = client.get(status_url(request_)).get_data(as_text=True)
    client.post(label_url(request_), data={"carrier": "own"})
    run_jobs()
    after = client.get(status_url(request_)).get_data(as_text=True)

    assert "Create return label" in before and label_url(request_) in before
    assert "Download label (PDF)" in after and label_url(request_, tail="/pdf") in after


def test_after_a_cancelled_label_the_customer_waits_for_the_shop(client, request_, agent):
    client.post(label_url(request_), data={"carrier": "own"})
    run_jobs()
    labels.cancel_return(workflow.active_return(request_), agent)
    db.session.commit()

    status_page = client.get(status_url(request_)).get_data(as_text=True)
    label_page = client.get(label_url(request_)).get_data(as_text=True)
    client.post(label_url(request_), data={"carrier": "own"})
    run_jobs()

    waiting = "Your return label was cancelled. The shop will let you know by email how to"
    assert waiting in status_page and waiting in label_page
    assert "Create return label" not in status_page
    assert 'name="carrier"' not in label_page
    assert workflow.active_return(request_) is None
    assert returns_of(request_) == 1


def test_once_the_agent_allows_it_the_customer_makes_a_new_label(client, request_, agent):
    client.post(label_url(request_), data={"carrier": "own"})
    run_jobs()
    labels.cancel_return(workflow.active_return(request_), agent)
    db.session.refresh(request_)
    workflow.allow_new_label(request_, agent)
    db.session.commit()

    page = client.get(status_url(request_)).get_data(as_text=True)
    client.post(label_url(request_), data={"carrier": "own"})
    run_jobs()

    assert "Create return label" in page
    assert workflow.active_return(request_).label_status == "ready"
    assert returns_of(request_) == 2
