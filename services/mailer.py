"""Sending outbox emails through Flask-Mail, with a small adapter for what Flask-Mail 0.10 lacks.

Flask-Mail's ``Mail`` reads the ``MAIL_*`` configuration and opens the connection, and its
``Connection.send`` sends each ``Message``; one connection carries a whole batch (see
``tasks.deliver_emails``). The subclasses below add the two things 0.10 does not do
(docs/ARCHITECTURE.md, "Flask-Mail with an adapter"):

- **A timeout.** 0.10 opens ``smtplib.SMTP(server, port)`` without one, so a mail server that
  accepts the connection and never answers holds the worker for good. Here ``MAIL_TIMEOUT``
  seconds bound the connect and every reply; the attempt then fails and is retried.
- **Addresses like zoë@example.nl.** 0.10 passes every address through ``sanitize_address``,
  whose ``email.utils.formataddr`` raises ``UnicodeEncodeError`` for a non-ASCII local part,
  both for the headers and for the SMTP envelope. Here the message is built by the standard
  library's ``EmailMessage``, and an email to or from such an address is sent with the SMTPUTF8
  extension (RFC 6531) and UTF-8 headers, which every current mail server offers; a server
  without it refuses that one email clearly (``SMTPNotSupportedError``).
"""

from __future__ import annotations

import smtplib
from collections.abc import Sequence
from email import policy
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from typing import Any

import flask_mail
from flask import current_app

# The most replies of the server that opening a connection waits for (greeting, EHLO,
# STARTTLS and EHLO again, AUTH) and that one email does (MAIL FROM, RCPT TO, DATA, the end
# of the message); each may take up to MAIL_TIMEOUT.
REPLIES_PER_CONNECTION = 5
REPLIES_PER_EMAIL = 4


def longest_send(emails: int) -> int:
    """Seconds sending ``emails`` over one connection can take without any timeout expiring."""
    timeout = current_app.config["MAIL_TIMEOUT"]
    return timeout * (REPLIES_PER_CONNECTION + REPLIES_PER_EMAIL * emails)


class Message(flask_mail.Message):
    """Flask-Mail's message, built as an ``EmailMessage`` so that UTF-8 addresses survive.

    Keeps what ``flask_mail.Message`` carries: subject, sender, recipients, cc, reply-to, body,
    alternatives (HTML), attachments, extra headers, date and Message-ID. Addresses are strings.
    """

    @property
    def needs_smtputf8(self) -> bool:
        """True when an address itself (not a display name) is not ASCII: zoë@example.nl."""
        addresses = [self.sender, *self.send_to, *([self.reply_to] if self.reply_to else [])]
        return not all(parseaddr(_address_text(address))[1].isascii() for address in addresses)

    def _message(self) -> EmailMessage:  # type: ignore[override]  # EmailMessage (UTF-8), not MIMEBase
        email = EmailMessage(policy=policy.SMTPUTF8 if self.needs_smtputf8 else policy.SMTP)
        email["Subject"] = self.subject
        email["From"] = self.sender
        email["To"] = ", ".join(map(_address_text, self.recipients))
        if self.cc:
            email["Cc"] = ", ".join(map(_address_text, self.cc))
        if self.reply_to:
            email["Reply-To"] = self.reply_to
        email["Date"] = formatdate(self.date)
        email["Message-ID"] = self.msgId
        for name, value in (self.extra_headers or {}).items():
            email[name] = value
        email.set_content(self.body or "")
        for subtype, content in self.alts.items():
            email.add_alternative(content, subtype=subtype)
        for attachment in self.attachments:
            _attach(email, attachment)
        return email


def _address_text(address: str | tuple[str, str]) -> str:
    """An address of a ``Message``, which holds strings; Flask-Mail's types also allow a
    ``(name, address)`` pair, which this adapter does not take."""
    if not isinstance(address, str):
        raise TypeError(f"mailer.Message takes addresses as strings, not {address!r}")
    return address


def _attach(email: EmailMessage, attachment: flask_mail.Attachment) -> None:
    maintype, _, subtype = attachment.content_type.partition("/")
    data = attachment.data.encode() if isinstance(attachment.data, str) else attachment.data
    email.add_attachment(
        data,
        maintype=maintype,
        subtype=subtype,
        filename=attachment.filename,
        disposition=attachment.disposition,
        headers=[f"{name}: {value}" for name, value in attachment.headers.items()],
    )


class Connection(flask_mail.Connection):
    """Flask-Mail's connection with a timeout, sending with SMTPUTF8 when an address needs it."""

    def configure_host(self) -> smtplib.SMTP:
        """As Flask-Mail 0.10 connects (SSL or STARTTLS, login), but with ``MAIL_TIMEOUT``."""
        smtp = smtplib.SMTP_SSL if self.mail.use_ssl else smtplib.SMTP
        host = smtp(self.mail.server, self.mail.port, timeout=self.mail.timeout)
        host.set_debuglevel(int(self.mail.debug))
        if self.mail.use_tls:
            host.starttls()
        if self.mail.username and self.mail.password:
            host.login(self.mail.username, self.mail.password)
        return host

    def send(
        self, message: flask_mail.Message, envelope_from: str | tuple[str, str] | None = None
    ) -> None:
        """Flask-Mail's send; with a non-ASCII address (in a ``Message`` above), the same with
        SMTPUTF8.

        Flask-Mail 0.10 would pass the envelope addresses through ``sanitize_address``, which
        cannot encode zoë@example.nl, so such an email goes to smtplib with them as they are.
        """
        if not (isinstance(message, Message) and message.needs_smtputf8):
            super().send(message, envelope_from)
            return
        if message.has_bad_headers():
            raise flask_mail.BadHeaderError
        if self.host is not None:
            self.host.sendmail(
                _address_text(envelope_from or message.sender),
                sorted(map(_address_text, message.send_to)),
                message.as_bytes(),
                [*message.mail_options, "SMTPUTF8"],
                message.rcpt_options,
            )
        app = current_app._get_current_object()  # type: ignore[attr-defined]  # a LocalProxy, typed as Flask
        flask_mail.email_dispatched.send(app, message=message)


class Mail(flask_mail.Mail):
    """Flask-Mail's ``Mail`` whose connections are the ``Connection`` above."""

    def init_mail(self, config: dict[str, Any], debug: bool | int = False, testing: bool = False):
        """Flask-Mail's settings, and ``MAIL_TIMEOUT`` (seconds) for ``configure_host``."""
        state = super().init_mail(config, debug, testing)
        state.timeout = config["MAIL_TIMEOUT"]  # type: ignore[attr-defined]  # our setting on Flask-Mail's state
        return state

    def connect(self) -> Connection:
        return Connection(current_app.extensions["mail"])


# Flask-Mail with this adapter: a timeout, and SMTPUTF8 for zoë@example.nl; bound in create_app().
mail = Mail()


def message(
    to: str,
    subject: str,
    text: str,
    html: str | None,
    attachments: Sequence[tuple[str, str, bytes]] = (),
    reply_to: str | None = None,
) -> Message:
    """A text email with an HTML alternative and attachments ``(filename, type, bytes)``."""
    email = Message(
        subject=subject,
        recipients=[to],
        body=text,
        html=html,
        attachments=[flask_mail.Attachment(*attachment) for attachment in attachments],
        reply_to=reply_to,
    )
    email.msgId = make_msgid(domain=sender_domain())
    return email


def sender_domain() -> str:
    """The domain of the From address, for Message-IDs that do not leak the host's name."""
    sender = current_app.config["MAIL_DEFAULT_SENDER"]
    return sender.rsplit("@", 1)[-1].strip(" >") or "localhost"
