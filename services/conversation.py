"""Communication with customer: messages to the customer, their replies and internal notes.

Each operation checks the text and every file before anything is stored, then writes the
``Message`` with its attachments, stamps ``last_outbound_at``/``last_inbound_at`` (they are
not statuses, so a plain UPDATE here is fine), records the audit event and writes the emails
and webhook to the outbox, all in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import update
from werkzeug.datastructures import FileStorage

from domain import audit, webhook_events
from domain.emails import queue_email
from extensions import db
from models import Attachment, Message, ReturnRequest, User, utcnow
from services import storage

OUTBOUND = "outbound"
INBOUND = "inbound"
INTERNAL = "internal"

STAFF_TYPES = storage.DOCUMENT_TYPES
CUSTOMER_TYPES = storage.IMAGE_TYPES | {"application/pdf"}
MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_FILES = 5
MAX_BODY = 5000
# Above this many bytes in total, files are linked in the email instead of attached.
MAX_ATTACHED_BYTES = 5 * 1024 * 1024


@dataclass(frozen=True)
class Upload:
    """One file as received: its name as the sender had it, and its bytes."""

    name: str
    data: bytes


class MessageRefused(ValueError):
    """The message was not written; ``errors`` maps a form field to what is wrong with it."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


def uploads_from(files: Iterable[FileStorage]) -> list[Upload]:
    """The files of a form field, skipping the empty part a browser sends for "no file"."""
    return [
        Upload(name=file.filename or "file", data=file.read())
        for file in files
        if file is not None and file.filename
    ]


def send_message(
    request: ReturnRequest, author: User | audit.Actor, body: str, files: Sequence[Upload]
) -> Message:
    """An agent (or the shop's systems, as an API key) writes to the customer, who is
    emailed in their language."""
    who = audit.as_actor(author)
    message = _write(request, OUTBOUND, who.user, body, files, STAFF_TYPES)
    _stamp(request, last_outbound_at=message.created_at)
    audit.record(request, who, "message_sent")
    _email_customer(request, message)
    return message


def add_internal_note(
    request: ReturnRequest, author: User, body: str, files: Sequence[Upload]
) -> Message:
    """A note for colleagues only: never emailed, never on the customer's status page."""
    message = _write(request, INTERNAL, author, body, files, STAFF_TYPES)
    audit.record(request, author, "note_added")
    return message


def receive_reply(request: ReturnRequest, body: str, files: Sequence[Upload]) -> Message:
    """The customer answers on the status page; the agent holding the request is told
    (``domain.notifications``), or else the shop's notification address."""
    message = _write(request, INBOUND, None, body, files, CUSTOMER_TYPES)
    _stamp(request, last_inbound_at=message.created_at)
    audit.record(request, audit.CUSTOMER, "customer_replied")
    _notify_staff(request, message)
    webhook_events.emit(
        request.shop, webhook_events.MESSAGE_RECEIVED, _webhook_payload(request, message)
    )
    return message


def visible_to_customer(request: ReturnRequest) -> list[Message]:
    """The thread as the customer sees it: everything but internal notes, oldest first."""
    return [message for message in request.messages if message.direction != INTERNAL]


def customer_attachment(request: ReturnRequest, attachment_id: int) -> Attachment | None:
    """An attachment of a message the customer may see, or None."""
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None or attachment.message is None:
        return None
    message = attachment.message
    if message.request_id != request.id or message.direction == INTERNAL:
        return None
    return attachment


def staff_attachment(request: ReturnRequest, attachment_id: int) -> Attachment | None:
    """An attachment of any message of this request (the caller checked the staff's access)."""
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None or attachment.message is None:
        return None
    return attachment if attachment.message.request_id == request.id else None


# --- writing -------------------------------------------------------------------------------


def _write(
    request: ReturnRequest,
    direction: str,
    author: User | None,
    body: str,
    files: Sequence[Upload],
    allowed: set[str],
) -> Message:
    text = (body or "").strip()
    types = _check(text, files, allowed)
    message = Message(
        request=request, direction=direction, author=author, body=text, created_at=utcnow()
    )
    db.session.add(message)
    db.session.flush()
    _store_files(message, files, types)
    db.session.flush()
    db.session.refresh(message, ["attachments"])
    return message


def _store_files(message: Message, files: Sequence[Upload], types: list[str]) -> None:
    """Store the message's files, all or none: when the store fails midway, the files stored
    already are removed and the message is refused."""
    stored: list[Attachment] = []
    try:
        for upload, content_type in zip(files, types, strict=True):
            stored.append(
                storage.save(
                    upload.data,
                    upload.name,
                    content_type,
                    message.request.shop_id,
                    request_id=message.request.id,
                    message_id=message.id,
                )
            )
    except storage.StoreUnavailable as down:
        storage.discard(stored)
        raise MessageRefused(
            {"files": _("The files could not be stored just now. Please try again in a moment.")}
        ) from down


def _check(text: str, files: Sequence[Upload], allowed: set[str]) -> list[str]:
    """Every problem at once, before anything is stored; the sniffed type of each file."""
    errors: dict[str, str] = {}
    if not text and not files:
        errors["body"] = _("Please write a message or add a file.")
    elif len(text) > MAX_BODY:
        errors["body"] = _("Please keep the message under %(count)d characters.", count=MAX_BODY)
    types: list[str] = []
    problems: list[str] = []
    if len(files) > MAX_FILES:
        problems.append(_("At most %(count)d files per message.", count=MAX_FILES))
    for upload in files:
        try:
            types.append(storage.check_upload(upload.data, allowed, MAX_FILE_BYTES))
        except storage.UploadRejected as rejected:
            problems.append(_file_problem(upload.name, str(rejected), allowed))
    if problems:
        errors["files"] = " ".join(problems)
    if errors:
        raise MessageRefused(errors)
    return types


def _file_problem(name: str, reason: str, allowed: set[str]) -> str:
    if reason == "empty":
        return _("%(name)s is empty.", name=name)
    if reason == "too_large":
        return _(
            "%(name)s is too large (at most %(size)d MB).",
            name=name,
            size=MAX_FILE_BYTES // (1024 * 1024),
        )
    if "text/plain" in allowed:
        return _("%(name)s is not a PDF, image or plain text file.", name=name)
    return _("%(name)s is not a PDF or an image.", name=name)


def _stamp(request: ReturnRequest, **moments: datetime) -> None:
    db.session.execute(
        update(ReturnRequest).where(ReturnRequest.id == request.id).values(**moments)
    )
    db.session.expire(request, list(moments))


# --- telling people ------------------------------------------------------------------------


def _email_customer(request: ReturnRequest, message: Message) -> None:
    attachments = list(message.attachments)
    attach = sum(a.size for a in attachments) <= MAX_ATTACHED_BYTES
    queue_email(
        "message_to_customer",
        request.customer_email,
        request.language,
        shop=request.shop,
        request=request,
        attachment_ids=[a.id for a in attachments] if attach else [],
        message=message,
        attachments=attachments,
        linked=not attach,
    )


def _notify_staff(request: ReturnRequest, message: Message) -> None:
    """The shop's notification address, when nobody holds the request. Whoever holds it
    (and whoever touched it last) is told by ``domain.notifications``: in the app, and by
    this same email if they chose so."""
    shop = request.shop
    if request.held_by_id is not None or not shop.notification_email:
        return
    queue_email(
        "reply_received",
        shop.notification_email,
        shop.default_language,
        shop=shop,
        request=request,
        message=message,
    )


def _webhook_payload(request: ReturnRequest, message: Message) -> dict:
    return {
        "request_number": request.number,
        "message_id": message.id,
        "body": message.body,
        "received_at": message.created_at.isoformat(),
        "attachments": [
            {"name": a.original_name, "content_type": a.content_type, "size": a.size}
            for a in message.attachments
        ],
    }
