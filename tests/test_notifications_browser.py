"""The bell in a real browser (Debian Chromium via Playwright): a customer's reply on the
status page rings the bell of the agent holding the request while her page stays open, and
opening the entry clears it; the script runs under the Content-Security-Policy."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from browser_helpers import log_in
from extensions import db
from factories import make_request, make_shop, make_user
from models import ON_HOLD, utcnow


@pytest.mark.browser
@pytest.mark.parametrize(
    ("language", "none_unread", "one_unread", "replied"),
    [
        ("en", "Notifications, none unread", "Notifications, 1 unread", "replied on"),
        ("nl", "Notificaties, niets ongelezen", "Notificaties, 1 ongelezen", "gereageerd"),
    ],
)
def test_the_bell_counts_a_customer_reply_live_and_clears_when_it_is_read(
    browser, live_server, language, none_unread, one_unread, replied
):
    shop = make_shop(default_language="en")
    agent = make_user("anna@example.com", shop, name="Anna", language=language)
    request = make_request(shop, status=ON_HOLD, held_by=agent, held_since=utcnow(), language="en")
    db.session.commit()
    base = live_server.url
    # The login page speaks the browser's English; after it, ReturnDesk the agent's language.
    staff_context = browser.new_context(locale="en-US")
    staff = staff_context.new_page()
    refused_by_policy: list[str] = []
    staff.on(
        "console",
        lambda message: (
            refused_by_policy.append(message.text)
            if "Content Security Policy" in message.text
            else None
        ),
    )
    customer = browser.new_context(locale="en-US").new_page()

    log_in(staff, base, agent.email)
    staff.goto(f"{base}/admin/requests/")
    bell = staff.locator("#notification-bell")
    expect(bell).to_have_attribute("aria-label", none_unread)
    expect(bell.locator("[data-unread]")).to_be_hidden()

    customer.goto(f"{base}/returns/{shop.slug}/status/{request.public_token}")
    customer.get_by_label("Your message").fill("Which size should I send back?")
    customer.get_by_role("button", name="Send message").click()
    expect(customer.get_by_role("alert")).to_contain_text("your message has been sent")

    # No reload: the open list's bell learns of the reply by itself.
    expect(bell).to_have_attribute("aria-label", one_unread, timeout=15_000)
    expect(bell.locator("[data-unread]")).to_have_text("1")

    bell.click()
    staff.wait_for_url("**/admin/notifications/")
    entry = staff.locator("#notifications").get_by_role("link", name=re.compile(replied))
    expect(entry).to_contain_text(request.number)
    entry.click()
    staff.wait_for_url(f"**/admin/requests/{request.id}")
    expect(staff.locator("#notification-bell")).to_have_attribute("aria-label", none_unread)
    assert refused_by_policy == []
    staff_context.close()
