"""The Requests list's compact row actions in a real browser: an agent opens a row's "⋯" menu
with the keyboard, Escape closes it, a hold from it lands back on the same list; without
JavaScript the menu still opens and holds; axe finds nothing serious or critical."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from axe_audit import Audit
from browser_helpers import log_in
from extensions import db
from factories import make_order, make_request, make_user
from models import NEW, ON_HOLD, ReturnRequest, ReviewStage

pytestmark = pytest.mark.browser

LIST = "/admin/requests/?flt0_status=open&page_size=20"


def status_of(request: ReturnRequest) -> str:
    db.session.expire_all()
    return db.session.get(ReturnRequest, request.id).status


def row_of(page: Page, request: ReturnRequest):
    return page.locator("tr", has=page.get_by_role("link", name=request.number, exact=True))


def test_an_agent_holds_a_request_from_its_menu_with_the_keyboard(page, live_server, shop):
    make_user("anna@example.com", shop, name="Anna")
    order = make_order(shop, lines=1)
    first, second = (make_request(shop, order, language="en") for _ in range(2))
    db.session.commit()
    log_in(page, live_server.url, "anna@example.com")
    page.goto(live_server.url + LIST)
    audit = Audit()
    audit.check(page, "list")

    row = row_of(page, first)
    hold = row.get_by_role("button", name=f"Hold {first.number}")
    expect(row.get_by_role("button", name=f"Approve {first.number}")).to_be_visible()
    expect(hold).to_be_hidden()
    for column in ("number", "order_number"):
        wrap = row.locator(f"td.col-{column}").evaluate("e => getComputedStyle(e).whiteSpace")
        assert wrap == "nowrap", f"a {column} never breaks in the middle"

    # From the row's one button, Tab reaches its menu, named with the request's number.
    row.get_by_role("button", name=f"Approve {first.number}").focus()
    page.keyboard.press("Tab")
    summary = row.locator("summary")
    expect(summary).to_be_focused()
    expect(summary).to_have_accessible_name(f"More actions for {first.number}")
    outline = summary.evaluate("e => getComputedStyle(e).outlineStyle")
    assert outline != "none", "the focused menu button shows where the keyboard is"

    # Enter opens it; Escape closes it and leaves the focus on its button.
    page.keyboard.press("Enter")
    expect(hold).to_be_visible()
    expect(row.locator("details.row-menu")).to_have_attribute("open", "")
    audit.check(page, "list, a row's menu open")
    page.keyboard.press("Escape")
    expect(hold).to_be_hidden()
    expect(summary).to_be_focused()

    # Open again, Tab to Hold, Enter: held, back on the same list.
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    expect(hold).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("status").filter(has_text=f"{first.number}: done.")).to_be_visible()
    expect(page).to_have_url(live_server.url + LIST)
    assert status_of(first) == ON_HOLD
    expect(row_of(page, first).locator("td.col-held_by")).to_have_text("Anna")
    expect(
        row_of(page, first).get_by_role("button", name=f"Approve {first.number}")
    ).to_be_visible()
    assert status_of(second) == NEW
    audit.check(page, "list after a hold")
    audit.assert_clean()


def test_without_javascript_the_menu_opens_and_holds(browser, live_server, shop):
    make_user("anna@example.com", shop, name="Anna")
    request = make_request(shop, language="en")
    db.session.commit()
    context = browser.new_context(locale="en-US", java_script_enabled=False)
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(live_server.url + "/login")
    page.get_by_label("Email address").fill("anna@example.com")
    page.get_by_label("Password").fill("secret-pw")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile("/admin/"))
    page.goto(live_server.url + LIST)

    row = row_of(page, request)
    row.locator("summary").click()
    row.get_by_role("button", name=f"Hold {request.number}").click()

    expect(row_of(page, request).locator("td.col-held_by")).to_have_text("Anna")
    assert status_of(request) == ON_HOLD
    context.close()


def test_the_bulk_form_shows_only_the_fields_of_the_chosen_action(page, live_server, shop):
    make_user("anna@example.com", shop, name="Anna")
    db.session.add(ReviewStage(shop=shop, name_nl="Foto's", name_en="Photos"))
    request = make_request(shop)
    db.session.commit()
    log_in(page, live_server.url, "anna@example.com")
    page.goto(live_server.url + f"/admin/requests/bulk?ids={request.id}&{LIST.split('?')[1]}")
    reason = page.get_by_label("Reason for the customer (needed to cancel)")
    stage = page.get_by_label("Review stage (to move to a stage)")
    action = page.get_by_label("Action", exact=True)

    expect(reason).to_be_hidden()
    expect(stage).to_be_hidden()
    action.select_option("cancel")
    expect(reason).to_be_visible()
    expect(reason).to_have_attribute("required", "")
    expect(stage).to_be_hidden()
    action.select_option("stage")
    expect(stage).to_be_visible()
    expect(reason).to_be_hidden()
    action.select_option("hold")
    expect(reason).to_be_hidden()
    expect(stage).to_be_hidden()
    audit = Audit()
    audit.check(page, "bulk form")
    audit.assert_clean()

    page.get_by_role("button", name="Apply to 1 request").click()
    expect(page).to_have_url(live_server.url + LIST)
    assert status_of(request) == ON_HOLD
