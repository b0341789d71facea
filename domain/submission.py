"""Creating a return request from the portal: what is still returnable, and the submission.

Creating a request in status ``new`` is creation, not a transition, so it happens here;
every later status change goes through workflow.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from domain import audit, webhook_events, workflow
from domain.emails import queue_email
from extensions import db
from models import (
    APPROVED,
    COMPLETED,
    LABEL_CREATED,
    NEW,
    OPEN_STATUSES,
    Attachment,
    Order,
    OrderLine,
    ReturnReason,
    ReturnRequest,
    ReturnRequestLine,
    Shop,
    next_request_number,
    users_of_shop,
    utcnow,
)

# Requests in these statuses claim their units: a second request cannot return them again.
CLAIMING_STATUSES = (*OPEN_STATUSES, APPROVED, LABEL_CREATED, COMPLETED)
# The EU Consumer Rights Directive: the shop refunds within 14 days of the withdrawal.
WITHDRAWAL_REFUND_DAYS = 14


class SubmissionRefused(ValueError):
    """The chosen lines are no longer returnable (changed since the customer chose them)."""


@dataclass
class LineState:
    """One order line as the portal shows it: how many units may still go back, and until when."""

    line: OrderLine
    returnable: int
    window_closes_at: datetime | None
    window_closed: bool

    @property
    def selectable(self) -> bool:
        return self.returnable > 0 and not self.window_closed


@dataclass
class ChosenLine:
    """A line of the customer's draft: the order line, how many, why, and the stored photos."""

    order_line_id: int
    quantity: int
    reason_id: int | None = None
    comment: str = ""
    photo_ids: list[int] = field(default_factory=list)


def aware(moment: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything is stored as UTC."""
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


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
        matches = bool(order.customer_postcode) and normalize_postcode(
            order.customer_postcode
        ) == normalize_postcode(secret)
    return order if matches else None


def claimed_quantities(order: Order) -> dict[int, int]:
    """``{order_line_id: units}`` already claimed by the order's open, approved or done requests."""
    rows = db.session.execute(
        select(ReturnRequestLine.order_line_id, func.sum(ReturnRequestLine.quantity))
        .join(ReturnRequest)
        .where(ReturnRequest.order_id == order.id, ReturnRequest.status.in_(CLAIMING_STATUSES))
        .group_by(ReturnRequestLine.order_line_id)
    )
    return {line_id: int(total or 0) for line_id, total in rows}


def return_window_closes_at(order: Order, shop: Shop) -> datetime | None:
    """The end of the shop's return window, counted from delivery; ``None`` before delivery."""
    delivered = aware(order.delivered_at)
    if delivered is None:
        return None
    return delivered + timedelta(days=shop.return_window_days)


def line_states(order: Order, shop: Shop, now: datetime | None = None) -> list[LineState]:
    """Every line of the order with its returnable quantity and return window."""
    now = now or utcnow()
    claimed = claimed_quantities(order)
    closes_at = return_window_closes_at(order, shop)
    delivered = order.delivered_at is not None
    return [
        LineState(
            line=line,
            returnable=max(0, line.quantity - claimed.get(line.id, 0)) if delivered else 0,
            window_closes_at=closes_at,
            window_closed=closes_at is not None and now > closes_at,
        )
        for line in order.lines
    ]


def withdrawable_quantities(order: Order) -> dict[int, int]:
    """``{order_line_id: units}`` a withdrawal may still cover: delivered or not, minus claims."""
    claimed = claimed_quantities(order)
    return {line.id: max(0, line.quantity - claimed.get(line.id, 0)) for line in order.lines}


def withdrawal_possible(order: Order, shop: Shop, now: datetime | None = None) -> bool:
    """Inside the withdrawal period: not yet delivered, or delivered at most N days ago."""
    now = now or utcnow()
    delivered = aware(order.delivered_at)
    if delivered is None:
        return True
    return now <= delivered + timedelta(days=shop.withdrawal_window_days)


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


def check_quantities(
    order: Order, shop: Shop, chosen: list[ChosenLine], *, withdrawal: bool = False
) -> None:
    """Refuse lines that are not the order's, or more units than are still returnable."""
    if not chosen:
        raise SubmissionRefused("no_lines")
    if withdrawal and not withdrawal_possible(order, shop):
        raise SubmissionRefused("withdrawal_period")
    closes_at = return_window_closes_at(order, shop)
    if not withdrawal and (closes_at is None or utcnow() > closes_at):
        raise SubmissionRefused("window")
    claimed = claimed_quantities(order)
    lines = {line.id: line for line in order.lines}
    for choice in chosen:
        line = lines.get(choice.order_line_id)
        if line is None or choice.quantity < 1:
            raise SubmissionRefused("unknown_line")
        delivered = line.quantity if (order.delivered_at or withdrawal) else 0
        if choice.quantity > delivered - claimed.get(line.id, 0):
            raise SubmissionRefused("quantity")


def create_request(
    shop: Shop,
    order: Order,
    chosen: list[ChosenLine],
    *,
    resolution: str,
    language: str,
    submission_key: str,
    exchange_note: str = "",
    answers: dict | None = None,
    answer_attachment_ids: list[int] | None = None,
    is_withdrawal: bool = False,
) -> ReturnRequest:
    """Create and commit the request, its lines, photos, audit event, notices and emails.

    Submitting twice with the same ``submission_key`` (back button, double click) returns the
    request the first submission created instead of creating a second one.
    """
    try:
        request = build_request(
            shop,
            order,
            chosen,
            resolution=resolution,
            language=language,
            submission_key=submission_key,
            exchange_note=exchange_note,
            answers=answers,
            answer_attachment_ids=answer_attachment_ids,
            is_withdrawal=is_withdrawal,
        )
        db.session.commit()
    except (IntegrityError, SubmissionRefused):
        # A simultaneous submission of the same form may have won the race: show its request.
        db.session.rollback()
        if existing := request_for_key(shop, submission_key):
            return existing
        raise
    return request


def build_request(
    shop: Shop,
    order: Order,
    chosen: list[ChosenLine],
    *,
    resolution: str,
    language: str,
    submission_key: str,
    exchange_note: str,
    answers: dict | None,
    answer_attachment_ids: list[int] | None,
    is_withdrawal: bool,
) -> ReturnRequest:
    """Add the request and everything that comes with it to the session, uncommitted."""
    # Lock the order so two submissions at once cannot both claim the last unit.
    db.session.execute(select(Order.id).where(Order.id == order.id).with_for_update())
    if existing := request_for_key(shop, submission_key):
        return existing
    check_quantities(order, shop, chosen, withdrawal=is_withdrawal)
    request = new_request(shop, order, chosen, resolution, language, submission_key)
    request.exchange_note = (exchange_note or None) if resolution == "exchange" else None
    request.answers = answers or {}
    request.is_withdrawal = is_withdrawal
    db.session.add(request)
    db.session.flush()
    add_lines(request, order, chosen)
    link_attachments(shop, answer_attachment_ids or [], request_id=request.id)
    customer = audit.Actor(label=f"{order.customer_name} <{order.customer_email}>")
    action = "withdrawal" if is_withdrawal else "submitted"
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


def add_lines(request: ReturnRequest, order: Order, chosen: list[ChosenLine]) -> None:
    reasons = set(
        db.session.scalars(select(ReturnReason.id).where(ReturnReason.shop_id == order.shop_id))
    )
    for choice in chosen:
        line = ReturnRequestLine(
            request_id=request.id,
            order_line_id=choice.order_line_id,
            quantity=choice.quantity,
            reason_id=choice.reason_id if choice.reason_id in reasons else None,
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


def queue_submission_emails(request: ReturnRequest) -> None:
    """The customer's confirmation (or withdrawal acknowledgement) and the staff notifications."""
    shop = request.shop
    customer_template = (
        "withdrawal_acknowledgement" if request.is_withdrawal else "request_confirmation"
    )
    queue_email(
        customer_template,
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
