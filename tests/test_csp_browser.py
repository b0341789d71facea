"""The pages work in a real browser under the Content-Security-Policy (no 'unsafe-inline'
for scripts): nothing the browser refused shows up while staff and customers use them."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from browser_helpers import go_through_the_portal, log_in
from extensions import db
from factories import make_order, make_request, make_shop, make_user
from models import APPROVED, CONCEPT, ON_HOLD, Message, ReturnRequest

pytestmark = pytest.mark.browser

# Reported by the page itself; runs before any of the page's scripts, outside its policy.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (event) {
  window.__cspViolations.push(event.violatedDirective + " " + (event.blockedURI || "inline"));
});
"""


@pytest.fixture
def watched(browser, live_server):
    """A page that records every CSP violation, from the console and from the page."""
    context = browser.new_context(locale="en-US")
    context.add_init_script(RECORD_VIOLATIONS)
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.console_violations = []
    page.on(
        "console",
        lambda message: (
            "Content Security Policy" in message.text
            and page.console_violations.append(message.text)
        ),
    )
    yield page
    context.close()


def assert_no_violations(page) -> None:
    reported = page.evaluate("window.__cspViolations || []")
    assert page.console_violations == [] and reported == [], (page.console_violations, reported)


def test_request_list_rows_are_selected_and_a_bulk_action_runs(watched, live_server):
    shop = make_shop()
    make_user("anna@example.com", shop, name="Anna")
    order = make_order(shop, lines=1)
    first, second, third = (make_request(shop, order=order, language="en") for _ in range(3))
    db.session.commit()
    page = watched
    log_in(page, live_server.url, "anna@example.com")

    page.goto(live_server.url + "/admin/requests/")
    page.get_by_role("link", name="Add Filter").click()
    page.locator("a.filter", has_text="Status").click()
    expect(page.locator("table.filters")).to_be_visible()
    page.get_by_title(f"Select {first.number}").check()
    page.get_by_title(f"Select {second.number}").check()
    page.get_by_role("button", name="With selected").click()
    page.locator("[data-model-action=concept]").click()
    expect(page.locator("#bulk-count")).to_have_text("This applies to 2 requests.")
    page.get_by_role("button", name="Apply to 2 requests").click()
    expect(page.get_by_role("status").first).to_contain_text("2 set to concept")

    db.session.expire_all()
    assert [db.session.get(ReturnRequest, r.id).status for r in (first, second, third)] == [
        CONCEPT,
        CONCEPT,
        "new",
    ]
    assert_no_violations(page)


def test_request_page_hold_approve_and_message(watched, live_server):
    shop = make_shop()
    make_user("anna@example.com", shop, name="Anna")
    request = make_request(shop, language="en")
    db.session.commit()
    page = watched
    log_in(page, live_server.url, "anna@example.com")

    page.goto(live_server.url + f"/admin/requests/{request.id}")
    page.get_by_role("button", name="Hold", exact=True).click()
    expect(page.locator("#request-status")).to_have_text("On hold")
    db.session.expire_all()
    assert db.session.get(ReturnRequest, request.id).status == ON_HOLD
    page.locator("#message-body").fill("Could you send a photo of the seam?")
    page.locator("#message-form button[type=submit]").click()
    expect(page.locator("#thread-heading")).to_be_visible()
    page.get_by_role("button", name="Approve", exact=True).click()
    expect(page.locator("#request-status")).to_have_text("Approved")

    db.session.expire_all()
    assert db.session.get(ReturnRequest, request.id).status == APPROVED
    assert db.session.scalar(select(Message.body)) == "Could you send a photo of the seam?"
    assert_no_violations(page)


def test_portal_form_with_a_photo_is_submitted(watched, live_server, portal_demo, tmp_path):
    page = watched
    page.goto(live_server.url + "/returns/demo/")
    request = go_through_the_portal(page, portal_demo, tmp_path)
    assert len(request.lines[0].photos) == 1
    assert_no_violations(page)


def test_dashboard_draws_its_charts(watched, live_server):
    shop = make_shop()
    make_user("anna@example.com", shop, name="Anna")
    make_request(shop, language="en")
    db.session.commit()
    page = watched
    log_in(page, live_server.url, "anna@example.com")

    page.goto(live_server.url + "/admin/")
    charts = page.locator("canvas")
    expect(charts.first).to_be_visible()
    assert page.evaluate("Object.keys(Chart.instances).length") == charts.count() > 0
    assert_no_violations(page)


def test_flask_admin_delete_confirmation_and_inline_rows_work(watched, live_server):
    from models import Order, WebhookEndpoint

    shop = make_shop()
    make_user("admin@example.com", shop, role="admin", is_support=True)
    endpoint = WebhookEndpoint(shop=shop, url="https://shop.example.com/hooks", events=[])
    order = make_order(shop, lines=1)
    db.session.add(endpoint)
    db.session.commit()
    endpoint_id, order_id = endpoint.id, order.id
    page = watched
    log_in(page, live_server.url, "admin@example.com")

    page.goto(live_server.url + f"/admin/orders/edit/?id={order_id}")
    lines_before = page.locator(".inline-field-list > .inline-field").count()
    page.get_by_role("button", name=re.compile("^Add ")).click()
    expect(page.locator(".inline-field-list > .inline-field")).to_have_count(lines_before + 1)

    page.goto(live_server.url + "/admin/webhooks/")
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.get_by_title("Delete Record").click()
    page.reload()
    expect(page.get_by_text("https://shop.example.com/hooks")).to_be_visible()
    db.session.expire_all()
    assert db.session.get(WebhookEndpoint, endpoint_id) is not None
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_title("Delete Record").click()
    page.wait_for_load_state()
    expect(page.get_by_text("https://shop.example.com/hooks")).to_have_count(0)
    db.session.expire_all()
    assert db.session.get(WebhookEndpoint, endpoint_id) is None
    assert db.session.get(Order, order_id) is not None
    assert_no_violations(page)
