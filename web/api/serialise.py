"""The shop's rows as the API shows them: an order, a return request, a return, a message and
its files, each as its model in ``web.api.schemas``."""

from __future__ import annotations

from typing import get_args

from domain import links, returnability, workflow
from domain.settlement import kept_payout_of, payout_of
from models import Attachment, Order, OrderLine, Refund, ReturnRequest
from models import Return as ReturnShipment
from services import storage
from web.api.http import api_actor
from web.api.schemas import (
    AttachmentOut,
    MessageOut,
    OrderLineOut,
    OrderOut,
    RefundOut,
    RequestAction,
    RequestLineOut,
    RequestOut,
    ReturnOut,
)


def order_out(order: Order) -> OrderOut:
    lines = [order_line_out(line) for line in order.lines]
    fields = {name: getattr(order, name) for name in OrderOut.model_fields if name != "lines"}
    return OrderOut(**fields, lines=lines)


def order_line_out(line: OrderLine) -> OrderLineOut:
    computed = ("tags", "variant_options")
    fields = {
        name: getattr(line, name) for name in OrderLineOut.model_fields if name not in computed
    }
    return OrderLineOut(
        **fields,
        tags=sorted(returnability.line_tags(line)),
        variant_options=line.variant_options or [],
    )


def request_out(req: ReturnRequest, facts: workflow.RequestFacts | None = None) -> RequestOut:
    """The request as the API shows it; ``facts`` (``workflow.request_facts``) when a page of
    requests is shown, so they are looked up once for all of them."""
    lines = [
        RequestLineOut(
            order_line_id=line.order_line_id,
            sku=line.order_line.sku,
            product_name=line.order_line.product_name,
            variant=line.order_line.variant,
            quantity=line.quantity,
            reason=line.reason.code if line.reason else None,
            comment=line.comment,
            decision=line.decision,
            received_quantity=line.received_quantity,
            condition=line.condition,
            disposition=line.disposition,
            disposition_note=line.disposition_note,
            refund_choice=line.refund_choice,
            refund_partial_cents=line.refund_partial_cents,
            refund_note=line.refund_note,
        )
        for line in req.lines
    ]
    skip = {"lines", "returns", "status_url", "allowed_actions", "refund"}
    fields = {name: getattr(req, name) for name in RequestOut.model_fields if name not in skip}
    return RequestOut(
        **fields,
        lines=lines,
        returns=[r.number for r in req.returns],
        status_url=links.status_url(req),
        allowed_actions=allowed_api_actions(req, facts),
        refund=kept_refund_out(req),
    )


def kept_refund_out(req: ReturnRequest) -> RefundOut | None:
    """The payout of a request settled with the items kept; only a settled one is looked up."""
    payout = kept_payout_of(req) if req.settled_resolution else None
    return refund_out(payout) if payout else None


def allowed_api_actions(req: ReturnRequest, facts: workflow.RequestFacts | None) -> list[str]:
    """The key's actions that ``workflow.allowed_actions`` offers on the request now."""
    allowed = workflow.allowed_actions(req, api_actor(), facts)
    return [action for action in get_args(RequestAction) if action in allowed]


def attachment_out(attachment: Attachment) -> AttachmentOut:
    return AttachmentOut(
        id=attachment.id,
        name=storage.download_name(attachment),
        content_type=attachment.content_type,
        size=attachment.size,
    )


def message_out(message) -> MessageOut:
    attachments = [attachment_out(a) for a in message.attachments]
    return MessageOut(
        id=message.id,
        direction=message.direction,
        author=message.author.name if message.author else None,
        body=message.body,
        created_at=message.created_at,
        attachments=attachments,
    )


def return_out(shipment: ReturnShipment) -> ReturnOut:
    names = [name for name in ReturnOut.model_fields if name not in ("request_number", "refund")]
    fields = {name: getattr(shipment, name) for name in names}
    payout = payout_of(shipment) if shipment.resolved_at else None
    return ReturnOut(
        **fields,
        request_number=shipment.request.number,
        refund=refund_out(payout) if payout else None,
    )


def refund_out(payout: Refund) -> RefundOut:
    return RefundOut(
        kind=payout.kind,
        amount_cents=payout.amount_cents,
        currency=payout.currency,
        destination=payout.destination,
        status=payout.status,
        provider_id=payout.provider_id,
        message=payout.provider_message,
    )
