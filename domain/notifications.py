"""Who is told of what, inside the app (the bell in the staff navbar) and by email.

Every event worth telling is already written once as an ``AuditEvent`` (``audit.record``).
``listen`` (called by ``create_app``) reads each one as its session flushes it: ``notify``
is the one place that decides which event kind tells whom, so no operation calls it.

- a new request (or a withdrawal): the members of its shop;
- a customer's reply: whoever holds the request, and the colleague who last touched it;
- a hold taken over: the colleague whose hold it was;
- a return label or an email that could not be made or sent: platform support.

Nobody is told of what they did themselves, and only of a shop they may see (``tenancy``);
failures only reach support. The rows (``models.Notification``) are read back scoped the
same way, so a colleague removed from a shop no longer sees its entries.

Each user chooses which kinds also come by email (``wants_email``). A new request's email is
the shop's staff email of ``submission`` (``User.notify_new_requests``, with the shop's own
address); a customer's reply comes as ``reply_received`` with the message; the other kinds
as ``staff_notification``, the entry's sentence and a link.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from flask_babel import force_locale
from sqlalchemy import and_, func, select, true, update
from sqlalchemy import event as sqlalchemy_event
from sqlalchemy.orm import Session

from domain import tenancy
from domain.emails import queue_email
from domain.statuses import notification_sentence
from models import (
    NOTIFICATION_KINDS,
    NOTIFY_CUSTOMER_REPLY,
    NOTIFY_EMAIL_FAILED,
    NOTIFY_HOLD_TAKEN_OVER,
    NOTIFY_LABEL_FAILED,
    NOTIFY_NEW_REQUEST,
    ON_HOLD,
    AuditEvent,
    Membership,
    Message,
    Notification,
    ReturnRequest,
    User,
    utcnow,
)

# The audit actions that tell someone, and the kind of notification each is.
KIND_OF_ACTION = {
    "submitted": NOTIFY_NEW_REQUEST,
    "withdrawal": NOTIFY_NEW_REQUEST,
    "customer_replied": NOTIFY_CUSTOMER_REPLY,
    "take_over": NOTIFY_HOLD_TAKEN_OVER,
    "label_failed": NOTIFY_LABEL_FAILED,
    "email_failed": NOTIFY_EMAIL_FAILED,
}

# Kinds only platform support is told of: what went wrong in the machinery.
SUPPORT_KINDS = (NOTIFY_LABEL_FAILED, NOTIFY_EMAIL_FAILED)

# The email that tells of the kinds without an email of their own.
STAFF_NOTIFICATION = "staff_notification"

# How many entries the notifications page lists, newest first.
PAGE_SIZE = 50


# --- who is told --------------------------------------------------------------------------


def listen() -> None:
    """Tell of every audit event any session flushes (once per process)."""
    if not sqlalchemy_event.contains(Session, "before_flush", _tell_of_new_events):
        sqlalchemy_event.listen(Session, "before_flush", _tell_of_new_events)


def _tell_of_new_events(session: Session, _context, _instances) -> None:
    for new in list(session.new):
        if isinstance(new, AuditEvent) and new.request_id and new.action in KIND_OF_ACTION:
            notify(new, session)


def notify(event: AuditEvent, session: Session) -> None:
    """Tell whoever should know of ``event`` (not flushed yet): their rows and emails."""
    kind = KIND_OF_ACTION[event.action]
    with session.no_autoflush:
        request = session.get(ReturnRequest, event.request_id)
        if request is None:
            return
        if event.actor_id is not None and event.actor is None:
            event.actor = session.get(User, event.actor_id)  # its name, for the emails
        for user in RECIPIENTS[kind](event, request, session):
            if _may_be_told(user, kind, request.shop_id) and user.id != event.actor_id:
                session.add(
                    Notification(
                        user_id=user.id,
                        request_id=request.id,
                        kind=kind,
                        audit_event=event,
                        created_at=event.created_at or utcnow(),
                    )
                )
                if wants_email(user, kind) and _emailed_here(kind, event):
                    _email(user, kind, event, request, session)


def wants_email(user: User, kind: str) -> bool:
    """Whether ``user`` chose to get this kind by email too."""
    if kind == NOTIFY_NEW_REQUEST:
        return bool(user.notify_new_requests)
    return kind in (user.email_notifications or ())


def _emailed_here(kind: str, event: AuditEvent) -> bool:
    """A new request is emailed with the submission; an email about an email that failed
    is never itself reported by email (if that one failed too, support would hear of it,
    and so on)."""
    if kind == NOTIFY_NEW_REQUEST:
        return False
    return not (kind == NOTIFY_EMAIL_FAILED and event.note == STAFF_NOTIFICATION)


def _email(
    user: User, kind: str, event: AuditEvent, request: ReturnRequest, session: Session
) -> None:
    language = user.language or request.shop.default_language
    if kind == NOTIFY_CUSTOMER_REPLY:
        message = session.scalar(
            select(Message)
            .where(Message.request_id == request.id)
            .order_by(Message.id.desc())
            .limit(1)
        )
        queue_email(
            "reply_received",
            user.email,
            language,
            shop=request.shop,
            request=request,
            message=message,
        )
        return
    with force_locale(language):
        sentence = notification_sentence(kind, event, request.number, request.customer_name)
    queue_email(
        STAFF_NOTIFICATION,
        user.email,
        language,
        shop=request.shop,
        request=request,
        user=user,
        notification=sentence,
    )


def email_choices(user: User) -> list[str]:
    """The kinds ``user`` gets by email, of those they may be told of."""
    return [kind for kind in kinds_for(user) if wants_email(user, kind)]


def kinds_for(user: User) -> tuple[str, ...]:
    """The kinds ``user`` may be told of: failures for support only, new requests for the
    members of a shop."""
    return tuple(
        kind
        for kind in NOTIFICATION_KINDS
        if (user.is_support or kind not in SUPPORT_KINDS)
        and (user.memberships or kind != NOTIFY_NEW_REQUEST)
    )


def choose_emails(user: User, kinds: Iterable[str]) -> None:
    """Keep the user's choice of the kinds that also come by email."""
    chosen = set(kinds) & set(kinds_for(user))
    user.notify_new_requests = NOTIFY_NEW_REQUEST in chosen
    user.email_notifications = [
        k for k in NOTIFICATION_KINDS if k in chosen and k != NOTIFY_NEW_REQUEST
    ]


def _may_be_told(user: User, kind: str, shop_id: int) -> bool:
    if not user.active:
        return False
    if kind in SUPPORT_KINDS:
        return user.is_support
    return tenancy.may_touch(user, shop_id)


def _shop_members(event: AuditEvent, request: ReturnRequest, session: Session) -> list[User]:
    """The shop's agents and admins. Support is not told of every shop's every request."""
    return list(
        session.scalars(
            select(User)
            .join(Membership, Membership.user_id == User.id)
            .where(Membership.shop_id == request.shop_id)
        )
    )


def _holder_and_last_toucher(
    event: AuditEvent, request: ReturnRequest, session: Session
) -> list[User]:
    """Who holds the request, and the colleague whose event on it is the latest."""
    ids = {request.held_by_id} if request.status == ON_HOLD and request.held_by_id else set()
    last = session.scalar(
        select(AuditEvent.actor_id)
        .where(AuditEvent.request_id == request.id, AuditEvent.actor_id.is_not(None))
        .order_by(AuditEvent.id.desc())
        .limit(1)
    )
    if last is not None:
        ids.add(last)
    return _users(session, ids)


def _previous_holder(event: AuditEvent, request: ReturnRequest, session: Session) -> list[User]:
    """Whose hold was taken over: the latest colleague other than the taker to hold it (or
    take it over). Read from the history, as the request already names the new holder."""
    previous = session.scalar(
        select(AuditEvent.actor_id)
        .where(
            AuditEvent.request_id == request.id,
            AuditEvent.action.in_(("hold", "take_over")),
            AuditEvent.actor_id.is_not(None),
            AuditEvent.actor_id != event.actor_id,
        )
        .order_by(AuditEvent.id.desc())
        .limit(1)
    )
    return _users(session, {previous} if previous is not None else set())


def _support(event: AuditEvent, request: ReturnRequest, session: Session) -> list[User]:
    return list(session.scalars(select(User).where(User.is_support.is_(True))))


def _users(session: Session, ids: Iterable[int]) -> list[User]:
    ids = set(ids)
    if not ids:
        return []
    return list(session.scalars(select(User).where(User.id.in_(ids))))


RECIPIENTS: dict[str, Callable[[AuditEvent, ReturnRequest, Session], list[User]]] = {
    NOTIFY_NEW_REQUEST: _shop_members,
    NOTIFY_CUSTOMER_REPLY: _holder_and_last_toucher,
    NOTIFY_HOLD_TAKEN_OVER: _previous_holder,
    NOTIFY_LABEL_FAILED: _support,
    NOTIFY_EMAIL_FAILED: _support,
}


# --- what a user reads --------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One notification as the notifications page lists it."""

    id: int
    kind: str
    sentence: str
    request_id: int
    at: datetime
    read: bool


def _visible_to(user: User):
    """The rows ``user`` may still see: of their shops now, failures for support only."""
    shops = tenancy.shops_for(user)
    kinds = true() if user.is_support else Notification.kind.not_in(SUPPORT_KINDS)
    return (
        Notification.user_id == user.id,
        tenancy.of_shops(ReturnRequest.shop_id, shops),
        kinds,
    )


def unread_count(session: Session, user: User) -> int:
    """The number on the bell."""
    return (
        session.scalar(
            select(func.count(Notification.id))
            .join(ReturnRequest, ReturnRequest.id == Notification.request_id)
            .where(*_visible_to(user), Notification.read_at.is_(None))
        )
        or 0
    )


def entries(session: Session, user: User, limit: int = PAGE_SIZE) -> list[Entry]:
    """The user's latest notifications, newest first, as sentences in the reader's language."""
    rows = session.execute(
        select(Notification, AuditEvent, ReturnRequest.number, ReturnRequest.customer_name)
        .join(ReturnRequest, ReturnRequest.id == Notification.request_id)
        .join(AuditEvent, AuditEvent.id == Notification.audit_event_id)
        .where(*_visible_to(user))
        .order_by(Notification.id.desc())
        .limit(limit)
    ).all()
    return [
        Entry(
            id=note.id,
            kind=note.kind,
            sentence=notification_sentence(note.kind, event, number, customer),
            request_id=note.request_id,
            at=note.created_at,
            read=note.read_at is not None,
        )
        for note, event, number, customer in rows
    ]


def open_entry(session: Session, user: User, notification_id: int) -> int | None:
    """Read one entry (and the others of its request): the request to open, or ``None``
    when the entry is not the user's to see."""
    request_id = session.scalar(
        select(Notification.request_id)
        .join(ReturnRequest, ReturnRequest.id == Notification.request_id)
        .where(*_visible_to(user), Notification.id == notification_id)
    )
    if request_id is not None:
        read_request(session, user, request_id)
    return request_id


def read_request(session: Session, user: User, request_id: int) -> int:
    """The user opened the request: its entries are read. Returns how many were unread."""
    return _mark_read(session, user, Notification.request_id == request_id)


def read_request_and_count(session: Session, user: User, request_id: int) -> tuple[int, int]:
    """The user opened the request's page: its entries are read (``read_request``). Returns
    how many of them were unread, and the bell's count after (``unread_count``).

    Both are counted in one query, which is all it takes when none of the request's entries
    was unread, the usual case on a page opened again and again."""
    visible = and_(*_visible_to(user))
    of_request = Notification.request_id == request_id
    unread = func.count(Notification.id)
    bell, shown_of_request, of_request_unread = session.execute(
        select(
            unread.filter(visible),
            unread.filter(visible, of_request),
            unread.filter(of_request),
        )
        .join(ReturnRequest, ReturnRequest.id == Notification.request_id)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
    ).one()
    if not of_request_unread:
        return 0, bell
    return read_request(session, user, request_id), bell - shown_of_request


def read_all(session: Session, user: User) -> int:
    """The user chose "Mark all read": returns how many were unread."""
    return _mark_read(session, user, true())


def _mark_read(session: Session, user: User, which) -> int:
    result = session.execute(
        update(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None), which)
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0  # type: ignore[attr-defined]
