"""Creating a return request, from the portal or the API, once the rule book accepts it.

What may still be returned and every rule a submission follows live in submission_rules.py.
Creating a request in status ``new`` is creation, not a transition, so it happens here;
every later status change goes through workflow.py.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from domain import audit, webhook_events, workflow
from domain.emails import queue_email
from domain.submission_rules import (
    ChosenLine,
    Submission,
    SubmissionRefused,
    aware,
    check_submission,
)
from extensions import db
from models import (
    NEW,
    Attachment,
    Order,
    OrderLine,
    ReturnRequest,
    ReturnRequestLine,
    Shop,
    next_request_number,
    users_of_shop,
)

# The EU Consumer Rights Directive: the shop refunds within 14 days of the withdrawal.
WITHDRAWAL_REFUND_DAYS = 14


def normalize_postcode(value: str) -> str:
    return "".join(value.split()).upper()


def find_order(shop: Shop, number: str, email_or_postcode: str) -> Order | None:
    """The shop's order with this number whose email or postcode matches; else ``None``.

    Only this shop's orders are searched, so an order of another shop is never found.
    """
    number = number.strip().lstrip("#").strip()
    secret = email_or_postcode.strip()
    if not number or not secret:
        return None
    # An IN over the usual spellings keeps the (shop_id, number) index usable.
    spellings = {number, number.upper(), number.lower()}
    order = db.session.scalar(
        select(Order).where(Order.shop_id == shop.id, Order.number.in_(spellings)).limit(1)
    )
    if order is None:
        return None
    if "@" in secret:
        matches = order.customer_email.strip().lower() == secret.lower()
    else:
        postcode = order.customer_postcode
        matches = bool(postcode) and normalize_postcode(postcode or "") == normalize_postcode(
            secret
        )
    return order if matches else None


def withdrawal_refund_deadline(request: ReturnRequest) -> datetime | None:
    """The date by which the shop must refund a withdrawal (14 days after it was made)."""
    if not request.is_withdrawal:
        return None
    return aware(request.created_at) + timedelta(days=WITHDRAWAL_REFUND_DAYS)


def request_for_key(shop: Shop, submission_key: str) -> ReturnRequest | None:
    """The request an earlier click of the same submit button already created, if any."""
    if not submission_key:
        return None
    return db.session.scalar(
        select(ReturnRequest).where(
            ReturnRequest.shop_id == shop.id, ReturnRequest.submission_key == submission_key
        )
    )


def create_request(
    shop: Shop, order: Order, submission: Submission, *, submission_key: str
) -> ReturnRequest:
    """Check the submission against the rule book, then create and commit the request, its
    lines, photos, audit event, notices and emails; raises ``SubmissionRefused``.

    Submitting twice with the same ``submission_key`` (back button, double click) returns the
    request the first submission created instead of creating a second one.
    """
    try:
        request = build_request(shop, order, submission, submission_key=submission_key)
        db.session.commit()
    except (IntegrityError, SubmissionRefused):
        # A simultaneous submission of the same form may have won the race: show its request.
        db.session.rollback()
        if existing := request_for_key(shop, submission_key):
            return existing
        raise
    return request


def build_request(
    shop: Shop, order: Order, submission: Submission, *, submission_key: str
) -> ReturnRequest:
    """Add the request and everything that comes with it to the session, uncommitted."""
    # Lock the order so two submissions at once cannot both claim the last unit.
    db.session.execute(select(Order.id).where(Order.id == order.id).with_for_update())
    if existing := request_for_key(shop, submission_key):
        return existing
    valid = check_submission(shop, order, submission)
    request = new_request(
        shop, order, valid.lines, valid.resolution, valid.language, submission_key
    )
    request.exchange_note = valid.exchange_note
    request.answers = valid.answers
    request.is_withdrawal = valid.is_withdrawal
    db.session.add(request)
    db.session.flush()
    add_lines(request, valid.lines)
    link_attachments(shop, valid.answer_attachment_ids, request_id=request.id)
    customer = audit.Actor(label=f"{order.customer_name} <{order.customer_email}>")
    action = "withdrawal" if valid.is_withdrawal else "submitted"
    audit.record(request, customer, action, to_status=NEW)
    workflow.run_notice_rules(request, "submitted")
    queue_submission_emails(request)
    webhook_events.announce_request(request)
    return request


def new_request(
    shop: Shop,
    order: Order,
    chosen: list[ChosenLine],
    resolution: str,
    language: str,
    submission_key: str,
) -> ReturnRequest:
    lines = {line.id: line for line in order.lines}
    return ReturnRequest(
        number=next_request_number(),
        shop_id=shop.id,
        order_id=order.id,
        order_number=order.number,
        customer_name=order.customer_name,
        customer_email=order.customer_email,
        language=language,
        status=NEW,
        resolution=resolution,
        free_shipping=shop.ships_free(resolution),
        total_cents=sum(line_value(lines[c.order_line_id], c.quantity) for c in chosen),
        item_count=sum(c.quantity for c in chosen),
        submission_key=submission_key,
    )


def line_value(line: OrderLine, quantity: int) -> int:
    """What ``quantity`` units of the line cost the customer, its discount shared per unit."""
    return round(line.total_cents * quantity / line.quantity) if line.quantity else 0


def add_lines(request: ReturnRequest, lines: list[ChosenLine]) -> None:
    """The request's lines with their photos (the rule book has checked reasons and photos)."""
    for choice in lines:
        line = ReturnRequestLine(
            request_id=request.id,
            order_line_id=choice.order_line_id,
            quantity=choice.quantity,
            reason_id=choice.reason_id,
            comment=choice.comment or None,
        )
        request.lines.append(line)
        db.session.flush()
        link_attachments(
            request.shop, choice.photo_ids, request_id=request.id, request_line_id=line.id
        )


def link_attachments(shop: Shop, ids: list[int], **links: int) -> None:
    """Attach files stored during the draft; only the shop's files not yet linked elsewhere."""
    if not ids:
        return
    for attachment in db.session.scalars(
        select(Attachment).where(
            Attachment.id.in_(ids),
            Attachment.shop_id == shop.id,
            Attachment.request_id.is_(None),
            Attachment.message_id.is_(None),
        )
    ):
        for name, value in links.items():
            setattr(attachment, name, value)


def confirmation_template(request: ReturnRequest) -> str:
    """The customer's first email: the withdrawal acknowledgement or the confirmation."""
    return "withdrawal_acknowledgement" if request.is_withdrawal else "request_confirmation"


def resend_confirmation(request: ReturnRequest) -> None:
    """The customer asked for the link to an earlier request of the order (its items are
    taken): the first email again, to the address of that request, never shown on the page."""
    queue_email(
        confirmation_template(request),
        request.customer_email,
        request.language,
        shop=request.shop,
        request=request,
        asked_by_customer=True,
    )
    audit.record(request, audit.CUSTOMER, "link_resent")


def queue_submission_emails(request: ReturnRequest) -> None:
    """The customer's confirmation (or withdrawal acknowledgement) and the staff notifications."""
    shop = request.shop
    queue_email(
        confirmation_template(request),
        request.customer_email,
        request.language,
        shop=shop,
        request=request,
    )
    for address, language in staff_recipients(shop):
        queue_email(
            "request_new_staff",
            address,
            language,
            shop=shop,
            request=request,
            refund_deadline=withdrawal_refund_deadline(request),
        )


def staff_recipients(shop: Shop) -> list[tuple[str, str]]:
    """The shop's notification address plus members who opted in, each once, with a language."""
    recipients: dict[str, str] = {}
    if shop.notification_email:
        recipients[shop.notification_email.strip().lower()] = shop.default_language
    for user in users_of_shop(shop.id):
        if user.notify_new_requests and user.active:
            recipients.setdefault(user.email.lower(), user.language or shop.default_language)
    return list(recipients.items())
