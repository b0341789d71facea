"""The founding document's review flow in a real browser (Debian Chromium via Playwright)."""

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from browser_helpers import log_in
from extensions import db
from factories import make_order, make_request, make_shop, make_user
from models import APPROVED, ON_HOLD, ReturnRequest


def statuses():
    return dict(
        db.session.execute(
            select(ReturnRequest.status, func.count()).group_by(ReturnRequest.status)
        ).all()
    )


@pytest.mark.browser
def test_agent_sets_all_new_to_concept_across_pages_then_approves_all_concept(
    page, live_server, smtp_sink
):
    shop = make_shop()
    make_user("anna@example.com", shop, name="Anna")
    order = make_order(shop, lines=1)
    for _ in range(55):
        make_request(shop, order=order, language="en")
    db.session.commit()
    base = live_server.url
    log_in(page, base, "anna@example.com")

    page.goto(base + "/admin/requests/?flt0_status=new")
    page.get_by_role("link", name="Select all 55 requests matching this filter").click()
    expect(page.locator("#bulk-count")).to_have_text("This applies to 55 requests.")
    page.get_by_label("Action").select_option("concept")
    page.get_by_role("button", name="Apply to 55 requests").click()
    expect(page.get_by_role("status").first).to_contain_text("55 set to concept")

    page.goto(base + "/admin/requests/?flt0_status=concept")
    page.get_by_role("link", name="Select all 55 requests matching this filter").click()
    page.get_by_label("Action").select_option("approve")
    page.get_by_role("button", name="Apply to 55 requests").click()
    expect(page.get_by_role("status").first).to_contain_text("55 approved")

    assert statuses() == {APPROVED: 55}
    assert len(smtp_sink.messages) == 55
    assert all("is approved" in message["Subject"] for message in smtp_sink.messages)


@pytest.mark.browser
def test_colleague_sees_held_by_within_seconds_and_cannot_approve(browser, live_server, smtp_sink):
    shop = make_shop()
    make_user("anna@example.com", shop, name="Anna")
    make_user("bram@example.com", shop, name="Bram")
    request = make_request(shop)
    db.session.commit()
    base = live_server.url
    anna = browser.new_context(locale="en-US").new_page()
    bram = browser.new_context(locale="en-US").new_page()
    log_in(anna, base, "anna@example.com")
    log_in(bram, base, "bram@example.com")
    bram.goto(base + "/admin/requests/?flt0_status=open")
    row = bram.locator("tr", has=bram.get_by_role("link", name=request.number))
    expect(row.locator("td.col-held_by")).to_have_text("")

    anna.goto(base + f"/admin/requests/{request.id}")
    anna.get_by_role("button", name="Hold", exact=True).click()
    expect(anna.locator("#request-status")).to_have_text("On hold")

    expect(row.locator("td.col-held_by")).to_have_text("Anna", timeout=8_000)
    expect(row.locator("td.col-status")).to_contain_text("On hold")
    expect(row.get_by_role("button", name=re.compile("^Approve"))).to_have_count(0)

    bram.goto(base + f"/admin/requests/{request.id}")
    expect(bram.get_by_role("button", name="Approve", exact=True)).to_have_count(0)
    db.session.expire_all()
    assert db.session.get(ReturnRequest, request.id).status == ON_HOLD
    assert smtp_sink.messages == []
    anna.context.close()
    bram.context.close()
