"""From approval through the customer's label to a received and refunded return, in Chromium.

Both lists ("Requests" and "Returns") are checked at every step, as staff would look at them.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from extensions import db
from factories import RETURN_ADDRESS, make_request, make_shop, make_user
from harness import need_service
from models import Return
from return_flow import run_jobs


def status_in_list(page, base: str, path: str, number: str) -> str:
    """The status cell text of the row of ``number`` in a list."""
    page.goto(base + path)
    row = page.locator("tr", has_text=number)
    return row.locator("td.col-status").inner_text().strip()


def requests_status(page, base, number):
    return status_in_list(page, base, "/admin/requests/?all=1", number)


def returns_status(page, base, number):
    return status_in_list(page, base, "/admin/returns/", number)


@pytest.mark.browser
def test_request_goes_from_approval_through_the_label_to_refunded(page, browser, live_server):
    shop = make_shop(**RETURN_ADDRESS)
    agent = make_user("anna@example.com", shop)
    req = make_request(shop, language="en")
    db.session.commit()
    base = live_server.url
    number, token, email = req.number, req.public_token, agent.email

    page.goto(base + "/login")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill("secret-pw")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/admin/")
    assert requests_status(page, base, number) == "New"

    page.goto(f"{base}/admin/requests/{req.id}")
    page.get_by_role("button", name="Approve", exact=True).click()
    assert page.locator("#request-status").inner_text() == "Approved"
    assert requests_status(page, base, number) == "Approved"

    customer = browser.new_context(locale="en-US", accept_downloads=True).new_page()
    customer.set_default_timeout(10_000)
    customer.goto(f"{base}/returns/{shop.slug}/status/{token}/label")
    assert "€5.95 deducted from your refund." in customer.locator("#label-fee").inner_text()
    customer.get_by_label("Own label").check()
    customer.get_by_role("button", name="Create return label").click()
    run_jobs()  # with Redis an RQ worker makes the label; the page refreshes until it is there
    link = customer.get_by_role("link", name="Download label (PDF)")
    with customer.expect_download() as download:
        link.click()
    pdf = Path(download.value.path()).read_bytes()
    assert pdf.startswith(b"%PDF")
    customer.context.close()

    return_number = db.session.query(Return.number).filter_by(request_id=req.id).scalar()
    assert requests_status(page, base, number) == "Label created"
    assert returns_status(page, base, return_number) == "Label created"

    page.get_by_role("link", name=return_number).click()
    page.get_by_label("Condition of Wollen trui").select_option(label="Damaged")
    page.get_by_role("button", name="Mark received").click()
    assert "Received" in page.locator("#return-status").inner_text()
    assert returns_status(page, base, return_number) == "Received"
    assert requests_status(page, base, number) == "Label created"

    page.goto(base + "/admin/returns/")
    page.get_by_role("link", name=return_number).click()
    refund_total = page.locator("#resolve tfoot tr").last.inner_text()
    assert "€44.00" in refund_total  # 49.95 accepted − 5.95 fee; the damaged trui is not refunded
    page.get_by_role("button", name="Resolve: Refund").click()
    assert "€44.00" in page.locator("#resolution").inner_text()
    assert returns_status(page, base, return_number) == "Resolved"
    assert requests_status(page, base, number) == "Completed"

    need_service("pdftotext (apt: poppler-utils)", bool(shutil.which("pdftotext")))
    opened = subprocess.run(
        ["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()
    assert return_number in opened and "Magazijnweg 7" in opened  # the printed label
