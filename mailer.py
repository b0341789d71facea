"""Sending outbox emails over SMTP with the standard library.

One connection carries a whole batch. Messages are built as ``email.message.EmailMessage``
so that an address with non-ASCII characters (zoë@example.nl) is sent with SMTPUTF8, which
every current mail server offers; a server without it refuses that one email clearly.
"""

from __future__ import annotations

import smtplib
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from flask import current_app

# Seconds to wait for the mail server before the attempt counts as failed (and is retried).
SMTP_TIMEOUT = 30
# The most replies of the server that opening a connection waits for (greeting, EHLO,
# STARTTLS and EHLO again, AUTH) and that one email does (MAIL FROM, RCPT TO, DATA, the end
# of the message); each may take up to SMTP_TIMEOUT.
REPLIES_PER_CONNECTION = 5
REPLIES_PER_EMAIL = 4


def longest_send(emails: int) -> int:
    """Seconds sending ``emails`` over one connection can take without any timeout expiring."""
    return SMTP_TIMEOUT * (REPLIES_PER_CONNECTION + REPLIES_PER_EMAIL * emails)


def connect() -> smtplib.SMTP:
    """A connection to ``MAIL_SERVER``, with STARTTLS/SSL and login as configured."""
    config = current_app.config
    host, port = config["MAIL_SERVER"], config.get("MAIL_PORT", 25)
    if config.get("MAIL_USE_SSL"):
        smtp = smtplib.SMTP_SSL(host, port, timeout=SMTP_TIMEOUT)
    else:
        smtp = smtplib.SMTP(host, port, timeout=SMTP_TIMEOUT)
        if config.get("MAIL_USE_TLS"):
            smtp.starttls()
    if config.get("MAIL_USERNAME"):
        smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
    return smtp


def message(
    to: str,
    subject: str,
    text: str,
    html: str | None,
    attachments: Sequence[tuple[str, str, bytes]] = (),
) -> EmailMessage:
    """A text email with an HTML alternative and attachments ``(filename, type, bytes)``."""
    email = EmailMessage()
    email["Subject"] = subject
    email["From"] = current_app.config["MAIL_DEFAULT_SENDER"]
    email["To"] = to
    email["Date"] = formatdate(localtime=False)
    email["Message-ID"] = make_msgid(domain=sender_domain())
    email.set_content(text)
    if html:
        email.add_alternative(html, subtype="html")
    for filename, content_type, data in attachments:
        maintype, _, subtype = content_type.partition("/")
        email.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return email


def sender_domain() -> str:
    """The domain of the From address, for Message-IDs that do not leak the host's name."""
    sender = current_app.config["MAIL_DEFAULT_SENDER"]
    return sender.rsplit("@", 1)[-1].strip(" >") or "localhost"
