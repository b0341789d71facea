"""The seed's "first set all requests to concept, then approve all in concept" in one click, in
a real browser (Debian Chromium): the Requests list offers "Approve all concept (N)" for more
requests than its page shows, the confirmation states the count, and the set-based bulk run
shows its progress and its outcome; the requests on later pages are approved too."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from browser_helpers import log_in
from domain import workflow
from extensions import db
from factories import make_order, make_request, make_shop, make_user
from models import APPROVED, CONCEPT, NEW, ReturnRequest

pytestmark = pytest.mark.browser


def statuses() -> dict[str, int]:
    db.session.expire_all()
    return dict(
        db.session.execute(
            select(ReturnRequest.status, func.count()).group_by(ReturnRequest.status)
        ).all()
    )


def test_approve_all_concept_across_pages_with_its_count_progress_and_outcome(
    page, live_server, smtp_sink, monkeypatch
):
    shop = make_shop()
    make_user("anna@example.com", shop, name="Anna")
    order = make_order(shop, lines=1)
    for _ in range(25):
        make_request(shop, order=order, status=CONCEPT, language="en")
    for _ in range(3):
        make_request(shop, order=order, status=NEW, language="en")
    elsewhere = make_shop("other", "Andere Winkel")
    make_request(elsewhere, status=CONCEPT)
    db.session.commit()
    monkeypatch.setattr(workflow, "BULK_INLINE_LIMIT", 10)  # 25 requests: a job with progress
    base = live_server.url
    log_in(page, base, "anna@example.com")

    page.goto(base + "/admin/requests/?page_size=20")
    assert page.locator("#requests-list tbody tr").count() == 20
    page.get_by_role("link", name="Approve all concept (25)").click()

    expect(page.locator("#bulk-count")).to_have_text("This applies to 25 requests.")
    expect(page.get_by_label("Action")).to_have_value("approve")
    page.get_by_role("button", name="Apply to 25 requests").click()

    expect(page.get_by_role("heading", name="Bulk action finished")).to_be_visible()
    expect(page.get_by_role("progressbar")).to_have_text("25 / 25")
    expect(page.locator("#bulk-outcome")).to_contain_text("25 approved")
    assert statuses() == {APPROVED: 25, NEW: 3, CONCEPT: 1}  # the other shop's is untouched
    assert len(smtp_sink.messages) == 25

    page.get_by_role("link", name="Back to the list").click()
    expect(page.locator("#approve-all-concept")).to_have_count(0)
