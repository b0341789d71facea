"""Customers answer the email they got: its Reply-To names the request by its token, and a
reply sent over real SMTP to ``flask mail inbound``'s endpoint lands in the thread as if written
on the status page, without the quoted history and signature, its photo checked as an upload.
What is not a customer's reply (an unknown or renewed address, an out-of-office, a bounce, an
oversized mail, a forbidden file) is refused with an SMTP error and leaves no trace."""

from __future__ import annotations

import smtplib

import pytest
from sqlalchemy import func, select

from extensions import db
from factories import make_request, make_user
from mail_helpers import REPLY_DOMAIN, reply_to, send
from models import Message
from portal_helpers import image_bytes
from services import conversation


@pytest.fixture
def asked(app, shop, smtp_sink, inbound):
    """A request whose customer was asked for a photo by email (nobody holds it)."""
    agent = make_user("anna@example.com", shop, name="Anna")
    request = make_request(shop, language="nl")
    conversation.send_message(request, agent, "Kun je een foto van de schade sturen?", [])
    db.session.commit()
    return request


def thread_inbound() -> list[Message]:
    db.session.expire_all()
    return list(db.session.scalars(select(Message).where(Message.direction == "inbound")))


def message_count() -> int:
    return db.session.scalar(select(func.count(Message.id)))


def test_an_emailed_reply_with_a_photo_lands_in_the_thread_without_the_quoted_history(
    client, asked, inbound, smtp_sink
):
    (question,) = smtp_sink.to(asked.customer_email)
    assert question["Reply-To"] == f"reply+{asked.public_token}@{REPLY_DOMAIN}"
    smtp_sink.clear()
    mail = reply_to(
        question,
        "Hier is de foto, de naad is gescheurd.\n\n"
        "Met vriendelijke groet,\nJan\n\n"
        "Op ma 30 nov 2026 om 10:12 schreef Demo Winkel <no-reply@returndesk.test>:\n"
        "> Kun je een foto van de schade sturen?\n",
    )
    mail.add_attachment(image_bytes("PNG"), maintype="image", subtype="png", filename="naad.png")

    send(inbound, mail)

    (reply,) = thread_inbound()
    assert reply.body == "Hier is de foto, de naad is gescheurd."
    assert [(a.original_name, a.content_type) for a in reply.attachments] == [
        ("naad.png", "image/png")
    ]
    page = client.get(f"/returns/demo/status/{asked.public_token}?lang=nl").get_data(as_text=True)
    assert "Hier is de foto, de naad is gescheurd." in page
    assert "naad.png" in page
    (told,) = smtp_sink.to("returns@demo.example.com")
    assert "Hier is de foto, de naad is gescheurd." in told.get_body(("plain",)).get_content()
    assert told["Reply-To"] is None  # staff answer in ReturnDesk, not by email


def test_an_html_only_reply_from_an_english_client_keeps_only_the_new_text(
    asked, inbound, smtp_sink
):
    (question,) = smtp_sink.to(asked.customer_email)
    mail = reply_to(question, "")
    mail.set_content(
        "<div>Photo follows tomorrow.</div><div>-- <br>Jan</div>"
        "<div>On Mon, Nov 30, 2026 at 10:12 AM Demo Winkel wrote:</div>",
        subtype="html",
    )

    send(inbound, mail)

    (reply,) = thread_inbound()
    assert reply.body.startswith("Photo follows tomorrow.")
    assert "wrote" not in reply.body


def test_an_address_that_is_no_reply_address_is_refused_at_once(asked, inbound, smtp_sink):
    (question,) = smtp_sink.to(asked.customer_email)
    mail = reply_to(question, "Hallo?")
    mail.replace_header("To", f"info@{REPLY_DOMAIN}")

    with pytest.raises(smtplib.SMTPRecipientsRefused):
        send(inbound, mail)
    assert thread_inbound() == []


def test_a_reply_to_a_renewed_status_link_is_refused_without_a_trace(asked, inbound, smtp_sink):
    (question,) = smtp_sink.to(asked.customer_email)
    asked.public_token = "a-renewed-token-of-enough-length-0123456789"
    db.session.commit()
    before = message_count()

    with pytest.raises(smtplib.SMTPDataError) as refused:
        send(inbound, reply_to(question, "Nog een vraag"))

    assert refused.value.smtp_code == 550
    assert b"unknown or no longer in use" in refused.value.smtp_error
    assert message_count() == before


@pytest.mark.parametrize(
    ("headers", "sender"),
    [
        ({"Auto_Submitted": "auto-replied"}, "jan@example.nl"),
        ({"Precedence": "bulk"}, "jan@example.nl"),
        ({}, ""),  # a bounce: the empty envelope sender
    ],
    ids=["out-of-office", "bulk", "bounce"],
)
def test_automatic_mail_never_enters_the_thread(asked, inbound, smtp_sink, headers, sender):
    (question,) = smtp_sink.to(asked.customer_email)
    smtp_sink.clear()

    with pytest.raises(smtplib.SMTPDataError) as refused:
        send(inbound, reply_to(question, "Ik ben afwezig tot maandag.", **headers), sender)

    assert refused.value.smtp_code == 550
    assert thread_inbound() == []
    assert smtp_sink.to("returns@demo.example.com") == []


def test_an_oversized_mail_is_refused(asked, inbound, smtp_sink):
    (question,) = smtp_sink.to(asked.customer_email)
    mail = reply_to(question, "Veel foto's")
    mail.add_attachment(b"\0" * 300_000, maintype="image", subtype="png", filename="big.png")

    with pytest.raises(smtplib.SMTPException) as refused:
        send(inbound, mail)

    assert getattr(refused.value, "smtp_code", None) == 552
    assert thread_inbound() == []


def test_a_file_the_portal_would_refuse_is_refused_with_its_reason(asked, inbound, smtp_sink):
    (question,) = smtp_sink.to(asked.customer_email)
    mail = reply_to(question, "Zie bijlage")
    mail.add_attachment(
        b"MZ\x90\x00" * 50, maintype="application", subtype="octet-stream", filename="factuur.exe"
    )

    with pytest.raises(smtplib.SMTPDataError) as refused:
        send(inbound, mail)

    assert refused.value.smtp_code == 550
    assert b"factuur.exe is not a PDF or an image." in refused.value.smtp_error
    assert thread_inbound() == []


def test_without_a_reply_domain_emails_carry_no_reply_to(app, shop, smtp_sink):
    request = make_request(shop, language="en")
    conversation.send_message(request, make_user("anna@example.com", shop), "Hello", [])
    db.session.commit()

    (email,) = smtp_sink.to(request.customer_email)
    assert email["Reply-To"] is None
