"""An emailed reply with a photo, seen by the agent in a real browser (Debian Chromium): the
agent asks in the request page, the customer answers the email from their mail client, and the
reply with its photo is in the thread when the agent looks."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from browser_helpers import log_in
from extensions import db
from factories import make_request, make_shop, make_user
from mail_helpers import reply_to, send
from models import ON_HOLD, utcnow
from portal_helpers import image_bytes


@pytest.mark.browser
def test_an_emailed_reply_with_a_photo_is_in_the_agents_thread(
    browser, live_server, smtp_sink, inbound
):
    shop = make_shop(default_language="en")
    agent = make_user("anna@example.com", shop, name="Anna", language="en")
    request = make_request(shop, status=ON_HOLD, held_by=agent, held_since=utcnow(), language="en")
    db.session.commit()
    staff = browser.new_context(locale="en-US").new_page()
    log_in(staff, live_server.url, agent.email)
    staff.goto(f"{live_server.url}/admin/requests/{request.id}")
    staff.get_by_label("Message", exact=True).fill("Could you send a photo of the damage?")
    staff.get_by_label("Send to customer").check()
    staff.get_by_role("button", name="Send", exact=True).click()
    expect(staff.get_by_role("status").filter(has_text="Message sent.")).to_be_visible()

    (question,) = smtp_sink.to(request.customer_email)
    answer = reply_to(
        question,
        "Here it is: the seam came apart.\n\n"
        "On Mon, Nov 30, 2026 at 10:12 AM Demo Winkel <no-reply@returndesk.test> wrote:\n"
        "> Could you send a photo of the damage?\n",
    )
    answer.add_attachment(image_bytes("PNG"), maintype="image", subtype="png", filename="seam.png")
    send(inbound, answer, sender=request.customer_email)

    staff.reload()
    thread = staff.locator("#thread")
    expect(thread).to_contain_text("Here it is: the seam came apart.")
    expect(thread.get_by_text("From the customer")).to_be_visible()
    expect(thread.get_by_role("link", name=re.compile("seam.png"))).to_be_visible()
    expect(staff.locator("#thread-state")).to_have_text("Customer replied")
    assert "wrote:" not in thread.inner_text()
