"""A customer returns items through every step of the portal in a real browser (no JavaScript
needed), in Dutch and in English; staff then find the request in the admin's Requests list."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from conftest import make_shop, make_user
from extensions import db
from models import ReturnRequest
from portal_helpers import jpeg_bytes, make_order, make_question, make_reasons

pytestmark = pytest.mark.browser


@pytest.fixture
def demo(app):
    """The demo shop with one delivered order, its reasons, one question and an agent."""
    shop = make_shop()
    order = make_order(shop)
    reasons = make_reasons(shop)
    question = make_question(shop, "text", label_nl="Waarom retour?", label_en="Why return?")
    make_user("agent@example.com", shop, name="Anna")
    db.session.commit()
    return shop, order, reasons, question


def find_order(page, number="1001", secret="klant@example.com") -> None:
    page.locator("#order_number").fill(number)
    page.locator("#email_or_postcode").fill(secret)
    page.locator("form.portal-form button[type=submit]").click()


def next_step(page) -> None:
    page.locator("form.portal-form button[type=submit]").click()


def choose_too_many_then_one(page, line_id: int) -> None:
    page.locator(f"label[for=line-{line_id}]").click()
    page.locator(f"#qty-{line_id}").fill("3")
    next_step(page)
    assert page.locator(f"#qty-{line_id}-error").is_visible()
    assert page.locator(f"#line-{line_id}").is_checked()
    page.locator(f"#qty-{line_id}").fill("1")
    next_step(page)
    page.wait_for_url("**/details")


def describe_with_rejected_photo_first(page, line_id: int, reason_id: int, tmp_path) -> None:
    fake = tmp_path / "foto.jpg"
    fake.write_text("this is not a photo")
    real = tmp_path / "echt.jpg"
    real.write_bytes(jpeg_bytes())
    page.locator(f"#reason-{line_id}").select_option(value=str(reason_id))
    page.locator(f"#comment-{line_id}").fill("Naad is los")
    page.locator(f"#photos-{line_id}").set_input_files(str(fake))
    next_step(page)
    assert page.locator(f"#photos-{line_id}-error").is_visible()
    assert "foto.jpg" in page.locator(f"#photos-{line_id}-error").inner_text()
    assert page.locator(f"#comment-{line_id}").input_value() == "Naad is los"
    page.locator(f"#photos-{line_id}").set_input_files(str(real))
    next_step(page)


def go_through_the_portal(page, demo, tmp_path) -> ReturnRequest:
    _shop, order, reasons, question = demo
    blouse = order.lines[0]
    find_order(page)
    page.wait_for_url("**/items")
    choose_too_many_then_one(page, blouse.id)
    describe_with_rejected_photo_first(page, blouse.id, reasons["damaged"].id, tmp_path)
    page.wait_for_url("**/questions")
    page.locator(f"#q-{question.id}").fill("Past niet")
    next_step(page)
    page.wait_for_url("**/resolution")
    page.locator("label[for=resolution-exchange]").click()
    page.locator("#exchange_note").fill("Maat L")
    next_step(page)
    page.wait_for_url("**/review")
    assert page.locator("#shipping-cost").inner_text().strip()
    page.locator("form.portal-form button[type=submit]").dblclick()
    page.wait_for_url("**/status/**")
    db.session.expire_all()
    requests = db.session.scalars(select(ReturnRequest)).all()
    assert len(requests) == 1
    request = requests[0]
    assert request.number in page.locator("h1").inner_text()
    assert page.locator("#status-words").is_visible()
    return request


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


def test_customer_returns_an_item_in_english(page, live_server, demo, smtp_sink, tmp_path):
    page.goto(live_server.url + "/returns/demo/")
    assert page.locator("html").get_attribute("lang") == "en"
    page.get_by_role("link", name="Nederlands").click()
    assert page.locator("html").get_attribute("lang") == "nl"
    page.get_by_role("link", name="English").click()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_label("Order number").is_visible()
    request = go_through_the_portal(page, demo, tmp_path)
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
    dutch_page_without_javascript, live_server, demo, smtp_sink, tmp_path
):
    page = dutch_page_without_javascript
    page.goto(live_server.url + "/returns/demo/")
    assert page.locator("html").get_attribute("lang") == "nl"
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    request = go_through_the_portal(page, demo, tmp_path)
    assert page.locator("html").get_attribute("lang") == "nl"
    assert "Beschadigd" in page.content()
    assert request.language == "nl"
    assert len(request.lines[0].photos) == 1
    check_emails(smtp_sink, request)
    staff_sees_request_in_requests_list(page, live_server, request)
