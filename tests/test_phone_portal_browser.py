"""The portal on a phone (390 px, Dutch, Debian Chromium): the item has its product image and
the other a placeholder, the exchange is a pick from the product's variants, and the step bar
stays on one line with every step's name whole on every step. The shop's logo is a link home,
not a button; the withdrawal is labelled but a plain link beside the one main button."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from browser_helpers import find_order, next_step
from extensions import db
from models import ReturnRequest

pytestmark = pytest.mark.browser

IMAGE = "https://img.example/blouse.png"
# A 1×1 PNG, served for the product image so the browser shows a real picture.
PIXEL = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201e2"
    "1b7b4e0000000049454e44ae426082"
)


@pytest.fixture
def phone(browser):
    context = browser.new_context(
        locale="nl-NL", viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    context.route(
        "https://img.example/**",
        lambda route: route.fulfill(status=200, content_type="image/png", body=PIXEL),
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def assert_step_bar_on_one_line(page: Page) -> None:
    """Every step on the same line, each step's words on one line of their own."""
    boxes = page.locator(".portal-steps li").evaluate_all(
        "items => items.map(item => { const r = item.getBoundingClientRect();"
        " return [r.top, r.height, parseFloat(getComputedStyle(item).lineHeight)] })"
    )
    assert len(boxes) >= 5
    assert len({round(top) for top, _height, _line in boxes}) == 1, boxes
    assert all(height < 1.5 * line for _top, height, line in boxes), boxes
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_a_phone_shows_the_image_picks_a_variant_and_keeps_the_step_bar_on_one_line(
    phone, live_server, portal_demo
):
    shop, order, reasons, question = portal_demo
    shop.logo_url = "https://img.example/logo.png"
    blouse = order.lines[0]
    blouse.image_url = IMAGE
    blouse.variant_options = ["S", "M", "L"]
    db.session.commit()
    page = phone

    page.goto(live_server.url + "/returns/demo/")
    logo = page.locator(".portal-brand")
    assert logo.evaluate("e => e.tagName") == "A"
    assert "btn" not in (logo.get_attribute("class") or "")
    expect(logo.get_by_role("img", name=shop.name)).to_be_visible()
    withdraw = page.locator(".portal-withdraw-box")
    expect(withdraw.get_by_role("heading", name="Herroepen")).to_be_visible()
    assert withdraw.locator(".btn").count() == 0
    assert page.locator("main .btn-primary, main .btn-brand").count() == 1

    find_order(page)
    page.wait_for_url("**/items")
    assert_step_bar_on_one_line(page)
    image = page.locator(f"img.portal-thumb[src='{IMAGE}']")
    expect(image).to_be_visible()
    assert image.evaluate("img => img.naturalWidth") == 1
    assert page.locator(".portal-thumb-none").count() == len(order.lines) - 1

    page.locator(f"label[for=line-{blouse.id}]").click()
    page.locator(f"#qty-{blouse.id}").fill("1")
    next_step(page)
    page.wait_for_url("**/details")
    assert_step_bar_on_one_line(page)
    page.locator(f"#reason-{blouse.id}").select_option(value=str(reasons["too_big"].id))
    next_step(page)
    page.wait_for_url("**/questions")
    assert_step_bar_on_one_line(page)
    page.locator(f"#q-{question.id}").fill("Te ruim")
    next_step(page)
    page.wait_for_url("**/resolution")
    assert_step_bar_on_one_line(page)
    page.locator("label[for=resolution-exchange]").click()
    page.get_by_label(blouse.product_name, exact=False).select_option("L")
    next_step(page)
    page.wait_for_url("**/review")
    assert_step_bar_on_one_line(page)
    expect(page.locator("main")).to_contain_text("→ L")
    next_step(page)
    page.wait_for_url("**/status/**")

    stored = db.session.scalars(select(ReturnRequest)).one()
    assert stored.resolution == "exchange"
    assert stored.exchange_note.endswith("→ L")
