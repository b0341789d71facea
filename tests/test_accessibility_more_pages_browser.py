"""Accessibility, measured on the pages the other axe tests do not open: the label page once
the label exists and when no label can be made, the status page with a conversation and a
refused reply (focus on its error summary), and the staff's notifications with entries, a
request page with notices and a thread, the orders, customer data, outbox and carriers, the
account page and the forgotten-password form; in Dutch and in English."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from axe_audit import Audit
from browser_helpers import log_in, new_page
from domain import notifications, workflow
from extensions import db
from factories import RETURN_ADDRESS, make_request, make_user
from models import CANCELLED, Notice
from return_flow import approved_request, create_label
from services import conversation

pytestmark = [pytest.mark.browser, pytest.mark.shop(**RETURN_ADDRESS)]


@pytest.mark.parametrize("language", ("nl", "en"))
def test_the_label_and_conversation_pages_pass_axe(browser, live_server, shop, agent, language):
    labelled = approved_request(shop, agent, language=language)
    create_label(labelled)
    conversation.send_message(labelled, agent, "Kunt u een foto sturen?", [])
    cancelled = make_request(shop, status=CANCELLED, language=language, cancel_reason="Te laat.")
    db.session.commit()
    base = f"{live_server.url}/returns/{shop.slug}/status/"
    page = new_page(browser, language)
    audit = Audit()
    page.goto(base + labelled.public_token + "/label")
    audit.check(page, "label page, label made")
    page.goto(base + cancelled.public_token + "/label")
    audit.check(page, "label page, no label possible")
    page.goto(base + labelled.public_token)
    audit.check(page, "status with a conversation")
    page.locator("#conversation button[type=submit]").click()
    expect(page.locator("#reply-body")).to_have_attribute("aria-invalid", "true")
    audit.check(page, "status, reply refused")
    focused = page.locator(":focus")
    expect(focused).to_have_attribute("role", "alert")
    page.context.close()
    audit.assert_clean()


@pytest.mark.parametrize("language", ("nl", "en"))
def test_more_staff_pages_pass_axe(browser, live_server, shop, language):
    boss = make_user("boss@example.com", shop, role="admin", language=language)
    colleague = make_user("bram@example.com", shop, name="Bram")
    request = make_request(shop, language=language)
    request.notices.append(
        Notice(severity="warning", text_nl="Let op: hoge waarde.", text_en="Mind: high value.")
    )
    workflow.hold(request, colleague)
    db.session.commit()
    workflow.take_over(request, boss)
    conversation.send_message(request, boss, "Kunt u een foto sturen?", [])
    db.session.commit()
    assert notifications.unread_count(db.session, colleague) >= 1
    base = live_server.url
    page = new_page(browser, language)
    audit = Audit()
    page.goto(base + "/password/forgot")
    audit.check(page, "forgot password")
    log_in(page, base, colleague.email)
    for path in ("/admin/notifications/", f"/admin/requests/{request.id}"):
        page.goto(base + path)
        audit.check(page, f"{path} (Bram)")
    page.context.close()
    page = new_page(browser, language)
    log_in(page, base, boss.email)
    for path in (
        "/account",
        "/admin/orders/",
        "/admin/customer-data/",
        "/admin/outbox/",
        "/admin/carriers/",
        f"/admin/requests/{request.id}",
    ):
        page.goto(base + path)
        assert re.fullmatch(language, page.locator("html").get_attribute("lang") or ""), path
        audit.check(page, path)
    page.context.close()
    audit.assert_clean()
