"""Accessibility, measured: axe-core finds no critical or serious violation on the customer's
pages (every portal step, the status, label and withdrawal pages, an error page, every
customer email) nor on the staff's (login, lists, a request and a return, the dashboard,
the notifications and each editor), in Dutch and in English. After a failed form the focus
is on the error summary, and the focused control shows a ring."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from axe_audit import Audit
from browser_helpers import find_order, new_page, next_step
from domain import emails
from extensions import db
from factories import RETURN_ADDRESS, make_user
from models import Shop
from return_flow import approved_request, create_label

pytestmark = [pytest.mark.browser, pytest.mark.shop(**RETURN_ADDRESS)]


def assert_focus_ring(page: Page, selector: str) -> None:
    """Focused by the keyboard, the control draws an outline or a box shadow."""
    page.locator(selector).focus()
    style = page.locator(selector).evaluate(
        "e => { const s = getComputedStyle(e); return [s.outlineStyle, s.outlineWidth, s.boxShadow] }"
    )
    outline, width, shadow = style
    assert (outline != "none" and width != "0px") or shadow != "none", (selector, style)


def walk_the_portal(page: Page, base: str, portal_demo, audit: Audit) -> None:
    """Every step, each once with a refused form first, then the submitted request's status."""
    _shop, order, reasons, question = portal_demo
    blouse = order.lines[0]
    page.goto(base + "/returns/demo/")
    audit.check(page, "lookup")
    assert_focus_ring(page, "#order_number")
    assert_focus_ring(page, "form.portal-form button[type=submit]")
    find_order(page, secret="wrong@example.com")
    expect(page.locator("#form-error")).to_be_focused()
    audit.check(page, "lookup, refused")
    find_order(page)
    page.wait_for_url("**/items")
    audit.check(page, "items")
    next_step(page)
    expect(page.locator("#form-error")).to_be_focused()
    audit.check(page, "items, refused")
    page.locator(f"label[for=line-{blouse.id}]").click()
    page.locator(f"#qty-{blouse.id}").fill("1")
    next_step(page)
    page.wait_for_url("**/details")
    audit.check(page, "details")
    page.locator(f"#reason-{blouse.id}").select_option(value=str(reasons["too_big"].id))
    next_step(page)
    page.wait_for_url("**/questions")
    audit.check(page, "questions")
    next_step(page)
    expect(page.locator("#form-error")).to_be_focused()
    audit.check(page, "questions, refused")
    page.locator(f"#q-{question.id}").fill("Te ruim")
    next_step(page)
    page.wait_for_url("**/resolution")
    audit.check(page, "resolution")
    page.locator("label[for=resolution-refund]").click()
    next_step(page)
    page.wait_for_url("**/review")
    audit.check(page, "review")
    next_step(page)
    page.wait_for_url("**/status/**")
    audit.check(page, "status, submitted")


def visit_the_other_customer_pages(
    page: Page, base: str, shop: Shop, agent, language: str, audit: Audit
) -> None:
    """The status and label pages of an approved request, the withdrawal form, an error."""
    request = approved_request(shop, agent, language=language)
    status = f"{base}/returns/demo/status/{request.public_token}"
    page.goto(status)
    audit.check(page, "status, approved")
    page.goto(status + "/label")
    audit.check(page, "label page")
    page.goto(base + "/returns/demo/?intent=withdraw")
    find_order(page)
    page.wait_for_url("**/withdraw")
    audit.check(page, "withdraw")
    page.goto(base + "/returns/demo/status/not-a-token")
    audit.check(page, "error page")


@pytest.mark.parametrize("language", ("nl", "en"))
def test_the_customers_pages_pass_axe(browser, live_server, portal_demo, language):
    shop, _order, _reasons, _question = portal_demo
    agent = make_user("boss@example.com", shop, role="admin")
    db.session.commit()
    page = new_page(browser, language)
    audit = Audit()
    walk_the_portal(page, live_server.url, portal_demo, audit)
    assert page.locator("html").get_attribute("lang") == language
    visit_the_other_customer_pages(page, live_server.url, shop, agent, language, audit)
    page.context.close()
    audit.assert_clean()


STAFF_PAGES = (
    "/admin/",
    "/admin/requests/",
    "/admin/returns/",
    "/admin/notifications/",
    "/admin/reasons/",
    "/admin/reasons/new/",
    "/admin/questions/",
    "/admin/questions/new/",
    "/admin/rules/",
    "/admin/rules/new/",
    "/admin/email_templates/",
    "/admin/email_templates/new/",
    "/admin/shop_settings/",
)


@pytest.mark.parametrize("language", ("nl", "en"))
def test_the_staff_pages_pass_axe(browser, live_server, shop, language):
    boss = make_user("boss@example.com", shop, role="admin", language=language)
    request = approved_request(shop, boss, language=language)
    return_ = create_label(request)
    db.session.commit()
    base = live_server.url
    page = new_page(browser, language)
    audit = Audit()
    page.goto(base + "/login")
    audit.check(page, "login")
    assert_focus_ring(page, "#email")
    assert_focus_ring(page, "form:has(#password) button.btn-primary")
    page.locator("#email").fill(boss.email)
    page.locator("#password").fill("wrong-pw")
    page.locator("form:has(#password) button.btn-primary").click()
    audit.check(page, "login, refused")
    page.locator("#password").fill("secret-pw")
    page.locator("form:has(#password) button.btn-primary").click()
    page.wait_for_url("**/admin/")
    paths = (
        *STAFF_PAGES,
        f"/admin/requests/{request.id}",
        f"/admin/returns/{return_.id}",
        f"/admin/shop_settings/{shop.id}",
    )
    for path in paths:
        page.goto(base + path)
        assert page.locator("html").get_attribute("lang") == language, path
        audit.check(page, path)
    page.context.close()
    audit.assert_clean()


@pytest.mark.parametrize("language", ("nl", "en"))
def test_every_customer_email_passes_axe(browser, shop, agent, language):
    request = approved_request(shop, agent, language=language)
    return_ = create_label(request)
    page = new_page(browser, language)
    audit = Audit()
    for template in sorted(emails.CUSTOMER_EMAILS):
        _subject, _text, html = emails.render_email(
            template, language, shop=shop, request=request, return_=return_
        )
        page.set_content(html)
        assert page.locator("html").get_attribute("lang") == language, template
        audit.check(page, f"email {template}")
    page.context.close()
    audit.assert_clean()
