"""Customers' emailed replies taken from a mailbox over IMAP (``INBOUND_IMAP_URL``), read over
a real IMAP connection on loopback from a stand-in server: a reply lands in the thread exactly
as through the SMTP endpoint (quote and signature cut, photo checked and attached, the holder
told); what is refused leaves no trace in the thread and is not read again; a mail is taken
once however often the mailbox is polled or the connection drops; a mailbox that is down fails
the poll cleanly and loses nothing."""

from __future__ import annotations

import ipaddress
import ssl
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import quote

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import func, select

from domain import notifications, workflow
from extensions import db
from factories import make_request, make_user
from harness import free_port
from imap_standin import PASSWORD, USER, ImapStandin
from mail_helpers import REPLY_DOMAIN, reply_to, send
from models import Message
from portal_helpers import image_bytes
from service_processes import redis_server
from services import conversation, inbound_imap, jobs, schedule

CUSTOMER = "jan@example.nl"


@pytest.fixture
def mailbox(app):
    """The replies' mailbox on a stand-in IMAP server, set as ``INBOUND_IMAP_URL`` (mails over
    200 kB refused)."""
    standin = ImapStandin(free_port())
    standin.start()
    app.config["INBOUND_REPLY_DOMAIN"] = REPLY_DOMAIN
    app.config["INBOUND_MAIL_MAX_BYTES"] = 200_000
    app.config["INBOUND_IMAP_URL"] = mailbox_url("imap", standin.port)
    yield standin
    standin.stop()


def mailbox_url(scheme: str, port: int) -> str:
    """The stand-in's folder as ``INBOUND_IMAP_URL`` names it, user and password encoded."""
    return f"{scheme}://{quote(USER, safe='')}:{quote(PASSWORD, safe='')}@127.0.0.1:{port}/INBOX"


@pytest.fixture
def agent(app, shop):
    return make_user("anna@example.com", shop, name="Anna")


@pytest.fixture
def asked(app, shop, agent, mailbox, smtp_sink):
    """A request that Anna holds, whose customer she asked for a photo by email."""
    request = make_request(shop, language="nl")
    workflow.hold(request, agent)
    conversation.send_message(request, agent, "Kun je een foto van de schade sturen?", [])
    db.session.commit()
    return request


def question_to(asked, smtp_sink) -> EmailMessage:
    (question,) = smtp_sink.to(asked.customer_email)
    return question


def into_mailbox(mailbox: ImapStandin, mail: EmailMessage, sender: str = CUSTOMER) -> int:
    """The mail server delivers a mail for the reply address into the mailbox; its UID."""
    return mailbox.deliver(mail.as_bytes(policy=policy.SMTP), str(mail["To"]), sender)


def thread_inbound() -> list[Message]:
    db.session.expire_all()
    return list(db.session.scalars(select(Message).where(Message.direction == "inbound")))


def message_count() -> int:
    return db.session.scalar(select(func.count(Message.id)))


def photo_reply(question: EmailMessage) -> EmailMessage:
    mail = reply_to(
        question,
        "Hier is de foto, de naad is gescheurd.\n\n"
        "Met vriendelijke groet,\nJan\n\n"
        "Op ma 30 nov 2026 om 10:12 schreef Demo Winkel <no-reply@returndesk.test>:\n"
        "> Kun je een foto van de schade sturen?\n",
    )
    mail["Message-ID"] = "<photo-reply-1@mail.example.nl>"
    mail.add_attachment(image_bytes("PNG"), maintype="image", subtype="png", filename="naad.png")
    return mail


def test_a_reply_with_a_photo_in_the_mailbox_lands_in_the_thread_and_the_holder_is_told(
    client, asked, agent, mailbox, smtp_sink
):
    into_mailbox(mailbox, photo_reply(question_to(asked, smtp_sink)))

    outcome = inbound_imap.poll()

    assert (outcome.taken, outcome.refused, outcome.failed) == (1, 0, 0)
    (reply,) = thread_inbound()
    assert reply.body == "Hier is de foto, de naad is gescheurd."
    assert [(a.original_name, a.content_type) for a in reply.attachments] == [
        ("naad.png", "image/png")
    ]
    page = client.get(f"/returns/demo/status/{asked.public_token}?lang=nl").get_data(as_text=True)
    assert "Hier is de foto, de naad is gescheurd." in page
    assert "naad.png" in page
    assert notifications.unread_count(db.session, agent) == 1
    # Taken: flagged deleted and expunged, the mail is gone from the mailbox.
    assert mailbox.mails() == []
    assert not any("BODY[]" in command for command in mailbox.commands)  # always PEEK


def test_a_second_poll_takes_nothing_again(asked, mailbox, smtp_sink):
    into_mailbox(mailbox, photo_reply(question_to(asked, smtp_sink)))
    inbound_imap.poll()

    again = inbound_imap.poll()

    assert (again.taken, again.refused, again.failed) == (0, 0, 0)
    assert len(thread_inbound()) == 1


def test_a_connection_lost_after_the_reply_was_saved_does_not_add_it_twice(
    asked, mailbox, smtp_sink
):
    into_mailbox(mailbox, photo_reply(question_to(asked, smtp_sink)))
    mailbox.drop_on("UID STORE")

    with pytest.raises(inbound_imap.MailboxUnavailable):
        inbound_imap.poll()

    assert len(thread_inbound()) == 1
    (unflagged,) = mailbox.mails()
    assert "\\Seen" not in unflagged.flags

    again = inbound_imap.poll()

    assert again.taken == 1
    assert len(thread_inbound()) == 1
    assert mailbox.mails() == []


@pytest.mark.parametrize(
    ("headers", "sender", "address"),
    [
        ({"Auto_Submitted": "auto-replied"}, CUSTOMER, None),
        ({"Precedence": "bulk"}, CUSTOMER, None),
        ({}, "", None),  # a bounce: Return-Path <>
        ({}, CUSTOMER, f"reply+an-unknown-token-of-enough-length-0123@{REPLY_DOMAIN}"),
        ({}, CUSTOMER, f"info@{REPLY_DOMAIN}"),
    ],
    ids=["out-of-office", "bulk", "bounce", "unknown-token", "no-reply-address"],
)
def test_what_is_refused_leaves_no_trace_and_is_not_read_again(
    asked, mailbox, smtp_sink, headers, sender, address
):
    mail = reply_to(question_to(asked, smtp_sink), "Ik ben afwezig tot maandag.", **headers)
    if address:
        mail.replace_header("To", address)
    smtp_sink.clear()
    before = message_count()
    into_mailbox(mailbox, mail, sender)

    outcome = inbound_imap.poll()

    assert (outcome.taken, outcome.refused) == (0, 1)
    assert message_count() == before
    assert smtp_sink.to("returns@demo.example.com") == []
    # Left in the folder, read, for whoever looks after the mailbox; not taken up again.
    (kept,) = mailbox.mails()
    assert kept.flags == {"\\Seen"}
    assert inbound_imap.poll().refused == 0


def test_a_reply_to_a_renewed_status_link_is_refused(asked, mailbox, smtp_sink):
    question = question_to(asked, smtp_sink)
    asked.public_token = "a-renewed-token-of-enough-length-0123456789"
    db.session.commit()
    into_mailbox(mailbox, reply_to(question, "Nog een vraag"))

    assert inbound_imap.poll().refused == 1
    assert thread_inbound() == []


def test_an_oversized_mail_is_refused_without_being_downloaded(asked, mailbox, smtp_sink):
    mail = reply_to(question_to(asked, smtp_sink), "Veel foto's")
    mail.add_attachment(b"\0" * 300_000, maintype="image", subtype="png", filename="big.png")
    into_mailbox(mailbox, mail)

    assert inbound_imap.poll().refused == 1

    assert thread_inbound() == []
    assert not any("BODY" in command for command in mailbox.commands)


def test_the_reply_address_is_found_in_delivered_to_when_the_mail_was_bcc(
    asked, mailbox, smtp_sink
):
    question = question_to(asked, smtp_sink)
    mail = reply_to(question, "Via bcc verstuurd.")
    reply_address = str(mail["To"])
    mail.replace_header("To", "someone-else@example.nl")
    mailbox.deliver(mail.as_bytes(policy=policy.SMTP), reply_address, CUSTOMER)

    assert inbound_imap.poll().taken == 1
    assert [m.body for m in thread_inbound()] == ["Via bcc verstuurd."]


def test_a_mail_sent_again_over_smtp_is_stored_once(asked, mailbox, inbound, smtp_sink):
    mail = photo_reply(question_to(asked, smtp_sink))

    send(inbound, mail)
    send(inbound, mail)  # the sender's server did not hear our 250 and sends it again

    assert len(thread_inbound()) == 1


def test_a_mailbox_that_is_down_fails_the_poll_cleanly_and_loses_nothing(
    app, asked, mailbox, smtp_sink
):
    into_mailbox(mailbox, photo_reply(question_to(asked, smtp_sink)))
    mailbox.stop()

    with pytest.raises(inbound_imap.MailboxUnavailable):
        scheduled("mailbox-poll").work()
    result = app.test_cli_runner().invoke(args=["mail", "poll"])

    assert result.exit_code == 1
    assert f"mailbox {USER}@127.0.0.1:{mailbox.port}/INBOX" in result.output
    assert PASSWORD not in result.output
    assert thread_inbound() == []

    mailbox.start()
    result = app.test_cli_runner().invoke(args=["mail", "poll"])

    assert result.exit_code == 0, result.output
    assert "1 replies taken, 0 refused, 0 left for the next poll" in result.output
    assert len(thread_inbound()) == 1


def test_a_wrong_password_fails_the_poll_without_showing_the_password(app, asked, mailbox):
    app.config["INBOUND_IMAP_URL"] = app.config["INBOUND_IMAP_URL"].replace(
        quote(PASSWORD, safe=""), "not-the-password"
    )

    result = app.test_cli_runner().invoke(args=["mail", "poll"])

    assert result.exit_code == 1
    assert "AUTHENTICATIONFAILED" in result.output
    assert "not-the-password" not in result.output


def scheduled(name: str) -> schedule.Schedule:
    return next(s for s in schedule.schedules() if s.name == name)


def test_the_workers_poll_the_mailbox_only_when_one_is_set(app):
    app.config["INBOUND_IMAP_URL"] = None
    assert "mailbox-poll" not in [s.name for s in schedule.schedules()]
    result = app.test_cli_runner().invoke(args=["mail", "poll"])
    assert result.exit_code == 1
    assert "INBOUND_IMAP_URL is not set" in result.output

    app.config["INBOUND_IMAP_URL"] = "imaps://u:p@imap.example.com/INBOX"
    app.config["INBOUND_IMAP_EVERY"] = 120
    assert scheduled("mailbox-poll").every == 120


@pytest.mark.services
def test_a_scheduled_poll_that_finds_the_mailbox_down_is_done_by_the_next_period(
    app, asked, mailbox, smtp_sink
):
    redis_port = free_port()
    app.config["REDIS_URL"] = f"redis://127.0.0.1:{redis_port}/0"
    app.extensions.pop("redis", None)
    into_mailbox(mailbox, photo_reply(question_to(asked, smtp_sink)))
    mailbox.stop()

    with redis_server(redis_port):
        with pytest.raises(inbound_imap.MailboxUnavailable):
            schedule.run("mailbox-poll", 1)
        assert schedule.recent_runs("mailbox-poll") == []
        planned = jobs.queue().scheduled_job_registry.get_job_ids()
        poll = jobs.job_id_in_queue("schedule-mailbox-poll-")
        assert any(job_id.startswith(poll) for job_id in planned)
        assert thread_inbound() == []

        mailbox.start()
        schedule.run("mailbox-poll", 2)

        assert schedule.recent_runs("mailbox-poll") == [2]
    assert len(thread_inbound()) == 1


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "imap.pem", folder / "imap.key"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


@pytest.fixture
def tls_mailbox(app, mailbox, tmp_path):
    """The replies' mailbox over TLS (``imaps://``) instead, its certificate not (yet) trusted:
    the stand-in and the certificate's file."""
    cert_file, key_file = self_signed_certificate(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    standin = ImapStandin(free_port(), tls=context)
    standin.start()
    app.config["INBOUND_IMAP_URL"] = mailbox_url("imaps", standin.port)
    yield standin, cert_file
    standin.stop()


def test_a_mailbox_over_tls_is_read_when_its_certificate_is_trusted(
    asked, tls_mailbox, smtp_sink, monkeypatch
):
    standin, cert_file = tls_mailbox
    into_mailbox(standin, photo_reply(question_to(asked, smtp_sink)))

    with pytest.raises(inbound_imap.MailboxUnavailable, match="CERTIFICATE_VERIFY_FAILED"):
        inbound_imap.poll()
    assert thread_inbound() == []

    monkeypatch.setenv("SSL_CERT_FILE", str(cert_file))
    assert inbound_imap.poll().taken == 1
    assert [m.body for m in thread_inbound()] == ["Hier is de foto, de naad is gescheurd."]
