"""Customers replying by email: a reply to an email from the SMTP sink, sent over real SMTP to
the inbound endpoint (the ``inbound`` fixture)."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

REPLY_DOMAIN = "replies.demo.example.com"


def reply_to(original, body: str, **headers: str) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = original["To"]
    mail["To"] = original["Reply-To"]
    mail["Subject"] = "Re: " + original["Subject"]
    for name, value in headers.items():
        mail[name.replace("_", "-")] = value
    mail.set_content(body)
    return mail


def send(port: int, mail: EmailMessage, sender: str = "jan@example.nl") -> None:
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        smtp.send_message(mail, from_addr=sender)
