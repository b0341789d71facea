"""Accessibility, measured where test_accessibility.py does not look: support's editors as
support sees them (editable, the rule builder with its rows, the manual notice), a refused
editor form and a refused login (focus on the error summary), the bulk confirmation and a
bulk job's progress, the emails not in that file's list (the ship-by reminder, the expiry,
the staff's emails) and a formal shop's emails, and the portal on a phone in a light brand
colour through an exchange with a variant pick; in Dutch and in English, axe-core finds no
critical or serious violation."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from axe_audit import Audit
from browser_helpers import find_order, log_in, new_page, next_step
from domain import emails, workflow
from extensions import db
from factories import RETURN_ADDRESS, make_question, make_reason, make_request, make_user
from models import EmailTemplate, Message, NoticeRule, utcnow
from return_flow import approved_request, create_label

pytestmark = [pytest.mark.browser, pytest.mark.shop(**RETURN_ADDRESS)]


def editors_content(shop) -> dict[str, int]:
    """One of each thing support edits, so the edit forms have something to show."""
    reason = make_reason(shop, "too_big")
    question = make_question(shop, "text", label_nl="Waarom retour?", label_en="Why return?")
    rule = NoticeRule(
        shop=shop,
        name="Many items",
        severity="warning",
        conditions=[{"kind": "more_items_than", "count": 3}],
        message_nl="Veel artikelen.",
        message_en="Many items.",
    )
    template = EmailTemplate(
        shop=shop,
        name="request_approved",
        language="nl",
        subject="Goedgekeurd",
        body_text="Goedgekeurd.",
    )
    db.session.add_all([rule, template])
    db.session.commit()
    return {"reason": reason.id, "question": question.id, "rule": rule.id, "template": template.id}


@pytest.mark.parametrize("language", ("nl", "en"))
def test_supports_editors_pass_axe_and_a_refused_form_focuses_its_summary(
    browser, live_server, shop, language
):
    support = make_user("support@returndesk.test", is_support=True, language=language)
    ids = editors_content(shop)
    make_request(shop)
    db.session.commit()
    base = live_server.url
    page = new_page(browser, language, viewport={"width": 1400, "height": 900})
    audit = Audit()
    log_in(page, base, support.email)
    for path in (
        "/admin/reasons/new/",
        f"/admin/reasons/edit/?id={ids['reason']}",
        "/admin/questions/new/",
        f"/admin/questions/edit/?id={ids['question']}",
        f"/admin/rules/edit/?id={ids['rule']}",
        "/admin/manual-notice/",
        "/admin/email_templates/new/",
        f"/admin/email_templates/edit/?id={ids['template']}",
        "/admin/stages/new/",
        "/admin/returnability/new/",
        "/admin/team/",
        "/admin/shops/",
        "/admin/users/",
    ):
        page.goto(base + path)
        assert page.locator("html").get_attribute("lang") == language, path
        audit.check(page, path)

    # The rule builder with two condition rows added by its script and the dry run beside it.
    page.goto(base + "/admin/rules/new/")
    page.locator("select[name=shop_id]").select_option(value=str(shop.id))
    page.locator("#add_condition").select_option(value="more_items_than")
    page.locator("button[name=builder][value=add]").click()
    page.locator("input[name=cond_more_items_than__count]").fill("1")
    expect(page.locator("#dry-run-panel")).to_contain_text("100")
    page.locator("#add_condition").select_option(value="reason_in")
    page.locator("button[name=builder][value=add]").click()
    audit.check(page, "rule builder with rows")

    # Saved without a condition: the form comes back and the focus is on what went wrong.
    page.goto(base + "/admin/rules/new/")
    page.locator("#name").fill("Nothing to check")
    page.locator("#message_nl").fill("Niets.")
    page.locator("#message_en").fill("Nothing.")
    page.locator("input[type=submit].btn-primary").first.click()
    expect(page.locator(".invalid-feedback").first).to_be_visible()
    audit.check(page, "rule builder, refused")
    assert_focus_on_error_summary(page)
    page.context.close()
    audit.assert_clean()


def assert_focus_on_error_summary(page: Page) -> None:
    """What has the focus after a refused form is an alert that says what to correct, and
    it shows a ring."""
    focused = page.locator(":focus")
    expect(focused).to_have_attribute("role", "alert")
    expect(focused).to_have_class(re.compile(r"\balert-danger\b"))
    outline = focused.evaluate("e => getComputedStyle(e).outlineStyle")
    assert outline != "none"


@pytest.mark.parametrize("language", ("nl", "en"))
def test_a_refused_login_puts_the_focus_on_what_went_wrong(browser, live_server, shop, language):
    make_user("boss@example.com", shop, role="admin", language=language)
    db.session.commit()
    page = new_page(browser, language)
    page.goto(live_server.url + "/login")
    page.locator("#email").fill("boss@example.com")
    page.locator("#password").fill("wrong-pw")
    page.locator("form:has(#password) button.btn-primary").click()
    page.wait_for_load_state()
    assert_focus_on_error_summary(page)
    page.context.close()


@pytest.mark.parametrize("language", ("nl", "en"))
def test_the_bulk_confirmation_and_a_bulk_jobs_progress_pass_axe(
    browser, live_server, shop, language, monkeypatch
):
    make_user("anna@example.com", shop, name="Anna", language=language)
    for _ in range(3):
        make_request(shop, status="concept")
    db.session.commit()
    monkeypatch.setattr(workflow, "BULK_INLINE_LIMIT", 1)
    base = live_server.url
    page = new_page(browser, language)
    audit = Audit()
    log_in(page, base, "anna@example.com")
    page.goto(base + "/admin/requests/")
    page.locator("#approve-all-concept").click()
    expect(page.locator("#bulk-count")).to_be_visible()
    audit.check(page, "bulk confirmation")
    page.locator("form button[type=submit].btn-primary").click()
    expect(page.locator("#bulk-outcome")).to_contain_text("3")
    audit.check(page, "bulk job")
    page.context.close()
    audit.assert_clean()


def render_every_email(shop, agent, language: str) -> dict[str, str]:
    """Each email's HTML in ``language``, rendered from one request with a label and a message."""
    request = approved_request(shop, agent, language=language)
    return_ = create_label(request)
    message = Message(direction="inbound", body="Hier is de foto.")
    request.messages.append(message)
    db.session.commit()
    about = {
        "shop": shop,
        "request": request,
        "return_": return_,
        "message": message,
        "user": agent,
        "notification": "Klant heeft gereageerd.",
        "ship_by": utcnow() + timedelta(days=7),
        "refund_deadline": utcnow() + timedelta(days=14),
    }
    names = sorted({*emails.CUSTOMER_EMAILS, *emails.SWITCHABLE_EMAILS, "request_new_staff"})
    names += ["reply_received", "staff_notification"]
    return {name: emails.render_email(name, language, **about)[2] for name in names}


@pytest.mark.parametrize("language", ("nl", "en"))
def test_every_email_the_shop_sends_passes_axe(browser, shop, agent, language):
    page = new_page(browser, language)
    audit = Audit()
    for name, html in render_every_email(shop, agent, language).items():
        page.set_content(html)
        assert page.locator("html").get_attribute("lang") == language, name
        audit.check(page, f"email {name}")
    page.context.close()
    audit.assert_clean()


@pytest.mark.shop(address_formally=True, **RETURN_ADDRESS)
def test_a_formal_shops_customer_emails_pass_axe(browser, shop, agent):
    page = new_page(browser, "nl")
    audit = Audit()
    for name, html in render_every_email(shop, agent, "nl").items():
        page.set_content(html)
        audit.check(page, f"formal email {name}")
    page.context.close()
    audit.assert_clean()


@pytest.mark.parametrize("language", ("nl", "en"))
def test_the_portal_on_a_phone_in_a_light_brand_colour_passes_axe(
    browser, live_server, portal_demo, language
):
    shop, order, reasons, question = portal_demo
    shop.brand_color = "#ffd400"
    blouse = order.lines[0]
    blouse.variant_options = ["S", "M", "L"]
    blouse.image_url = "https://img.example/blouse.jpg"
    db.session.commit()
    page = new_page(browser, language, viewport={"width": 390, "height": 844}, is_mobile=True)
    page.route("https://img.example/**", lambda route: route.fulfill(status=404))
    audit = Audit()
    page.goto(live_server.url + "/returns/demo/")
    audit.check(page, "lookup on a phone")
    find_order(page)
    page.wait_for_url("**/items")
    audit.check(page, "items with an image and a placeholder")
    page.locator(f"label[for=line-{blouse.id}]").click()
    page.locator(f"#qty-{blouse.id}").fill("1")
    next_step(page)
    page.wait_for_url("**/details")
    page.locator(f"#reason-{blouse.id}").select_option(value=str(reasons["too_big"].id))
    next_step(page)
    page.wait_for_url("**/questions")
    page.locator(f"#q-{question.id}").fill("Te ruim")
    next_step(page)
    page.wait_for_url("**/resolution")
    page.locator("label[for=resolution-exchange]").click()
    audit.check(page, "resolution, exchange with variants")
    next_step(page)
    audit.check(page, "resolution, exchange refused")
    page.locator(f"#exchange-{blouse.id}").select_option("L")
    next_step(page)
    page.wait_for_url("**/review")
    audit.check(page, "review of an exchange")
    next_step(page)
    page.wait_for_url("**/status/**")
    audit.check(page, "status of an exchange")
    page.context.close()
    audit.assert_clean()
