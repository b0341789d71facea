"""Flask-Mail with ReturnDesk's adapter (mailer.py): what a message carries reaches the SMTP
server intact, over one connection, for ASCII and UTF-8 addresses alike."""

import flask_mail
import pytest

from services import mailer
from services.mailer import mail

PDF = b"%PDF-1.4 label\n"


def label_email(to: str) -> mailer.Message:
    return mailer.Message(
        subject="Je retourlabel voor Bäcker Wonen",
        recipients=[to],
        body="Hallo, hierbij je label.",
        html="<p>Hallo, hierbij je <b>label</b>.</p>",
        reply_to="Klantenservice Bäcker <service@baecker.example>",
        attachments=[flask_mail.Attachment("rücksendung.pdf", "application/pdf", PDF)],
    )


@pytest.mark.parametrize("to", ["jan@example.nl", "zoë@example.nl"])
def test_subject_bodies_reply_to_and_attachment_arrive_as_sent(app, smtp_sink, to):
    with mail.connect() as connection:
        connection.send(label_email(to))

    [message] = smtp_sink.to(to)
    assert message["X-Envelope-To"] == to
    assert message["To"] == to
    assert message["From"] == app.config["MAIL_DEFAULT_SENDER"]
    assert message["Reply-To"] == "Klantenservice Bäcker <service@baecker.example>"
    assert message["Subject"] == "Je retourlabel voor Bäcker Wonen"
    assert message.get_body(("plain",)).get_content().strip() == "Hallo, hierbij je label."
    assert "<b>label</b>" in message.get_body(("html",)).get_content()
    [attachment] = message.iter_attachments()
    assert attachment.get_filename() == "rücksendung.pdf"
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_content() == PDF


def test_one_connection_carries_a_batch_of_ascii_and_utf8_addresses(app, smtp_sink):
    addresses = ["a@example.nl", "zoë@example.nl", "b@example.nl"]
    with mail.connect() as connection:
        for to in addresses:
            connection.send(mailer.message(to, f"Voor {to}", "Hallo", None))

    assert [m["X-Envelope-To"] for m in smtp_sink.messages] == addresses
    assert [m["Subject"] for m in smtp_sink.messages] == [f"Voor {to}" for to in addresses]
    assert all(m["Message-ID"].endswith("@returndesk.test>") for m in smtp_sink.messages)
