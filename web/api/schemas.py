"""The API's shapes: what each call takes (``…In``, the list queries) and what it answers
(``…Out``), as pydantic models; the OpenAPI document's schemas are drawn from them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field

from domain import submission_rules
from models import (
    DISPOSITIONS,
    LINE_CONDITIONS,
    REFUND_CHOICES,
    REFUND_KINDS,
    REFUND_STATUSES,
    REQUEST_STATUSES,
    RESOLUTIONS,
    RETURN_STATUSES,
)
from services import conversation
from services.order_import import Language, Whole, as_utc, text
from web.int_args import MAX_INT

UtcDatetime = Annotated[datetime, AfterValidator(as_utc)]


class OrderLineOut(BaseModel):
    id: int
    sku: str
    product_name: str
    variant: str | None
    quantity: int
    unit_price_cents: int
    discount_cents: int
    image_url: str | None
    tags: list[str] = Field(description="The platform's tags, as returnability rules match them")
    returnable: bool = Field(description="false: the platform marks it not returnable")
    variant_options: list[str] = Field(
        description="The product's variants a customer may pick in an exchange"
    )


class OrderOut(BaseModel):
    number: str
    customer_name: str
    customer_email: str
    customer_postcode: str | None
    customer_street: str | None
    customer_city: str | None
    customer_country: str
    customer_language: str
    ordered_at: UtcDatetime
    delivered_at: UtcDatetime | None
    currency: str
    mollie_payment_id: str | None = Field(
        description="The Mollie payment (tr_…) the order was paid with: refunds go through it"
    )
    created_at: UtcDatetime
    lines: list[OrderLineOut]


class RequestLineOut(BaseModel):
    order_line_id: int
    sku: str
    product_name: str
    variant: str | None
    quantity: int
    reason: str | None = Field(description="The return reason's code")
    comment: str | None
    decision: str
    received_quantity: int | None
    condition: str | None
    disposition: str | None = Field(description="restock, refurbish or dispose, once received")
    disposition_note: str | None = Field(description="Why it was disposed of")
    refund_choice: Literal[REFUND_CHOICES] | None = Field(
        description="What is paid for the line, once received: full, partial or none"
    )
    refund_partial_cents: int | None = Field(description="The amount of a partial refund")
    refund_note: str | None = Field(description="The shop's note to the customer on the refund")


# The decisions a key may post (``ActionIn``): the workflow's actions of the same names, with
# ``approve`` and ``keep_items`` for "approve_keep".
RequestAction = Literal["hold", "release", "concept", "approve", "cancel", "settle"]


class RequestOut(BaseModel):
    """A return request (Aanvraag)."""

    number: str
    status: Literal[REQUEST_STATUSES]
    order_number: str
    customer_name: str
    customer_email: str
    language: str
    resolution: str
    free_shipping: bool
    keep_items: bool
    settled_resolution: str | None = Field(
        description="How a request whose customer keeps the items was settled"
    )
    settled_cents: int | None = Field(description="What it was settled for (none: exchange)")
    is_withdrawal: bool
    cancel_reason: str | None
    created_at: UtcDatetime
    updated_at: UtcDatetime
    decided_at: UtcDatetime | None
    ship_by_at: UtcDatetime | None = Field(
        description="By when the customer of an approved request must create the return label "
        "(the end of that day in the shop's time zone); past it the request expires"
    )
    lines: list[RequestLineOut]
    returns: list[str] = Field(description="Numbers of the returns (shipments) made from it")
    status_url: str = Field(
        description="The customer's status page (decision, return label, refund): show it to "
        "the customer; it is also in the confirmation email"
    )
    allowed_actions: list[RequestAction] = Field(
        description="The actions this API key may post to the request's actions now, by the "
        "rules the workflow enforces (a colleague's hold, the status, a return label, every "
        "item rejected); an action not listed is refused with 409"
    )
    refund: RefundOut | None = Field(
        default=None,
        description="The refund or store credit of a request settled with the items kept "
        "(a returned item's refund is on its return)",
    )


class RefundOut(BaseModel):
    """The refund or store credit of a resolved return, and how far it got at the shop's
    platform (``destination``; "manual": staff refund it by hand in the shop's back office)."""

    kind: Literal[REFUND_KINDS]
    amount_cents: int
    currency: str
    destination: str
    status: Literal[REFUND_STATUSES] = Field(
        description="pending, sending, confirming (a payment provider such as Mollie "
        "accepted it and has yet to pay it out), succeeded (the platform confirmed it, or "
        "staff marked it refunded) or failed (see message; support may retry)"
    )
    provider_id: str | None = Field(
        description="The platform's id of the refund, or the store credit's code"
    )
    message: str | None = Field(description="What the platform answered when it failed")


class ReturnOut(BaseModel):
    """A return (Retour): the shipment made from an approved request."""

    number: str
    request_number: str
    status: Literal[RETURN_STATUSES]
    carrier: str
    tracking_number: str | None
    tracking_url: str | None
    label_status: str
    cost_cents: int
    refund_cents: int | None
    refund: RefundOut | None = None
    created_at: UtcDatetime
    updated_at: UtcDatetime
    resolved_at: UtcDatetime | None


class RequestPage(BaseModel):
    data: list[RequestOut]
    next: str | None = Field(description="URL of the next page; null on the last page")


class ReturnPage(BaseModel):
    data: list[ReturnOut]
    next: str | None = Field(description="URL of the next page; null on the last page")


def iso_text_only(value: Any) -> Any:
    """A query's date must be written as one (RFC 3339), not as a number of seconds."""
    if not isinstance(value, str):
        raise ValueError("expected an RFC 3339 date-time")
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise ValueError("expected an RFC 3339 date-time, e.g. 2026-03-01T12:00:00Z") from None


class ListQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    updated_since: (
        Annotated[AwareDatetime, BeforeValidator(iso_text_only), AfterValidator(as_utc)] | None
    ) = Field(None, description="Only items changed at or after this moment")
    cursor: Annotated[str, Field(pattern=r"^[0-9]{1,10}$")] | None = Field(
        None, description="Where the previous page ended; take it from its next link"
    )
    limit: int = Field(50, ge=1, le=100)


class RequestListQuery(ListQuery):
    status: Literal[REQUEST_STATUSES] | None = None


class ReturnListQuery(ListQuery):
    status: Literal[RETURN_STATUSES] | None = None


MAX_TEXT = submission_rules.MAX_TEXT

ReturnEvent = Literal["in_transit", "delivered", "received", "resolved"]


class RequestLineIn(BaseModel):
    """One item the customer sends back: an order line (its ``id`` in the order), how many, why."""

    model_config = ConfigDict(extra="forbid", strict=True)

    order_line_id: Whole(1, MAX_INT)
    quantity: Whole(1, 100_000) = 1
    reason: text(40) | None = Field(
        None,
        description="A return reason's code (Admin → Return reasons); required when the shop "
        "has active reasons, except for a withdrawal. A reason that needs photos cannot be "
        "chosen through the API (lines.N.photos, photo_required).",
    )
    comment: text(MAX_TEXT) | None = None


class AnswerIn(BaseModel):
    """The answer to one of the shop's form questions (Admin → Form questions)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    question_id: Whole(1, MAX_INT)
    answer: text(MAX_TEXT)


class RequestIn(BaseModel):
    """A return request made on the customer's behalf, with the portal's rules."""

    model_config = ConfigDict(extra="forbid", strict=True)

    order_number: text(64, 1)
    lines: Annotated[list[RequestLineIn], Field(min_length=1, max_length=1000)]
    resolution: Literal[RESOLUTIONS] = Field(
        "refund", description="One of the shop's offered resolutions"
    )
    exchange_note: text(MAX_TEXT) | None = Field(
        None, description="Required for an exchange: the wanted size or colour"
    )
    language: Language | None = Field(
        None, description="The customer's language; default the order's, if the shop speaks it"
    )
    answers: Annotated[list[AnswerIn], Field(max_length=100)] = Field(
        default_factory=list,
        description="Answers to the shop's form questions; file questions cannot be answered "
        "through the API",
    )
    is_withdrawal: bool = Field(
        False,
        description="The customer withdraws from the contract (EU right of withdrawal): "
        "within the shop's withdrawal period, delivered or not, without reasons or questions, "
        "refunded",
    )


class ActionIn(BaseModel):
    """A decision on a request, taken as the API key."""

    model_config = ConfigDict(extra="forbid", strict=True)

    action: RequestAction
    reason: text(MAX_TEXT) | None = Field(
        None, description="Required for cancel: the reason the customer is emailed"
    )
    keep_items: bool = Field(
        False, description="approve only: the customer keeps the items (no label needed)"
    )
    resolution: Literal[RESOLUTIONS] | None = Field(
        None,
        description="settle only (a request whose customer keeps the items): refund, exchange "
        "or store_credit; the request's own resolution when left out",
    )


class InspectionIn(BaseModel):
    """What the warehouse found for one returned line."""

    model_config = ConfigDict(extra="forbid", strict=True)

    order_line_id: Whole(1, MAX_INT)
    condition: Literal[LINE_CONDITIONS]
    received_quantity: Whole(0, 100_000)
    disposition: Literal[DISPOSITIONS] | None = Field(
        None, description="What becomes of the units; by default as the condition suggests"
    )
    disposition_note: text(MAX_TEXT) | None = Field(None, description="Needed to dispose")
    refund_choice: Literal[REFUND_CHOICES] | None = Field(
        None,
        description="What is paid for the line (for an exchange: none means not exchanged). "
        "By default full when the condition is ok, or damaged and the customer's reason "
        "said damaged (damaged, defective, broken); otherwise none",
    )
    refund_partial_cents: Whole(1, MAX_INT) | None = Field(
        None,
        description="partial only, and required then: the amount, at most the full refund "
        "of the units received",
    )
    refund_note: text(MAX_TEXT) | None = Field(
        None, description="A note on the line's refund, shown to the customer"
    )


class ReturnEventIn(BaseModel):
    """A tracking event (carrier) or a warehouse step for a return."""

    model_config = ConfigDict(extra="forbid", strict=True)

    event: ReturnEvent
    occurred_at: AwareDatetime | None = None
    description: text(500) | None = None
    lines: Annotated[list[InspectionIn], Field(max_length=1000)] | None = Field(
        None, description="received only: every returned line's condition and quantity"
    )
    resolution: Literal[RESOLUTIONS] | None = Field(
        None, description="resolved only; default the resolution the customer chose"
    )


class FileIn(BaseModel):
    """A file sent with a message: its name and its bytes, base64-encoded."""

    model_config = ConfigDict(extra="forbid", strict=True)

    name: text(255, 1)
    content_base64: str = Field(description="the file's bytes in base64 (RFC 4648, padded)")


class MessageIn(BaseModel):
    """A message in the thread with the customer: text, files, or both."""

    model_config = ConfigDict(extra="forbid", strict=True)

    body: text(conversation.MAX_BODY) = ""
    direction: Literal["outbound", "inbound"] = Field(
        "outbound",
        description="outbound: the shop writes to the customer, who is emailed; inbound: the "
        "customer's reply, received by the webshop (e.g. in the customer's account)",
    )
    files: Annotated[list[FileIn], Field(max_length=conversation.MAX_FILES)] = Field(
        default_factory=list,
        description="PDFs and images (outbound also plain text), at most "
        f"{conversation.MAX_FILES} of {conversation.MAX_FILE_BYTES // 2**20} MB each",
    )


class AttachmentOut(BaseModel):
    id: int
    name: str
    content_type: str
    size: int


class AttachmentContent(AttachmentOut):
    """A file of a message with its bytes."""

    content_base64: str = Field(description="the file's bytes in base64 (RFC 4648, padded)")


class MessageOut(BaseModel):
    id: int
    direction: Literal["outbound", "inbound"]
    author: str | None = Field(
        description="The colleague who wrote it; null for the customer or the API"
    )
    body: str
    created_at: UtcDatetime
    attachments: list[AttachmentOut]


class MessageThread(BaseModel):
    """The conversation with the customer, oldest first; internal notes are not in it."""

    data: list[MessageOut]


class CustomerDataOut(BaseModel):
    """A customer's data in the key's shop: ``customer.json`` of the admin's export (without
    the files), under the keys docs/PRIVACY.md documents."""

    schema_version: int = Field(description="Raised when a key changes meaning or goes")
    exported_at: str
    email: str = Field(description="The address searched for, in lower case")
    orders: list[dict[str, Any]]
    requests: list[dict[str, Any]] = Field(
        description="With their lines, messages, notices and returns"
    )
    emails: list[dict[str, Any]] = Field(description="The emails the outbox holds about them")
    webhook_deliveries: list[dict[str, Any]]
    history: list[dict[str, Any]] = Field(description="Audit entries of their requests")
    files: list[dict[str, Any]] = Field(
        description="Photos, files and return labels (the admin's ZIP carries their bytes)"
    )


class ErasureQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    when_settled: Literal["true", "false"] = Field(
        "false",
        description="true: while a return is under way, erase once it settles (202) instead "
        "of refusing (409)",
    )


class ErasureOut(BaseModel):
    """What an erasure removed, counted per kind; all zero when nothing was left to erase."""

    erased: bool = Field(description="false: nothing named this customer (already erased)")
    scheduled: bool = Field(
        False, description="true: a return is under way; erased once it settles"
    )
    counts: dict[str, int]
