"""Communication with customer in a real browser (Debian Chromium via Playwright): an agent
asks a question with a PDF, the customer replies with a photo on the status page, the agent
holding the request is told and sees the reply."""

from __future__ import annotations

import io
import re
from urllib.parse import urlsplit

import pytest
from PIL import Image
from playwright.sync_api import expect

from browser_helpers import log_in
from extensions import db
from factories import make_request, make_shop, make_user
from models import ON_HOLD, utcnow

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def tiny_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), "blue").save(buffer, "PNG")
    return buffer.getvalue()


@pytest.mark.browser
def test_agent_asks_with_a_pdf_customer_replies_with_a_photo_and_the_agent_sees_it(
    browser, live_server, smtp_sink
):
    shop = make_shop(default_language="en")
    agent = make_user("anna@example.com", shop, name="Anna", language="en")
    request = make_request(shop, status=ON_HOLD, held_by=agent, held_since=utcnow(), language="en")
    db.session.commit()
    base = live_server.url
    staff = browser.new_context(locale="en-US").new_page()
    customer = browser.new_context(locale="en-US").new_page()

    log_in(staff, base, agent.email)
    staff.goto(f"{base}/admin/requests/{request.id}")
    staff.get_by_label("Message", exact=True).fill("Could you send a photo of the damage?")
    staff.get_by_label("Files (PDF, images or plain text").set_input_files(
        [{"name": "instructions.pdf", "mimeType": "application/pdf", "buffer": PDF}]
    )
    staff.get_by_label("Send to customer").check()
    staff.get_by_role("button", name="Send", exact=True).click()
    expect(staff.get_by_role("status").filter(has_text="Message sent.")).to_be_visible()
    thread = staff.locator("#thread")
    expect(thread).to_contain_text("Could you send a photo of the damage?")
    expect(staff.locator("#thread-state")).to_have_text("Awaiting customer")
    expect(thread.get_by_role("link", name=re.compile("instructions.pdf"))).to_be_visible()

    (email,) = smtp_sink.to(request.customer_email)
    (attached,) = list(email.iter_attachments())
    assert attached.get_filename() == "instructions.pdf"
    assert attached.get_content() == PDF
    text = email.get_body(("plain",)).get_content()
    link = re.search(r"http://returndesk\.test(/returns/\S+/status/\S+)#conversation", text)
    assert link is not None

    customer.goto(base + link.group(1))
    conversation = customer.locator("#conversation")
    expect(conversation).to_contain_text("Could you send a photo of the damage?")
    customer.get_by_label("Your message").fill("Here is the photo.")
    customer.get_by_label("Photos or PDF files").set_input_files(
        [{"name": "damage.png", "mimeType": "image/png", "buffer": tiny_png()}]
    )
    customer.get_by_role("button", name="Send message").click()
    expect(customer.get_by_role("alert")).to_contain_text("your message has been sent")
    expect(conversation.get_by_role("link", name="damage.png")).to_be_visible()
    assert urlsplit(customer.url).path == link.group(1)

    (notification,) = smtp_sink.to(agent.email)
    assert "replied about request" in notification["Subject"]
    assert "Here is the photo." in notification.get_body(("plain",)).get_content()

    staff.goto(f"{base}/admin/requests/?flt0_customer_replied=1")
    row = staff.locator("tr", has=staff.get_by_role("link", name=request.number))
    expect(row.get_by_label("Customer replied")).to_be_visible()
    row.get_by_role("link", name=request.number).click()
    expect(thread).to_contain_text("Here is the photo.")
    expect(staff.locator("#thread-state")).to_have_text("Customer replied")
    expect(thread.get_by_text("From the customer")).to_be_visible()
    expect(thread.get_by_role("link", name=re.compile("damage.png"))).to_be_visible()
