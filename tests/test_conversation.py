"""Communication with customer: messages, internal notes, replies on the status page, files."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from extensions import db
from factories import make_request, make_shop, make_user
from models import (
    ON_HOLD,
    AuditEvent,
    Message,
    OutboundEmail,
    WebhookDelivery,
    WebhookEndpoint,
    utcnow,
)
from portal_helpers import image_bytes
from services import conversation

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
Upload = conversation.Upload


# The shop, its customers and its agent speak English here.
pytestmark = pytest.mark.shop(default_language="en")


@pytest.fixture
def english_agent(anna):
    """The shared ``anna``, who reads ReturnDesk in English."""
    anna.language = "en"
    db.session.commit()
    return anna


@pytest.fixture
def req(shop):
    request = make_request(shop, language="en")
    db.session.commit()
    return request


def status_path(request) -> str:
    return f"/returns/{request.shop.slug}/status/{request.public_token}"


def actions(request) -> list[str]:
    return list(
        db.session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.request_id == request.id)
            .order_by(AuditEvent.id)
        )
    )


# --- the operations --------------------------------------------------------------------------


def test_message_to_customer_is_emailed_in_their_language_with_file_and_reply_link(
    app, req, english_agent, smtp_sink
):
    conversation.send_message(
        req, english_agent, "Could you send a photo of the label?", [Upload("invoice.pdf", PDF)]
    )
    db.session.commit()

    (email,) = smtp_sink.to(req.customer_email)
    assert "A message about your return request" in email["Subject"]
    text = email.get_body(("plain",)).get_content()
    assert "Could you send a photo of the label?" in text
    assert f"http://returndesk.test{status_path(req)}#conversation" in text
    (attached,) = list(email.iter_attachments())
    assert attached.get_filename() == "invoice.pdf"
    assert attached.get_content_type() == "application/pdf"
    assert req.awaiting_customer and not req.customer_replied
    assert actions(req) == ["message_sent"]


def test_message_email_is_written_in_the_customers_language(app, shop, english_agent):
    request = make_request(shop, language="nl")
    conversation.send_message(request, english_agent, "Hoi!", [])
    db.session.commit()
    email = db.session.scalar(select(OutboundEmail))
    assert (email.to_address, email.language) == (request.customer_email, "nl")


def test_large_files_are_linked_in_the_email_instead_of_attached(
    app, req, english_agent, monkeypatch
):
    monkeypatch.setattr(conversation, "MAX_ATTACHED_BYTES", 10)
    message = conversation.send_message(
        req, english_agent, "See the file", [Upload("big.pdf", PDF)]
    )
    db.session.commit()
    email = db.session.scalar(select(OutboundEmail))
    assert email.attachment_ids == []
    link = f"{status_path(req)}/attachment/{message.attachments[0].id}"
    assert link in email.body_text and link in email.body_html


def test_internal_note_is_never_emailed_nor_shown_on_the_status_page(
    app, client, req, english_agent, smtp_sink
):
    conversation.add_internal_note(req, english_agent, "Customer sounds annoyed, be kind", [])
    db.session.commit()
    assert smtp_sink.messages == []
    assert db.session.scalar(select(OutboundEmail)) is None
    assert req.last_outbound_at is None
    assert actions(req) == ["note_added"]
    page = client.get(status_path(req)).get_data(as_text=True)
    assert "be kind" not in page
    assert "No messages yet" in page


def test_customer_reply_notifies_the_agent_holding_the_request(app, shop, english_agent, smtp_sink):
    request = make_request(shop, status=ON_HOLD, held_by=english_agent, held_since=utcnow())
    conversation.send_message(request, english_agent, "Which size?", [])
    db.session.commit()
    conversation.receive_reply(request, "Size M, see photo", [Upload("me.png", image_bytes("PNG"))])
    db.session.commit()

    assert request.customer_replied and not request.awaiting_customer
    (email,) = smtp_sink.to("anna@example.com")
    assert "replied about request" in email["Subject"]
    text = email.get_body(("plain",)).get_content()
    assert "Size M, see photo" in text
    assert f"/admin/requests/{request.id}" in text
    assert smtp_sink.to("returns@demo.example.com") == []
    assert actions(request) == ["message_sent", "customer_replied"]


def test_customer_reply_goes_to_the_shop_address_when_nobody_holds_the_request(app, req, smtp_sink):
    conversation.receive_reply(req, "Any news?", [])
    db.session.commit()
    (email,) = smtp_sink.to("returns@demo.example.com")
    assert "Any news?" in email.get_body(("plain",)).get_content()


def test_customer_reply_emits_the_message_received_webhook(app, shop, req):
    db.session.add(
        WebhookEndpoint(
            shop=shop, url="https://shop.invalid/hook", secret="s", events=["message.received"]
        )
    )
    conversation.receive_reply(req, "Hello", [])
    db.session.flush()
    delivery = db.session.scalar(select(WebhookDelivery))
    assert delivery.event == "message.received"
    assert delivery.payload["data"]["body"] == "Hello"
    assert delivery.payload["data"]["request_number"] == req.number


@pytest.mark.parametrize(
    "upload, problem",
    [
        (Upload("page.html", b"<html><script>alert(1)</script></html>"), "is not a PDF, image"),
        (Upload("fake.pdf", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\xff\xff"), "is not a PDF, image"),
        (Upload("empty.pdf", b""), "is empty"),
        (Upload("huge.pdf", PDF + b" " * (10 * 1024 * 1024)), "is too large"),
    ],
)
def test_staff_files_are_checked_by_content_and_size_and_refused_without_storing(
    app, req, english_agent, upload, problem
):
    with pytest.raises(conversation.MessageRefused) as refused:
        conversation.send_message(req, english_agent, "Look", [Upload("ok.pdf", PDF), upload])
    assert problem in refused.value.errors["files"]
    db.session.rollback()
    assert db.session.scalar(select(Message)) is None
    assert list(Path(app.config["STORAGE_DIR"]).glob("*")) == []


def test_customer_may_not_send_plain_text_files(app, req):
    with pytest.raises(conversation.MessageRefused) as refused:
        conversation.receive_reply(req, "", [Upload("notes.txt", b"just some text")])
    assert "is not a PDF or an image" in refused.value.errors["files"]


def test_an_empty_message_is_refused(app, req, english_agent):
    with pytest.raises(conversation.MessageRefused) as refused:
        conversation.send_message(req, english_agent, "   ", [])
    assert "Please write a message" in refused.value.errors["body"]


# --- the staff's request page ----------------------------------------------------------------


def post_message(client, request, body, files=(), kind="customer", **extra):
    data = {"body": body, "kind": kind, "files": [(io.BytesIO(d), n) for n, d in files], **extra}
    return client.post(
        f"/admin/requests/{request.id}/message", data=data, content_type="multipart/form-data"
    )


def test_agent_sends_a_message_and_a_note_from_the_request_page(
    app, client, auth, req, english_agent, smtp_sink
):
    auth.login(english_agent.email)
    sent = post_message(client, req, "Please send a photo", [("question.pdf", PDF)])
    assert sent.status_code == 302
    noted = post_message(client, req, "Waiting for the photo", kind="internal")
    assert noted.status_code == 302

    page = client.get(f"/admin/requests/{req.id}").get_data(as_text=True)
    assert page.index("Please send a photo") < page.index("Waiting for the photo")
    assert "Internal note — never shown to the customer" in page
    assert "To the customer" in page
    assert "question.pdf" in page
    assert len(smtp_sink.to(req.customer_email)) == 1


def test_a_refused_message_shows_the_problem_next_to_the_field_and_keeps_the_text(
    app, client, auth, req, english_agent
):
    auth.login(english_agent.email)
    response = post_message(client, req, "Here you go", [("evil.html", b"<html>hi</html>")])
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert re.search(r'id="message-files-error">evil.html is not a PDF', page)
    assert "Here you go</textarea>" in page
    assert db.session.scalar(select(Message)) is None


def test_staff_download_a_thread_file_as_an_attachment_with_its_recorded_type(
    app, client, auth, req, english_agent
):
    message = conversation.receive_reply(req, "photo", [Upload("me.png", image_bytes("PNG"))])
    db.session.commit()
    attachment = message.attachments[0]
    auth.login(english_agent.email)
    response = client.get(f"/admin/requests/{req.id}/attachment/{attachment.id}")
    assert response.status_code == 200
    assert response.mimetype == "image/png"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert "me.png" in response.headers["Content-Disposition"]


def test_a_fashion_agent_gets_404_for_a_demo_attachment(app, client, auth, req, english_agent):
    message = conversation.send_message(req, english_agent, "file", [Upload("demo.pdf", PDF)])
    fashion = make_shop("fashion", "Fashion")
    make_user("fay@fashion.example.com", fashion)
    db.session.commit()
    auth.login("fay@fashion.example.com")
    url = f"/admin/requests/{req.id}/attachment/{message.attachments[0].id}"
    assert client.get(url).status_code == 404
    assert post_message(client, req, "sneaky").status_code == 404
    assert db.session.scalar(select(Message).where(Message.body == "sneaky")) is None


def test_an_attachment_of_another_request_is_404_on_this_request(
    app, client, auth, shop, english_agent
):
    first, second = make_request(shop), make_request(shop)
    message = conversation.send_message(first, english_agent, "file", [Upload("a.pdf", PDF)])
    db.session.commit()
    auth.login(english_agent.email)
    url = f"/admin/requests/{second.id}/attachment/{message.attachments[0].id}"
    assert client.get(url).status_code == 404


# --- the customer's status page ---------------------------------------------------------------


def test_customer_sees_messages_but_not_notes_and_replies_with_a_photo(
    app, client, req, english_agent, smtp_sink
):
    conversation.send_message(req, english_agent, "Which colour was it?", [Upload("info.pdf", PDF)])
    conversation.add_internal_note(
        req, english_agent, "secret remark", [Upload("internal.pdf", PDF)]
    )
    db.session.commit()
    page = client.get(status_path(req)).get_data(as_text=True)
    assert "Which colour was it?" in page and "info.pdf" in page
    assert "secret remark" not in page and "internal.pdf" not in page

    response = client.post(
        status_path(req) + "/reply",
        data={"body": "Blue", "files": [(io.BytesIO(image_bytes("JPEG")), "blue.jpg")]},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    page = client.get(response.location).get_data(as_text=True)
    assert "Thank you, your message has been sent to the shop." in page
    assert "Blue" in page and "blue.jpg" in page
    db.session.expire_all()
    assert req.customer_replied
    assert len(smtp_sink.to("returns@demo.example.com")) == 1


def test_customer_reply_with_a_wrong_file_shows_the_problem_and_stores_nothing(app, client, req):
    response = client.post(
        status_path(req) + "/reply",
        data={"body": "see file", "files": [(io.BytesIO(b"plain words"), "notes.txt")]},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'id="reply-files-error">notes.txt is not a PDF or an image.' in page
    assert "see file</textarea>" in page
    assert db.session.scalar(select(Message)) is None


def test_customer_downloads_a_file_of_a_message_but_never_of_a_note(
    app, client, req, english_agent
):
    shared = conversation.send_message(req, english_agent, "x", [Upload("shared.pdf", PDF)])
    note = conversation.add_internal_note(req, english_agent, "y", [Upload("note.pdf", PDF)])
    db.session.commit()
    response = client.get(f"{status_path(req)}/attachment/{shared.attachments[0].id}")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.data == PDF
    assert client.get(f"{status_path(req)}/attachment/{note.attachments[0].id}").status_code == 404


def test_a_wrong_token_or_shop_gets_404(app, client, req, english_agent):
    shared = conversation.send_message(req, english_agent, "x", [Upload("shared.pdf", PDF)])
    make_shop("fashion", "Fashion")
    db.session.commit()
    file_id = shared.attachments[0].id
    assert client.get(f"/returns/demo/status/wrong-token/attachment/{file_id}").status_code == 404
    assert (
        client.post("/returns/demo/status/wrong-token/reply", data={"body": "hi"}).status_code
        == 404
    )
    other_shop = f"/returns/fashion/status/{req.public_token}"
    assert client.get(f"{other_shop}/attachment/{file_id}").status_code == 404
    assert client.post(f"{other_shop}/reply", data={"body": "hi"}).status_code == 404
    assert db.session.scalar(select(Message).where(Message.body == "hi")) is None


def test_replies_are_limited_per_token(app, client, req):
    app.config["PORTAL_REPLY_LIMIT"] = "2 per hour"
    for _ in range(2):
        assert client.post(status_path(req) + "/reply", data={"body": "hi"}).status_code == 302
    limited = client.post(status_path(req) + "/reply", data={"body": "hi"})
    assert limited.status_code == 429
    assert "Too many attempts" in limited.get_data(as_text=True)


# --- CSRF --------------------------------------------------------------------------------------


def csrf_token_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_the_staff_message_form_refuses_a_post_without_its_csrf_token(
    app, client, auth, req, english_agent
):
    auth.login(english_agent.email)
    app.config["WTF_CSRF_ENABLED"] = True
    assert post_message(client, req, "no token").status_code == 400
    page = client.get(f"/admin/requests/{req.id}").get_data(as_text=True)
    form = page[page.index('id="message-form"') :]
    assert (
        post_message(client, req, "with token", csrf_token=csrf_token_of(form)).status_code == 302
    )
    assert [m.body for m in db.session.scalars(select(Message))] == ["with token"]


def test_the_customer_reply_form_refuses_a_post_without_its_csrf_token(app, client, req):
    app.config["WTF_CSRF_ENABLED"] = True
    refused = client.post(status_path(req) + "/reply", data={"body": "no token"})
    assert refused.status_code == 302
    assert "Please write your message again" in client.get(refused.location).get_data(as_text=True)
    page = client.get(status_path(req)).get_data(as_text=True)
    form = page[page.index('id="conversation"') :]
    accepted = client.post(
        status_path(req) + "/reply", data={"body": "with token", "csrf_token": csrf_token_of(form)}
    )
    assert accepted.status_code == 302
    assert [m.body for m in db.session.scalars(select(Message))] == ["with token"]


def test_the_reply_error_page_keeps_its_language_links_on_the_status_page(app, client, req):
    page = client.post(status_path(req) + "/reply", data={"body": ""}).get_data(as_text=True)
    assert f'href="{status_path(req)}?lang=nl"' in page
