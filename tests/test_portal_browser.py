"""A customer returns items through every step of the portal in a real browser (no JavaScript
needed), in Dutch and in English; staff then find the request in the admin's Requests list."""

from __future__ import annotations

import pytest

from browser_helpers import go_through_the_portal
from models import ReturnRequest

pytestmark = pytest.mark.browser


def staff_sees_request_in_requests_list(page, live_server, request: ReturnRequest) -> None:
    page.goto(live_server.url + "/login")
    page.locator("#email").fill("agent@example.com")
    page.locator("#password").fill("secret-pw")
    page.locator("form:has(#password) button.btn-primary").click()
    page.wait_for_url("**/admin/")
    page.goto(live_server.url + "/admin/requests/")
    assert page.get_by_text(request.number).is_visible()


def check_emails(smtp_sink, request: ReturnRequest) -> None:
    confirmation = smtp_sink.to("klant@example.com")
    assert len(confirmation) == 1
    body = confirmation[0].get_body(("plain",)).get_content()
    assert f"/returns/demo/status/{request.public_token}" in body
    assert request.number in confirmation[0]["Subject"]
    staff = smtp_sink.to("returns@demo.example.com")
    assert len(staff) == 1
    assert request.number in staff[0]["Subject"]


def test_customer_returns_an_item_in_english(page, live_server, portal_demo, smtp_sink, tmp_path):
    page.goto(live_server.url + "/returns/demo/")
    assert page.locator("html").get_attribute("lang") == "en"
    page.get_by_role("link", name="Nederlands").click()
    assert page.locator("html").get_attribute("lang") == "nl"
    page.get_by_role("link", name="English").click()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_label("Order number").is_visible()
    request = go_through_the_portal(page, portal_demo, tmp_path)
    assert request.language == "en"
    assert (request.resolution, request.exchange_note, request.free_shipping) == (
        "exchange",
        "Maat L",
        True,
    )
    assert len(request.lines[0].photos) == 1
    check_emails(smtp_sink, request)
    staff_sees_request_in_requests_list(page, live_server, request)


@pytest.fixture
def dutch_page_without_javascript(browser, live_server):
    """A Dutch-speaking customer's phone-sized browser with JavaScript switched off."""
    context = browser.new_context(
        locale="nl-NL", java_script_enabled=False, viewport={"width": 375, "height": 740}
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def test_customer_returns_an_item_in_dutch_on_a_phone_without_javascript(
    dutch_page_without_javascript, live_server, portal_demo, smtp_sink, tmp_path
):
    page = dutch_page_without_javascript
    page.goto(live_server.url + "/returns/demo/")
    assert page.locator("html").get_attribute("lang") == "nl"
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    request = go_through_the_portal(page, portal_demo, tmp_path)
    assert page.locator("html").get_attribute("lang") == "nl"
    assert "Beschadigd" in page.content()
    assert request.language == "nl"
    assert len(request.lines[0].photos) == 1
    check_emails(smtp_sink, request)
    staff_sees_request_in_requests_list(page, live_server, request)
