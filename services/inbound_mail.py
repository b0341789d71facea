"""Customers' replies by email: every email to a customer about a request carries a Reply-To
address naming that request by its unguessable token, ``reply+TOKEN@INBOUND_REPLY_DOMAIN``; a
reply to it lands in the request's thread as if written on the status page.

Mail arrives at a small SMTP endpoint (``flask mail inbound``) that the shop's mail server
forwards ``reply+*`` to, or is taken from a mailbox over IMAP (``services.inbound_imap``); both
hand it to ``receive``. Each mail is checked before anything is written: its address names a
request whose token is current (a renewed status link renews it), it is not an automatic
message (an out-of-office, a bounce: RFC 3834's ``Auto-Submitted``, ``Precedence``, an empty
envelope sender), it is not too large, and its files pass the checks of a portal upload. What
is refused is answered with an SMTP error, so the sender's mail server tells the customer, and
leaves no trace in the thread. A mail taken before (by its Message-ID) is accepted again without
being stored twice.

The token is the request's ``public_token``, the same secret as its status link: the address
reaches nothing the emails themselves do not already link to.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Sequence
from email import message_from_bytes, policy
from email.message import EmailMessage
from html.parser import HTMLParser

from flask import Flask, current_app
from flask_babel import force_locale
from mailparser_reply import EmailReplyParser
from sqlalchemy import select

from extensions import db
from models import Message, ReturnRequest
from services import conversation

log = logging.getLogger(__name__)

_REPLY_ADDRESS = re.compile(r"^reply\+(?P<token>[A-Za-z0-9_-]{20,64})@", re.IGNORECASE)
# A quoted history that a reply parser did not recognise by its header line: the "On … wrote:"
# line (in any language, ending in a colon) and the "> " lines after it, to the end.
_TRAILING_QUOTE = re.compile(r"(?:\n[^\n]*:[ \t]*)?(?:\n[ \t]*>[^\n]*)+\s*\Z")
_AUTOMATIC_PRECEDENCE = {"bulk", "junk", "list", "auto_reply"}


class Refused(Exception):
    """A mail that is not taken into any thread, with the SMTP reply that says why."""

    def __init__(self, code: int, status: str, reason: str) -> None:
        super().__init__(reason)
        self.smtp_reply = f"{code} {status} {reason}".encode("ascii", "replace").decode()


def reply_address(request: ReturnRequest) -> str | None:
    """Where the customer's answer to an email about ``request`` goes (None: not set up)."""
    domain = current_app.config.get("INBOUND_REPLY_DOMAIN")
    return f"reply+{request.public_token}@{domain}" if domain else None


def token_in(address: str) -> str | None:
    """The request token a reply address names, if it is one."""
    found = _REPLY_ADDRESS.match(address.strip().strip("<>"))
    return found["token"] if found else None


def receive(raw: bytes, recipients: Sequence[str], envelope_sender: str) -> None:
    """Take one inbound mail into its request's thread (the caller commits), or refuse it.

    A mail already taken (the same Message-ID, say a mailbox polled again after the connection
    dropped before the mail was flagged) is accepted without being stored again."""
    check_size(len(raw))
    mail = message_from_bytes(raw, policy=policy.default)
    if is_automatic(mail, envelope_sender):
        raise Refused(550, "5.7.1", "Automatic replies are not taken into the conversation.")
    request = request_addressed(recipients)
    if request is None:
        raise Refused(550, "5.1.1", "This reply address is unknown or no longer in use.")
    key = mail_key(mail, raw)
    if _taken_already(request, key):
        log.info("inbound mail taken already into request %s", request.id)
        return
    files = attachments_of(mail)
    body = reply_text(mail, request.language or request.shop.default_language)
    try:
        with force_locale("en"):
            message = conversation.receive_reply(request, body, files)
    except conversation.MessageRefused as refused:
        raise Refused(550, "5.7.1", str(refused)) from refused
    message.inbound_mail_key = key


def check_size(size: int) -> None:
    """Refuse a mail over ``INBOUND_MAIL_MAX_BYTES`` (a mailbox poll asks before downloading)."""
    if size > current_app.config["INBOUND_MAIL_MAX_BYTES"]:
        raise Refused(552, "5.3.4", "The message is too large.")


def mail_key(mail: EmailMessage, raw: bytes) -> str:
    """What names one mail however often it arrives: its Message-ID, else its bytes (hashed:
    a Message-ID may carry the sender's domain, and has no length limit)."""
    message_id = (mail.get("Message-ID") or "").strip()
    return hashlib.sha256(message_id.encode() if message_id else raw).hexdigest()


def _taken_already(request: ReturnRequest, key: str) -> bool:
    return (
        db.session.scalar(
            select(Message.id).where(
                Message.request_id == request.id, Message.inbound_mail_key == key
            )
        )
        is not None
    )


def is_automatic(mail: EmailMessage, envelope_sender: str) -> bool:
    """An out-of-office, a bounce or a mailing list's mail: answering it would start a loop."""
    if envelope_sender.strip("<> ") == "":
        return True
    if mail.get("Auto-Submitted", "no").strip().lower() != "no":
        return True
    if mail.get("Precedence", "").strip().lower() in _AUTOMATIC_PRECEDENCE:
        return True
    return any(mail.get(header) for header in ("X-Autoreply", "X-Autorespond", "List-Id"))


def request_addressed(recipients: Sequence[str]) -> ReturnRequest | None:
    for address in recipients:
        token = token_in(address)
        if token is not None:
            return db.session.scalar(
                select(ReturnRequest).where(ReturnRequest.public_token == token)
            )
    return None


def reply_text(mail: EmailMessage, language: str) -> str:
    """What the customer wrote this time: without the quoted history and the signature."""
    part = mail.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    text = part.get_content()
    if part.get_content_subtype() == "html":
        text = _HtmlText.of(text)
    parsed = EmailReplyParser(languages=[language, "en"]).read(text.replace("\r\n", "\n"))
    latest = parsed.replies[0].body if parsed.replies else ""
    return _TRAILING_QUOTE.sub("", "\n" + latest).strip()


class _HtmlText(HTMLParser):
    """The text of an HTML-only mail, line by line as it showed, without what it quotes
    (``<blockquote>``) or does not show."""

    _SKIPPED = frozenset({"blockquote", "head", "script", "style"})
    _BREAKS = frozenset({"br", "div", "p", "li", "tr", "h1", "h2", "h3"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    @classmethod
    def of(cls, html: str) -> str:
        reader = cls()
        reader.feed(html)
        reader.close()
        return "".join(reader.parts)

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag in self._SKIPPED:
            self.skipping += 1
        elif tag == "br":
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIPPED:
            self.skipping = max(self.skipping - 1, 0)
        elif tag in self._BREAKS and not self.skipping:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def attachments_of(mail: EmailMessage) -> list[conversation.Upload]:
    """The mail's files, to be checked exactly as the portal's uploads are."""
    return [
        conversation.Upload(name=part.get_filename() or "file", data=_decoded(part))
        for part in mail.iter_attachments()
        if isinstance(part, EmailMessage)
    ]


def _decoded(part: EmailMessage) -> bytes:
    payload = part.get_payload(decode=True)
    return payload if isinstance(payload, bytes) else b""


class InboundHandler:
    """aiosmtpd's handler for ``flask mail inbound``: a reply address is checked at RCPT, the
    mail at DATA, and a refusal is the SMTP answer."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        if token_in(address) is None:
            return "550 5.1.1 This address takes replies to ReturnDesk emails only."
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        with self.app.app_context():
            try:
                receive(envelope.original_content, envelope.rcpt_tos, envelope.mail_from or "")
                db.session.commit()
            except Refused as refused:
                db.session.rollback()
                log.info("inbound mail refused: %s", refused)
                return refused.smtp_reply
            finally:
                db.session.remove()
        return "250 2.0.0 Your reply was added to the conversation."
