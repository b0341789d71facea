"""The staff's request page as plain data: the request, its items, notices, thread, returns,
history and settlement, and what the user may do to it now.

Built once per page; the template only prints it (templates never see an ORM object). The
request row comes in one query with what the rules read (its shop, order, holder, stage,
lines and returns), so ``workflow.allowed_actions`` and ``settlement_summary`` ask nothing
more, and with its notices (a request has few, and few lines: the joined rows stay few).
The thread with its files, the history and the stages are one indexed query each; the
refunds only once there can be any.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from markupsafe import Markup
from sqlalchemy import Row, select
from sqlalchemy.orm import Query, joinedload

from domain import workflow
from domain.formatting import language
from domain.settlement import Settlement, resolved_return, settlement_summary
from domain.statuses import (
    SEVERITY_BADGES,
    decision_badge,
    history_sentence,
    label_badge,
    return_badge,
    status_badge,
)
from domain.submission import withdrawal_refund_deadline
from extensions import db
from models import (
    RETURN_CANCELLED,
    Attachment,
    AuditEvent,
    Message,
    Notice,
    NoticeRule,
    Refund,
    Return,
    ReturnRequest,
    ReturnRequestLine,
    ReviewStage,
    User,
)
from services.labels import carrier_name


@dataclass(frozen=True)
class PageShop:
    """The request's shop: its name, and its zone for the times (``shop_time``)."""

    id: int
    name: str
    time_zone: str


@dataclass(frozen=True)
class PageStage:
    id: int
    name: str
    color: str


@dataclass(frozen=True)
class PageNotice:
    text: str
    # The alert's colour (``SEVERITY_BADGES``).
    css: str
    # The rule that raised it, or the colleague who added it by hand ("" when neither).
    rule_name: str
    author_name: str


@dataclass(frozen=True)
class PageFile:
    id: int
    name: str
    size: int


@dataclass(frozen=True)
class PageLine:
    id: int
    product_name: str
    variant: str
    quantity: int
    # The customer's reason in the reader's language, "" without one.
    reason: str
    comment: str
    photo_ids: tuple[int, ...]
    decision: str
    decision_reason: str
    # The decision's badge once decided (approved or rejected), else "".
    decision_badge: Markup


@dataclass(frozen=True)
class PageMessage:
    # outbound, inbound or internal
    direction: str
    # The colleague who wrote it, else the customer (inbound) or the shop.
    sender: str
    body: str
    created_at: datetime
    files: tuple[PageFile, ...]


@dataclass(frozen=True)
class PageReturn:
    id: int
    number: str
    # The return's status once cancelled, else its label's state, as a badge.
    badge: Markup
    tracking_number: str


@dataclass(frozen=True)
class HistoryEntry:
    """An audit event as ``admin/_history.html`` shows it (``history_entries``)."""

    at: datetime
    sentence: str


@dataclass(frozen=True)
class RequestPage:
    """Everything the request page shows of one request, for the current user."""

    id: int
    number: str
    version: int
    status: str
    status_badge: Markup
    stage_id: int | None
    stage: PageStage | None
    shop: PageShop
    customer_name: str
    customer_email: str
    language: str
    order_number: str
    delivered_at: datetime | None
    created_at: datetime
    resolution: str
    exchange_note: str
    free_shipping: bool
    is_withdrawal: bool
    # The date a withdrawal must be refunded by; None for any other request.
    refund_deadline: datetime | None
    ship_by_at: datetime | None
    ship_by_reminded_at: datetime | None
    cancel_reason: str
    answers: dict[str, Any]
    customer_replied: bool
    awaiting_customer: bool
    held_by_id: int | None
    held_by_name: str
    held_since: datetime | None
    # The hold is older than the shop allows: anyone may take it over.
    stale: bool
    lines: tuple[PageLine, ...]
    notices: tuple[PageNotice, ...]
    messages: tuple[PageMessage, ...]
    returns: tuple[PageReturn, ...]
    # The review stages the request may move to (its shop's), when it may move.
    stages: tuple[PageStage, ...]
    timeline: tuple[HistoryEntry, ...]
    # What the user may do now (``workflow.allowed_actions``).
    actions: frozenset[str]
    settlement: Settlement


def load(scoped: Query, request_id: int) -> ReturnRequest | None:
    """The request (``scoped`` keeps it to the user's shops) with everything the rules read
    (its shop, order, holder, stage, lines with their order lines, reasons and photos' ids,
    and returns) and its notices with their rules' and authors' names, in one query."""
    lines = joinedload(ReturnRequest.lines)
    return (
        scoped.filter(ReturnRequest.id == request_id)
        .options(
            joinedload(ReturnRequest.shop),
            joinedload(ReturnRequest.order),
            joinedload(ReturnRequest.held_by),
            joinedload(ReturnRequest.stage),
            lines.joinedload(ReturnRequestLine.order_line),
            lines.joinedload(ReturnRequestLine.reason),
            lines.joinedload(ReturnRequestLine.photos).load_only(Attachment.id),
            joinedload(ReturnRequest.returns),
            joinedload(ReturnRequest.notices).joinedload(Notice.rule).load_only(NoticeRule.name),
            joinedload(ReturnRequest.notices).joinedload(Notice.author).load_only(User.name),
        )
        .one_or_none()
    )


def refunds_of(req: ReturnRequest) -> list[Refund]:
    """Every refund of the request (of its returns and of its kept items). The workflow
    writes one only when it settles the request with the items kept or resolves a return,
    so before either there is nothing to ask."""
    if req.settled_at is None and resolved_return(req) is None:
        return []
    return list(db.session.scalars(select(Refund).where(Refund.request_id == req.id)))


def build(req: ReturnRequest, refunds: list[Refund], user: User) -> RequestPage:
    """The page of ``req`` (from ``load``; ``refunds`` from ``refunds_of``) for ``user``, in
    the reader's language."""
    words = language()
    shop = PageShop(id=req.shop.id, name=req.shop.name, time_zone=req.shop.time_zone)
    actions = workflow.allowed_actions(req, user, workflow.facts_of(req))
    return RequestPage(
        id=req.id,
        number=req.number,
        version=req.version,
        status=req.status,
        status_badge=status_badge(req.status),
        stage_id=req.stage_id,
        stage=stage_of(req.stage, words) if req.stage else None,
        shop=shop,
        customer_name=req.customer_name,
        customer_email=req.customer_email,
        language=req.language,
        order_number=req.order_number,
        delivered_at=req.order.delivered_at,
        created_at=req.created_at,
        resolution=req.resolution,
        exchange_note=req.exchange_note or "",
        free_shipping=req.free_shipping,
        is_withdrawal=req.is_withdrawal,
        refund_deadline=withdrawal_refund_deadline(req),
        ship_by_at=req.ship_by_at,
        ship_by_reminded_at=req.ship_by_reminded_at,
        cancel_reason=req.cancel_reason or "",
        answers=dict(req.answers or {}),
        customer_replied=req.customer_replied,
        awaiting_customer=req.awaiting_customer,
        held_by_id=req.held_by_id,
        held_by_name=req.held_by.name if req.held_by else "",
        held_since=req.held_since,
        stale=workflow.hold_is_stale(req),
        lines=tuple(line_of(line, words) for line in req.lines),
        notices=tuple(notice_of(notice, words) for notice in req.notices),
        messages=messages_of(req, shop),
        returns=tuple(return_of(shipment) for shipment in req.returns),
        stages=stages_of(req.shop_id, words) if "stage" in actions else (),
        timeline=timeline_of(req.id),
        actions=actions,
        settlement=settlement_summary(req, refunds),
    )


def stage_of(stage: ReviewStage, words: str) -> PageStage:
    return PageStage(id=stage.id, name=stage.name(words), color=stage.color)


def line_of(line: ReturnRequestLine, words: str) -> PageLine:
    decided = line.decision in ("approved", "rejected")
    return PageLine(
        id=line.id,
        product_name=line.order_line.product_name,
        variant=line.order_line.variant or "",
        quantity=line.quantity,
        reason=line.reason.label(words) if line.reason else "",
        comment=line.comment or "",
        photo_ids=tuple(photo.id for photo in line.photos),
        decision=line.decision,
        decision_reason=line.decision_reason or "",
        decision_badge=decision_badge(line.decision) if decided else Markup(""),
    )


def return_of(shipment: Return) -> PageReturn:
    cancelled = shipment.status == RETURN_CANCELLED
    return PageReturn(
        id=shipment.id,
        number=shipment.number,
        badge=return_badge(shipment.status) if cancelled else label_badge(shipment.label_status),
        tracking_number=shipment.tracking_number or "",
    )


def notice_of(notice: Notice, words: str) -> PageNotice:
    return PageNotice(
        text=notice.text(words),
        css=SEVERITY_BADGES[notice.severity],
        rule_name=notice.rule.name if notice.rule else "",
        author_name=notice.author.name if notice.author else "",
    )


def messages_of(req: ReturnRequest, shop: PageShop) -> tuple[PageMessage, ...]:
    """The thread, oldest first, internal notes included, each with its files (one row per
    message and file)."""
    rows = db.session.execute(
        select(
            Message.id.label("message_id"),
            Message.direction,
            Message.body,
            Message.created_at,
            User.name.label("author"),
            Attachment.id.label("file_id"),
            Attachment.original_name,
            Attachment.size,
        )
        .outerjoin(User, User.id == Message.author_id)
        .outerjoin(Attachment, Attachment.message_id == Message.id)
        .where(Message.request_id == req.id)
        .order_by(Message.id, Attachment.id)
    )
    messages: dict[int, Row] = {}
    files: dict[int, list[PageFile]] = {}
    for row in rows:
        messages.setdefault(row.message_id, row)
        if row.file_id is not None:
            file = PageFile(id=row.file_id, name=row.original_name, size=row.size)
            files.setdefault(row.message_id, []).append(file)
    return tuple(
        PageMessage(
            direction=row.direction,
            sender=row.author
            if row.author is not None
            else (req.customer_name if row.direction == "inbound" else shop.name),
            body=row.body or "",
            created_at=row.created_at,
            files=tuple(files.get(message_id, ())),
        )
        for message_id, row in messages.items()
    )


def stages_of(shop_id: int, words: str) -> tuple[PageStage, ...]:
    """The shop's review stages in their order (the request's shop is one the user sees)."""
    stages = db.session.scalars(
        select(ReviewStage).where(ReviewStage.shop_id == shop_id).order_by(ReviewStage.position)
    )
    return tuple(stage_of(stage, words) for stage in stages)


def timeline_of(request_id: int) -> tuple[HistoryEntry, ...]:
    """The request's audit events as sentences, oldest first."""
    return history_entries(
        db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.request_id == request_id)
            .options(joinedload(AuditEvent.actor))
            .order_by(AuditEvent.id)
        )
    )


def history_entries(events: Iterable[AuditEvent]) -> tuple[HistoryEntry, ...]:
    """Audit events as ``admin/_history.html`` shows them: when, and a sentence in the
    reader's language."""
    return tuple(
        HistoryEntry(at=event.created_at, sentence=history_sentence(event, carrier_name))
        for event in events
    )
