"""Accessibility, measured on the pages no other axe test opens: choosing a password from a
reset link and from an invitation, the label's QR code, the portal's "too many attempts"
(429) and "files too large" (413) pages, and a formal shop's portal ("u": lookup, items,
review, status); in Dutch and in English where the page speaks both, axe-core finds no
critical or serious violation."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from axe_audit import Audit
from browser_helpers import find_order, new_page, next_step
from domain import staff_tokens
from extensions import db
from factories import RETURN_ADDRESS, make_user
from return_flow import approved_request, create_label

pytestmark = [pytest.mark.browser, pytest.mark.shop(**RETURN_ADDRESS)]


@pytest.mark.parametrize("language", ("nl", "en"))
def test_choosing_a_password_from_a_reset_link_or_an_invitation_passes_axe(
    browser, live_server, shop, language
):
    colleague = make_user("bram@example.com", shop, name="Bram", language=language)
    db.session.commit()
    links = {
        "reset password": f"/password/reset/{staff_tokens.make_token(colleague, staff_tokens.RESET)}",
        "accept invitation": f"/invite/{staff_tokens.make_token(colleague, staff_tokens.INVITE)}",
    }
    page = new_page(browser, language)
    audit = Audit()
    for where, path in links.items():
        page.goto(live_server.url + path)
        assert page.locator("input[type=password]").count() >= 1, where
        audit.check(page, where)
        page.locator("form:has(input[type=password]) button.btn-primary").click()
        audit.check(page, f"{where}, refused empty")
    page.context.close()
    audit.assert_clean()


@pytest.mark.parametrize("language", ("nl", "en"))
def test_the_labels_qr_page_passes_axe(browser, live_server, shop, agent, language):
    labelled = approved_request(shop, agent, language=language)
    create_label(labelled)
    db.session.commit()
    page = new_page(browser, language)
    audit = Audit()
    page.goto(f"{live_server.url}/returns/{shop.slug}/status/{labelled.public_token}/label/qr")
    assert page.locator("img").count() >= 1
    audit.check(page, "label QR code")
    page.context.close()
    audit.assert_clean()


@pytest.mark.parametrize("language", ("nl", "en"))
def test_the_too_many_attempts_page_passes_axe(browser, live_server, order, language):
    page = new_page(browser, language)
    audit = Audit()
    for _attempt in range(5):
        page.goto(live_server.url + "/returns/demo/")
        find_order(page, secret="wrong@example.com")
        page.wait_for_load_state()
    page.goto(live_server.url + "/returns/demo/")
    with page.expect_response("**/returns/demo/") as answer:
        find_order(page)
    assert answer.value.status == 429
    page.wait_for_load_state()
    audit.check(page, "too many lookups (429)")
    page.context.close()
    audit.assert_clean()


@pytest.mark.parametrize("language", ("nl", "en"))
def test_the_files_too_large_page_passes_axe(app, browser, live_server, portal_demo, language):
    _shop, order, reasons, _question = portal_demo
    app.config["MAX_CONTENT_LENGTH"] = 50_000
    blouse = order.lines[0]
    page = new_page(browser, language)
    audit = Audit()
    page.goto(live_server.url + "/returns/demo/")
    find_order(page)
    page.wait_for_url("**/items")
    page.locator(f"label[for=line-{blouse.id}]").click()
    page.locator(f"#qty-{blouse.id}").fill("1")
    next_step(page)
    page.wait_for_url("**/details")
    page.locator(f"#reason-{blouse.id}").select_option(value=str(reasons["damaged"].id))
    page.locator(f"#photos-{blouse.id}").set_input_files(
        {"name": "big.jpg", "mimeType": "image/jpeg", "buffer": b"x" * 60_000}
    )
    with page.expect_response("**/details") as answer:
        next_step(page)
    assert answer.value.status == 413
    page.wait_for_load_state()
    audit.check(page, "files too large (413)")
    page.context.close()
    audit.assert_clean()


@pytest.mark.shop(address_formally=True, **RETURN_ADDRESS)
def test_a_formal_shops_portal_passes_axe(browser, live_server, portal_demo):
    _shop, order, reasons, question = portal_demo
    blouse = order.lines[0]
    blouse.image_url = "https://img.example/blouse.jpg"
    db.session.commit()
    page = new_page(browser, "nl")
    page.route("https://img.example/**", lambda route: route.fulfill(status=404))
    audit = Audit()
    page.goto(live_server.url + "/returns/demo/")
    audit.check(page, "formal lookup")
    find_order(page)
    page.wait_for_url("**/items")
    expect(page.locator("h1")).to_have_text("Kies de artikelen die u wilt retourneren")
    audit.check(page, "formal items")
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
    page.locator("label[for=resolution-refund]").click()
    next_step(page)
    page.wait_for_url("**/review")
    expect(page.locator("h1")).to_have_text("Controleer uw retouraanvraag")
    audit.check(page, "formal review")
    next_step(page)
    page.wait_for_url("**/status/**")
    audit.check(page, "formal status")
    page.context.close()
    audit.assert_clean()
