"""Steps in a real browser (Playwright pages on the ``live_server``) that several tests take."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from extensions import db
from models import ReturnRequest
from portal_helpers import jpeg_bytes

# The browser's language for each of ReturnDesk's.
LOCALES = {"en": "en-US", "nl": "nl-NL"}


def new_page(browser: Browser, language: str, **context) -> Page:
    """A page in a fresh context that asks for ``language`` (``context``: a phone's viewport)."""
    page = browser.new_context(locale=LOCALES[language], **context).new_page()
    page.set_default_timeout(10_000)
    return page


def log_in(page: Page, base: str, email: str) -> None:
    """Log in through the login form (every test user's password is ``secret-pw``), by its
    fields' ids, which do not change with the language."""
    page.goto(base + "/login")
    page.locator("#email").fill(email)
    page.locator("#password").fill("secret-pw")
    page.locator("form:has(#password) button.btn-primary").click()
    page.wait_for_url("**/admin/")


# --- the customer's way through the portal ----------------------------------------------------


def find_order(page: Page, number: str = "1001", secret: str = "klant@example.com") -> None:
    page.locator("#order_number").fill(number)
    page.locator("#email_or_postcode").fill(secret)
    page.locator("form.portal-form button[type=submit]").click()


def next_step(page: Page) -> None:
    page.locator("form.portal-form button[type=submit]").click()


def choose_too_many_then_one(page: Page, line_id: int) -> None:
    page.locator(f"label[for=line-{line_id}]").click()
    page.locator(f"#qty-{line_id}").fill("3")
    next_step(page)
    assert page.locator(f"#qty-{line_id}-error").is_visible()
    assert page.locator(f"#line-{line_id}").is_checked()
    page.locator(f"#qty-{line_id}").fill("1")
    next_step(page)
    page.wait_for_url("**/details")


def describe_with_rejected_photo_first(
    page: Page, line_id: int, reason_id: int, tmp_path: Path
) -> None:
    """A text file passed off as a photo is refused with the comment kept; then a real one."""
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


def go_through_the_portal(page: Page, portal_demo: tuple, tmp_path: Path) -> ReturnRequest:
    """From the order lookup to the status page of the submitted request, on the shop of the
    ``portal_demo`` fixture: one blouse, damaged (with a photo), exchanged for size L."""
    _shop, order, reasons, question = portal_demo
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
    # Without JavaScript the second click's submission aborts the first one's navigation, which
    # ``wait_for_url`` reports as an error; the page must still end on the status page.
    expect(page).to_have_url(re.compile(r"/status/"))
    page.wait_for_load_state()
    db.session.expire_all()
    requests = db.session.scalars(select(ReturnRequest)).all()
    assert len(requests) == 1
    request = requests[0]
    assert request.number in page.locator("h1").inner_text()
    assert page.locator("#status-words").is_visible()
    return request
