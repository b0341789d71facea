"""The customer's status page as plain data: what it says of the request, its label and thread.

Built once per page from the request; the template only prints it (templates never see an
ORM object). The items are the emails' items (``email_context.request_data``), so the page
and the approval email mark the same items as refused, with the same reasons.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import url_for
from flask_babel import gettext as _
from flask_babel import ngettext

from domain import email_context, formatting, retention, workflow
from domain.email_context import EmailRequest
from domain.product_images import shown_image_url
from domain.settlement import Settlement, settlement_summary
from domain.statuses import (
    APPROVED_STEP,
    CUSTOMER_PROGRESS_STEPS,
    CUSTOMER_RETURN_WORDS,
    CUSTOMER_SETTLED_STEPS,
    CUSTOMER_STATUS_WORDS,
    KEPT_ITEMS_WORDS,
    LABEL_STEP,
    RECEIVED_STEP,
    REFUND_NOTE_LABELS,
    REJECTED,
    REQUESTED_STEP,
    SENT_STEP,
    SETTLED_STEP,
)
from models import (
    APPROVED,
    CANCELLED,
    COMPLETED,
    CONCEPT,
    LABEL_CREATED,
    NEW,
    ON_HOLD,
    RETURN_DELIVERED,
    RETURN_IN_TRANSIT,
    RETURN_LABEL_CREATED,
    RETURN_RECEIVED,
    RETURN_RESOLVED,
    Return,
    ReturnRequest,
)
from services import conversation

# The request statuses whose page has a "Return label" section.
LABEL_SECTION_STATUSES = (APPROVED, LABEL_CREATED, COMPLETED)


@dataclass(frozen=True)
class ProgressStep:
    """One step of the tracker; ``state`` is done, current or todo."""

    label: str
    state: str


@dataclass(frozen=True)
class LabelSection:
    """The "Return label" section: ``state`` is ready, failed, busy, create or refused."""

    state: str
    tracking_number: str = ""
    page_url: str = ""
    pdf_url: str = ""
    # Why no label can be made now (state "refused"), in the customer's words.
    refusal: str = ""


@dataclass(frozen=True)
class ThreadFile:
    name: str
    url: str


@dataclass(frozen=True)
class ThreadMessage:
    from_customer: bool
    body: str
    at_iso: str
    at: str
    files: tuple[ThreadFile, ...]


@dataclass(frozen=True)
class StatusPage:
    request: EmailRequest
    # The steps from request to settlement, where this one is; empty once it ended otherwise
    # (cancelled, expired).
    progress: tuple[ProgressStep, ...]
    status_words: str
    next_step: str
    # "Withdrawal from contract, received …" for a withdrawal, else "".
    withdrawal_received: str
    ship_by: str
    label: LabelSection | None
    settlement: Settlement
    # False for a cancelled request: nothing will be paid or sent, so no settlement is shown.
    settles: bool
    thread: tuple[ThreadMessage, ...]
    reply_url: str
    # What an item the agent refused is marked with, before its reason.
    refused_words: str
    # How long the customer's photos are kept ("" when they sent none).
    photos_kept: str
    # Each item's product image, in the order of ``request.lines`` ("" for the placeholder).
    item_images: tuple[str, ...]


def status_page(found: ReturnRequest, language: str) -> StatusPage:
    """Everything the status page shows of ``found``, in ``language``."""
    words, next_step = customer_words(found)
    settlement = settlement_summary(found)
    return StatusPage(
        request=email_context.request_data(found, language),
        progress=progress(found, settlement.resolution),
        status_words=str(words),
        next_step=str(next_step),
        withdrawal_received=(
            formatting.moment(found.created_at, found.shop) if found.is_withdrawal else ""
        ),
        ship_by=(
            formatting.moment_date(found.ship_by_at, found.shop)
            if found.status == APPROVED and found.ship_by_at
            else ""
        ),
        label=label_section(found),
        settlement=settlement,
        settles=found.status != CANCELLED,
        thread=thread(found),
        reply_url=url_for(
            "conversation_portal.reply", slug=found.shop.slug, token=found.public_token
        ),
        refused_words=str(REFUND_NOTE_LABELS[REJECTED]),
        photos_kept=photos_kept(found),
        item_images=tuple(shown_image_url(line.order_line.image_url) for line in found.lines),
    )


def photos_kept(found: ReturnRequest) -> str:
    """How long the shop keeps the photos the customer sent (``domain.retention``): until a
    date once the request is closed, before that a number of months after it closes."""
    if not any(line.photos for line in found.lines):
        return ""
    until = retention.files_kept_until(found)
    if until is None:
        return ngettext(
            "We keep your photos until %(num)d month after your return request is closed; "
            "then we delete them.",
            "We keep your photos until %(num)d months after your return request is closed; "
            "then we delete them.",
            retention.files_months(found.shop),
        )
    return _(
        "We keep your photos until %(date)s; then we delete them.",
        date=formatting.moment_date(until, found.shop),
    )


def customer_words(found: ReturnRequest) -> tuple[str, str]:
    """The status in the customer's words and the next step; approved with the items kept,
    there is nothing to send back; once the label is made, where the parcel is."""
    if found.status == APPROVED and found.keep_items:
        return KEPT_ITEMS_WORDS
    if found.status == LABEL_CREATED and found.returns:
        latest = max(found.returns, key=lambda shipment: shipment.id)
        if latest.status in CUSTOMER_RETURN_WORDS:
            return CUSTOMER_RETURN_WORDS[latest.status]
    return CUSTOMER_STATUS_WORDS[found.status]


# How far a request has come (request statuses), and once its label is made, how far its
# parcel has (return statuses).
REQUEST_STEPS = {
    NEW: REQUESTED_STEP,
    CONCEPT: REQUESTED_STEP,
    ON_HOLD: REQUESTED_STEP,
    APPROVED: APPROVED_STEP,
    COMPLETED: SETTLED_STEP,
}
RETURN_STEPS = {
    RETURN_LABEL_CREATED: LABEL_STEP,
    RETURN_IN_TRANSIT: SENT_STEP,
    RETURN_DELIVERED: RECEIVED_STEP,
    RETURN_RECEIVED: RECEIVED_STEP,
    RETURN_RESOLVED: SETTLED_STEP,
}


def progress(found: ReturnRequest, resolution: str) -> tuple[ProgressStep, ...]:
    """The tracker: requested → approved → label → on its way → received → settled in the
    words of the resolution; kept items go from approved straight to settled."""
    reached = reached_step(found)
    if reached is None:
        return ()
    labels = [*CUSTOMER_PROGRESS_STEPS, CUSTOMER_SETTLED_STEPS[resolution]]
    shown = (
        (REQUESTED_STEP, APPROVED_STEP, SETTLED_STEP) if found.keep_items else range(len(labels))
    )
    return tuple(ProgressStep(str(labels[step]), step_state(step, reached)) for step in shown)


def reached_step(found: ReturnRequest) -> int | None:
    """The last step the request has reached; None when it ended without one (cancelled,
    expired)."""
    if found.status == LABEL_CREATED:
        shipment = workflow.active_return(found)
        return APPROVED_STEP if shipment is None else RETURN_STEPS[shipment.status]
    return REQUEST_STEPS.get(found.status)


def step_state(step: int, reached: int) -> str:
    if step < reached or step == reached == SETTLED_STEP:
        return "done"
    return "current" if step == reached else "todo"


def label_section(found: ReturnRequest) -> LabelSection | None:
    """The label's state, or why none can be made; no section where no label belongs."""
    if found.status not in LABEL_SECTION_STATUSES or found.keep_items:
        return None
    where = {"shop_slug": found.shop.slug, "token": found.public_token}
    page_url = url_for("label_portal.index", **where)
    shipment = workflow.active_return(found)
    if shipment is not None:
        return shipment_section(shipment, page_url, url_for("label_portal.pdf", **where))
    if (refusal := workflow.label_refusal(found)) is not None:
        return None if found.status == COMPLETED else LabelSection("refused", refusal=refusal)
    return LabelSection("create", page_url=page_url)


def shipment_section(shipment: Return, page_url: str, pdf_url: str) -> LabelSection:
    states = {"ready": "ready", "failed": "failed"}
    return LabelSection(
        states.get(shipment.label_status, "busy"),
        tracking_number=shipment.tracking_number or "",
        page_url=page_url,
        pdf_url=pdf_url,
    )


def thread(found: ReturnRequest) -> tuple[ThreadMessage, ...]:
    """The conversation without internal notes, oldest first."""
    return tuple(
        ThreadMessage(
            from_customer=message.direction == conversation.INBOUND,
            body=message.body or "",
            at_iso=message.created_at.isoformat(),
            at=formatting.moment(message.created_at, found.shop),
            files=tuple(
                ThreadFile(
                    name=attachment.original_name,
                    url=url_for(
                        "conversation_portal.attachment",
                        slug=found.shop.slug,
                        token=found.public_token,
                        attachment_id=attachment.id,
                    ),
                )
                for attachment in message.attachments
            ),
        )
        for message in conversation.visible_to_customer(found)
    )
