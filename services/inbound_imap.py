"""Customers' replies by email taken from a mailbox over IMAP: the other way in, next to the
SMTP endpoint of ``flask mail inbound``, for a mail host that can deliver ``reply+*`` to a
mailbox but not forward it to a program.

``INBOUND_IMAP_URL`` names the mailbox, ``imaps://user:password@host:993/INBOX``. Each poll
(``flask mail poll``, or the workers every ``INBOUND_IMAP_EVERY`` seconds) takes every unseen
mail of the folder through ``inbound_mail.receive``, the same check and the same thread as a
mail over SMTP. The request is named by the address the mail was delivered for (an IMAP
mailbox has no envelope): ``X-Original-To``, ``Delivered-To``, then ``To`` and ``Cc``; the
envelope sender (empty for a bounce) is the ``Return-Path`` the delivering server wrote.

What happens to a mail in the mailbox:
- taken into a thread: committed first, then flagged ``\\Seen \\Deleted``; every poll ends by
  expunging the folder (the reply lives on in ReturnDesk, under the shop's retention rules);
- refused (unknown or renewed address, automatic, too large, a file the portal refuses): flagged
  ``\\Seen`` and left in the folder for whoever looks after the mailbox: nobody else is told,
  as there is no SMTP answer to give;
- failed (the database or the file store is down): left unseen, tried again at the next poll.

A poll that stops halfway (the connection drops) loses nothing: a mail committed but not yet
flagged is found again next time, and ``receive`` knows it by its Message-ID and stores it once.

The mailbox is the operator's setting, like ``MAIL_SERVER``: it is not checked against private
addresses as the shops' webhook and platform URLs are (``services.outbound``), since a mail
server on the same host or network is the usual case. ``MAIL_TIMEOUT`` bounds every wait.
"""

from __future__ import annotations

import imaplib
import logging
import re
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.utils import getaddresses
from urllib.parse import unquote, urlsplit

from flask import current_app
from sqlalchemy.exc import IntegrityError

from extensions import db
from services import inbound_mail

log = logging.getLogger(__name__)

DEFAULT_PORTS = {"imap": 143, "imaps": 993}
# Where a mailbox notes the address a mail was delivered for, most telling first.
RECIPIENT_HEADERS = ("X-Original-To", "Delivered-To", "To", "Cc")
_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")

TAKEN, REFUSED, FAILED = "taken", "refused", "failed"


class MailboxUnavailable(Exception):
    """The mailbox could not be reached, logged into or read to the end; nothing was lost."""


@dataclass(frozen=True)
class Mailbox:
    host: str
    port: int
    tls: bool
    username: str
    password: str = field(repr=False)
    folder: str

    @classmethod
    def from_url(cls, url: str) -> Mailbox:
        """``imaps://user:password@host[:port][/folder]`` (``imap://``: without TLS, for a
        server on the same host); user, password and folder percent-encoded."""
        parts = urlsplit(url)
        if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
            raise ValueError("INBOUND_IMAP_URL must be imaps://user:password@host:port/folder")
        if parts.username is None or parts.password is None:
            raise ValueError("INBOUND_IMAP_URL must name the mailbox's user and password")
        return cls(
            host=parts.hostname,
            port=parts.port or DEFAULT_PORTS[parts.scheme],
            tls=parts.scheme == "imaps",
            username=unquote(parts.username),
            password=unquote(parts.password),
            folder=unquote(parts.path.lstrip("/")) or "INBOX",
        )

    def __str__(self) -> str:
        return f"{self.username}@{self.host}:{self.port}/{self.folder}"


@dataclass
class PollOutcome:
    taken: int = 0
    refused: int = 0
    failed: int = 0

    def count(self, verdict: str) -> None:
        setattr(self, verdict, getattr(self, verdict) + 1)


def configured() -> bool:
    return bool(current_app.config.get("INBOUND_IMAP_URL"))


def poll() -> PollOutcome:
    """Take every unseen mail of the configured mailbox; raises ``MailboxUnavailable`` when
    the mailbox cannot be read (the mails stay where they are for the next poll)."""
    mailbox = Mailbox.from_url(current_app.config["INBOUND_IMAP_URL"])
    outcome = PollOutcome()
    try:
        with _session(mailbox) as imap:
            for uid in _unseen(imap):
                if verdict := _take(imap, uid):
                    outcome.count(verdict)
            _ok(imap.expunge(), "EXPUNGE")
    except (imaplib.IMAP4.error, OSError) as error:
        raise MailboxUnavailable(f"mailbox {mailbox}: {error}") from error
    log.info("mailbox %s polled: %s", mailbox, outcome)
    return outcome


@contextmanager
def _session(mailbox: Mailbox) -> Iterator[imaplib.IMAP4]:
    timeout = current_app.config["MAIL_TIMEOUT"]
    imap = (
        imaplib.IMAP4_SSL(
            mailbox.host, mailbox.port, ssl_context=ssl.create_default_context(), timeout=timeout
        )
        if mailbox.tls
        else imaplib.IMAP4(mailbox.host, mailbox.port, timeout=timeout)
    )
    try:
        imap.login(mailbox.username, mailbox.password)
        _ok(imap.select(_quoted(mailbox.folder)), "SELECT")
        yield imap
    finally:
        _log_out(imap)


def _log_out(imap: imaplib.IMAP4) -> None:
    try:
        imap.logout()
    except (imaplib.IMAP4.error, OSError):
        log.debug("mailbox logout failed; the connection is closed anyway")


def _unseen(imap: imaplib.IMAP4) -> list[str]:
    data = _ok(imap.uid("SEARCH", "UNSEEN"), "SEARCH")
    return data[0].decode().split() if data and data[0] else []


def _take(imap: imaplib.IMAP4, uid: str) -> str | None:
    """One mail: committed into its thread or refused, then flagged (a failure: left unseen);
    None when another client removed it meanwhile."""
    size = _size(imap, uid)
    if size is None:
        return None
    try:
        inbound_mail.check_size(size)
        verdict = _receive(_fetch(imap, uid))
    except inbound_mail.Refused as refused:
        log.info("mailbox reply refused: %s", refused)
        verdict = REFUSED
    if verdict == TAKEN:
        _flag(imap, uid, r"(\Seen \Deleted)")
    elif verdict == REFUSED:
        _flag(imap, uid, r"(\Seen)")
    return verdict


def _receive(raw: bytes) -> str:
    headers = BytesHeaderParser(policy=policy.default).parsebytes(raw)
    try:
        inbound_mail.receive(raw, recipients_of(headers), envelope_sender_of(headers))
        db.session.commit()
    except inbound_mail.Refused as refused:
        db.session.rollback()
        log.info("mailbox reply refused: %s", refused)
        return REFUSED
    except IntegrityError:
        db.session.rollback()
        log.info("mailbox reply taken at the same moment by another poll")
    except Exception:
        db.session.rollback()
        log.exception("mailbox reply not taken; trying again at the next poll")
        return FAILED
    return TAKEN


def recipients_of(headers: EmailMessage) -> list[str]:
    """The addresses a mail was delivered for, as its mailbox recorded them."""
    values = [str(value) for name in RECIPIENT_HEADERS for value in headers.get_all(name, [])]
    return [address for _name, address in getaddresses(values) if address]


def envelope_sender_of(headers: EmailMessage) -> str:
    """The envelope sender the delivering server noted (``<>`` for a bounce); a mailbox that
    notes none leaves the From address."""
    return str(headers.get("Return-Path") or headers.get("From") or "")


def _size(imap: imaplib.IMAP4, uid: str) -> int | None:
    data = _ok(imap.uid("FETCH", uid, "(RFC822.SIZE)"), "FETCH")
    found = next((_SIZE.search(item) for item in data if isinstance(item, bytes)), None)
    return int(found[1]) if found else None


def _fetch(imap: imaplib.IMAP4, uid: str) -> bytes:
    """The whole mail, without marking it seen (``BODY.PEEK``): it is flagged once decided."""
    data = _ok(imap.uid("FETCH", uid, "(BODY.PEEK[])"), "FETCH")
    for item in data:
        if isinstance(item, tuple):
            return item[1]
    raise imaplib.IMAP4.error(f"FETCH of UID {uid} returned no message")


def _flag(imap: imaplib.IMAP4, uid: str, flags: str) -> None:
    _ok(imap.uid("STORE", uid, "+FLAGS.SILENT", flags), "STORE")


def _ok(answer: tuple[str, list], command: str) -> list:
    status, data = answer
    if status != "OK":
        raise imaplib.IMAP4.error(f"{command} answered {status}: {data!r}")
    return data


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'
