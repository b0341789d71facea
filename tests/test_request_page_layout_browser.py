"""The request page's shape in a real browser (Debian Chromium): on a wide screen the request
on the left and the decision panel on the right, still in view when the agent has scrolled
to the bottom of a long request, the history folded away; and, without JavaScript, every
decision still works: hold (orange), free shipping as a switch, cancel with its reason."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from browser_helpers import log_in
from extensions import db
from factories import make_order, make_request, make_shop, make_user
from models import CANCELLED, Message, ReturnRequest

pytestmark = pytest.mark.browser


def long_request() -> ReturnRequest:
    """A request of 25 lines and a long conversation: more than a screen high."""
    shop = make_shop()
    make_user("anna@example.com", shop, name="Anna")
    request = make_request(shop, make_order(shop, lines=25), language="en")
    for n in range(12):
        request.messages.append(Message(direction="inbound", body=f"Question {n}. " * 30))
    db.session.commit()
    return request


def test_the_decision_panel_stays_beside_a_long_request_and_the_history_is_folded(
    browser, live_server
):
    request = long_request()
    context = browser.new_context(locale="en-US", viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    log_in(page, live_server.url, "anna@example.com")
    page.goto(live_server.url + f"/admin/requests/{request.id}")

    main = page.locator(".request-main").bounding_box()
    side = page.locator(".request-side").bounding_box()
    assert main and side and side["x"] >= main["x"] + main["width"] - 1
    assert page.evaluate("document.documentElement.scrollHeight") > 2 * 900
    expect(page.locator("details#history")).not_to_have_attribute("open", "")

    page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
    approve = page.locator(".request-side").get_by_role("button", name="Approve", exact=True)
    expect(approve).to_be_in_viewport()
    context.close()


def test_every_decision_works_without_javascript(browser, live_server):
    request = long_request()
    context = browser.new_context(locale="en-US", java_script_enabled=False)
    page = context.new_page()
    page.set_default_timeout(10_000)
    log_in(page, live_server.url, "anna@example.com")
    page.goto(live_server.url + f"/admin/requests/{request.id}")

    hold = page.get_by_role("button", name="Hold", exact=True)
    assert hold.evaluate("b => getComputedStyle(b).backgroundColor") == "rgb(253, 126, 20)"
    hold.click()
    expect(page.locator("#held-by")).to_contain_text("Anna since")
    switch = page.get_by_role("switch")
    expect(switch).to_have_attribute("aria-checked", "false")
    switch.click()
    expect(page.get_by_role("switch")).to_have_attribute("aria-checked", "true")

    page.locator("details#cancel > summary").click()
    page.get_by_label("Reason for cancelling (sent to the customer)").fill("Outside the window.")
    page.locator("details#cancel").get_by_role("button", name="Cancel", exact=True).click()
    expect(page.locator("#cancel-reason-shown")).to_contain_text("Outside the window.")

    db.session.expire_all()
    decided = db.session.get(ReturnRequest, request.id)
    assert (decided.status, decided.free_shipping) == (CANCELLED, True)
    context.close()
