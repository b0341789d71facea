"""REST API v1's operations: the webshop's systems create and read orders, create, read and
decide on return requests, write in their conversation with the customer, and follow returns.
Each is declared with ``@operation`` (``web.api.http``), which validates, answers and documents it.
"""

from __future__ import annotations

import base64
import secrets
from typing import Any

from flask import after_this_request, g, request, url_for
from sqlalchemy import Select, select
from sqlalchemy.orm import selectinload

from domain import submission, submission_rules, tenancy, workflow
from domain.refunds import RefundChoice
from extensions import db
from models import (
    RETURN_DELIVERED,
    RETURN_IN_TRANSIT,
    Order,
    ReturnRequest,
    ReturnRequestLine,
    utcnow,
)
from models import Return as ReturnShipment
from services import conversation, customer_data, customer_erasure, labels, refund_jobs, storage
from services.order_import import OrderData, upsert_orders
from web.api.http import (
    ApiProblem,
    api_actor,
    operation,
    redact_stored_path,
    refused,
    rules_refused,
)
from web.api.schemas import (
    ActionIn,
    AttachmentContent,
    CustomerDataOut,
    ErasureOut,
    ErasureQuery,
    FileIn,
    ListQuery,
    MessageIn,
    MessageOut,
    MessageThread,
    OrderOut,
    RequestIn,
    RequestListQuery,
    RequestOut,
    RequestPage,
    ReturnEventIn,
    ReturnListQuery,
    ReturnOut,
    ReturnPage,
)
from web.api.serialise import attachment_out, message_out, order_out, request_out, return_out
from web.int_args import MAX_INT, parse_int

# --- Finding the shop's rows -----------------------------------------------------------


def of_the_keys_shop(stmt: Select, model: type) -> Select:
    """``stmt`` narrowed to the rows the API key may touch (the one tenancy rule)."""
    return tenancy.in_shops(stmt, model.shop_id, tenancy.shops_for(g.api_key))


def page_of(model: type, query: ListQuery, options: tuple = ()) -> tuple[list, str | None]:
    """One page of the shop's rows in id order (stable: new rows go to the end), filtered."""
    stmt = of_the_keys_shop(select(model), model).options(*options)
    if query.status:
        stmt = stmt.where(model.status == query.status)
    if query.updated_since:
        stmt = stmt.where(model.updated_at >= query.updated_since)
    if query.cursor:
        stmt = stmt.where(model.id > min(int(query.cursor), MAX_INT))
    rows = db.session.scalars(stmt.order_by(model.id).limit(query.limit + 1)).all()
    if len(rows) <= query.limit:
        return rows, None
    rows = rows[: query.limit]
    args = query.model_dump(mode="json", exclude_none=True) | {"cursor": str(rows[-1].id)}
    return rows, url_for(request.endpoint, _external=True, **args)


def _one(model: type, number: str, options: tuple = ()) -> Any:
    found = db.session.scalar(
        of_the_keys_shop(select(model), model).where(model.number == number).options(*options)
    )
    if found is None:
        raise ApiProblem(404, "Not Found", f"No {model.__name__.lower()} with number {number}.")
    return found


REQUEST_LOADING = (
    selectinload(ReturnRequest.lines).selectinload(ReturnRequestLine.order_line),
    selectinload(ReturnRequest.lines).selectinload(ReturnRequestLine.reason),
    selectinload(ReturnRequest.returns),
)
RETURN_LOADING = (selectinload(ReturnShipment.request),)


# --- Orders -----------------------------------------------------------------------------


@operation(
    "POST",
    "/orders",
    summary="Create or update an order",
    tag="Orders",
    body=OrderData,
    response=OrderOut,
    status=(200, 201),
)
def upsert_order(body: OrderData):
    """Creates the order, or updates the shop's order with this number (201 or 200). Lines
    are matched by SKU and variant; a line a return request refers to is kept."""
    created = upsert_orders(g.shop.id, [body]).created
    db.session.expire_all()  # the upsert wrote past the ORM's identity map
    order = _one(Order, body.number, (selectinload(Order.lines),))
    return order_out(order), 201 if created else 200


@operation("GET", "/orders/<number>", summary="An order", tag="Orders", response=OrderOut)
def get_order(number: str):
    """The shop's order with this number, with its lines."""
    return order_out(_one(Order, number, (selectinload(Order.lines),)))


# --- Return requests --------------------------------------------------------------------


@operation(
    "GET",
    "/return-requests",
    summary="List return requests",
    tag="Return requests",
    query=RequestListQuery,
    response=RequestPage,
)
def list_return_requests(query: RequestListQuery):
    """Oldest first, in a stable order; follow ``next`` until it is null. With
    ``updated_since`` this is how a shop keeps its own copy in sync."""
    rows, next_url = page_of(ReturnRequest, query, REQUEST_LOADING)
    facts = workflow.request_facts([r.id for r in rows])
    return RequestPage(data=[request_out(r, facts[r.id]) for r in rows], next=next_url)


@operation(
    "GET",
    "/return-requests/<number>",
    summary="A return request",
    tag="Return requests",
    response=RequestOut,
)
def get_return_request(number: str):
    """The request with its lines and the numbers of its returns."""
    return request_out(_one(ReturnRequest, number, REQUEST_LOADING))


@operation(
    "POST",
    "/return-requests",
    summary="Create a return request (headless portal)",
    tag="Return requests",
    body=RequestIn,
    response=RequestOut,
    status=(201,),
)
def create_return_request(body: RequestIn):
    """Creates a request on the customer's behalf with the portal's rules: the return window,
    the units still returnable, the shop's reasons, resolutions and required questions. The
    customer and the shop's staff are emailed as after the portal. An order that is not the
    shop's is 404; what the shop's rules refuse is 409, every failing field in ``errors`` with
    the rule's ``code``. Answers are stored with the question in the request's language."""
    order = db.session.scalar(
        of_the_keys_shop(select(Order), Order).where(Order.number == body.order_number)
    )
    if order is None:
        raise refused(f"No order with number {body.order_number}.", "order_number", 404)
    try:
        req = submission.build_request(
            g.shop,
            order,
            submission_of(body, order),
            submission_key="api-" + secrets.token_urlsafe(24),
        )
    except submission_rules.SubmissionRefused as refusal:
        raise rules_refused(refusal) from None
    return request_out(req), 201


def submission_of(body: RequestIn, order: Order) -> submission_rules.Submission:
    """The body as the rule book reads a submission."""
    lines = [
        submission_rules.ChosenLine(
            order_line_id=line.order_line_id,
            quantity=line.quantity,
            reason_code=line.reason,
            comment=line.comment or "",
        )
        for line in body.lines
    ]
    answers = [
        submission_rules.Answer(question_id=item.question_id, value=item.answer)
        for item in body.answers
    ]
    return submission_rules.Submission(
        lines=lines,
        resolution=body.resolution,
        language=request_language(body, order),
        exchange_note=body.exchange_note or "",
        answers=answers,
        is_withdrawal=body.is_withdrawal,
    )


def request_language(body: RequestIn, order: Order) -> str:
    """The language given, else the order's if the shop speaks it, else the shop's first."""
    if body.language:
        return body.language
    languages = submission_rules.offered_languages(g.shop)
    return order.customer_language if order.customer_language in languages else languages[0]


def perform(req: ReturnRequest, body: ActionIn) -> None:
    actor = api_actor()
    if body.action == "hold":
        raise refused(
            "An API key cannot hold a request: a hold names the colleague working on it.",
            "action",
        )
    if body.action == "release":
        workflow.release(req, actor)
    elif body.action == "concept":
        workflow.set_concept(req, actor)
    elif body.action == "approve":
        workflow.approve(req, actor, keep_items=body.keep_items)
    elif body.action == "settle":
        payout = refund_jobs.settle_kept(req, actor, body.resolution or req.resolution)
        if payout is not None:

            def send(response):
                if response.status_code < 300:  # committed
                    refund_jobs.send_after_commit(payout)
                return response

            after_this_request(send)
    elif not (body.reason or "").strip():
        raise refused("Give the reason the customer is emailed.", "reason")
    else:
        workflow.cancel(req, actor, body.reason)


@operation(
    "POST",
    "/return-requests/<number>/actions",
    summary="Decide on a return request",
    tag="Return requests",
    body=ActionIn,
    response=RequestOut,
)
def act_on_return_request(number: str, body: ActionIn):
    """``approve``, ``cancel`` (with ``reason``), ``concept`` or ``release``, with the same
    rules and customer emails as the buttons in the admin, audited as the API key. What the
    workflow refuses (already decided, held by a colleague) is 409 with its message; the
    request's ``allowed_actions`` lists what it would accept now. ``hold`` is always refused
    (409): a hold names the colleague working on the request."""
    req = _one(ReturnRequest, number)
    try:
        perform(req, body)
    except workflow.TransitionRefused as refusal:
        raise refused(str(refusal)) from None
    db.session.flush()
    db.session.expire_all()
    return request_out(_one(ReturnRequest, number, REQUEST_LOADING))


@operation(
    "GET",
    "/return-requests/<number>/messages",
    summary="The conversation with the customer",
    tag="Return requests",
    response=MessageThread,
)
def list_messages(number: str):
    """Messages to and from the customer, oldest first; internal notes stay in the admin."""
    req = _one(ReturnRequest, number)
    return MessageThread(data=[message_out(m) for m in conversation.visible_to_customer(req)])


@operation(
    "POST",
    "/return-requests/<number>/messages",
    summary="Write to the customer, or pass on their reply",
    tag="Return requests",
    body=MessageIn,
    response=MessageOut,
    status=(201,),
)
def post_message(number: str, body: MessageIn):
    """``outbound`` emails the customer, as "Communication with customer" in the admin does,
    audited as the API key. ``inbound`` adds the customer's reply (received by the webshop);
    the colleague holding the request is told and ``message.received`` is sent. Files are
    checked by their content as in the admin and the portal. A message with neither text
    nor files, or a file refused, is 409."""
    req = _one(ReturnRequest, number)
    files = uploads_of(body.files)
    try:
        if body.direction == "outbound":
            message = conversation.send_message(req, api_actor(), body.body.strip(), files)
        else:
            message = conversation.receive_reply(req, body.body.strip(), files)
    except conversation.MessageRefused as refusal:
        field = next(iter(refusal.errors))
        raise refused(refusal.errors[field], field) from None
    return message_out(message), 201


def uploads_of(files: list[FileIn]) -> list[conversation.Upload]:
    uploads = []
    for index, file in enumerate(files):
        try:
            data = base64.b64decode(file.content_base64, validate=True)
        except ValueError:  # binascii.Error, or a character outside ASCII
            raise refused(
                f"{file.name} is not valid base64.", f"files.{index}.content_base64"
            ) from None
        uploads.append(conversation.Upload(name=file.name, data=data))
    return uploads


@operation(
    "GET",
    "/return-requests/<number>/attachments/<attachment_id>",
    summary="A file of a message",
    tag="Return requests",
    response=AttachmentContent,
)
def get_attachment(number: str, attachment_id: str):
    """A file of a message in the thread (the ``id`` a message lists), with its bytes.
    Files of internal notes are not available."""
    req = _one(ReturnRequest, number)
    file_id = parse_int(attachment_id, minimum=1)
    attachment = conversation.customer_attachment(req, file_id) if file_id is not None else None
    if attachment is None:
        raise ApiProblem(404, "Not Found", f"No file {attachment_id} in this thread.")
    content = base64.b64encode(storage.read(attachment)).decode()
    return AttachmentContent(**attachment_out(attachment).model_dump(), content_base64=content)


# --- Returns ----------------------------------------------------------------------------


@operation(
    "GET", "/returns", summary="List returns", tag="Returns", query=ReturnListQuery,
    response=ReturnPage,
)  # fmt: skip
def list_returns(query: ReturnListQuery):
    """Oldest first, in a stable order; follow ``next`` until it is null."""
    rows, next_url = page_of(ReturnShipment, query, RETURN_LOADING)
    return ReturnPage(data=[return_out(r) for r in rows], next=next_url)


@operation("GET", "/returns/<number>", summary="A return", tag="Returns", response=ReturnOut)
def get_return(number: str):
    """The shipment: carrier, tracking, label and status."""
    return return_out(_one(ReturnShipment, number, RETURN_LOADING))


def inspections(return_: ReturnShipment, body: ReturnEventIn) -> dict[int, tuple[str, int]]:
    """``{request line id: (condition, quantity)}`` for ``workflow.receive``."""
    if body.lines is None:
        raise refused("A received event lists every returned line.", "lines")
    lines = {line.order_line_id: line for line in return_.request.lines}
    found = {}
    for index, item in enumerate(body.lines):
        line = lines.get(item.order_line_id)
        if line is None or line.decision == "rejected" or line.id in found:
            raise refused(
                "Not a returned line of this request, or listed twice.",
                f"lines.{index}.order_line_id",
            )
        found[line.id] = (item.condition, item.received_quantity)
    return found


def dispositions(
    return_: ReturnShipment, body: ReturnEventIn
) -> dict[int, tuple[str | None, str | None]]:
    """``{request line id: (disposition, note)}`` as the received event gives them."""
    line_ids = {line.order_line_id: line.id for line in return_.request.lines}
    return {
        line_ids[item.order_line_id]: (item.disposition, item.disposition_note)
        for item in body.lines or ()
    }


def refund_choices(return_: ReturnShipment, body: ReturnEventIn) -> dict[int, RefundChoice]:
    """``{request line id: RefundChoice}`` as the received event gives them."""
    line_ids = {line.order_line_id: line.id for line in return_.request.lines}
    return {
        line_ids[item.order_line_id]: RefundChoice(
            item.refund_choice, item.refund_partial_cents, item.refund_note
        )
        for item in body.lines or ()
    }


def line_field(return_: ReturnShipment, body: ReturnEventIn, refusal: workflow.LineRefused) -> str:
    """The body's field a refusal of one request line points at: ``lines.2.refund_choice``."""
    order_line_ids = [item.order_line_id for item in body.lines or ()]
    line = next(line for line in return_.request.lines if line.id == refusal.line_id)
    return f"lines.{order_line_ids.index(line.order_line_id)}.{refusal.field}"


def apply_return_event(return_: ReturnShipment, body: ReturnEventIn) -> None:
    actor = api_actor()
    if body.event in (RETURN_IN_TRANSIT, RETURN_DELIVERED):
        event = labels.TrackingEvent(
            tracking_number=return_.tracking_number or "",
            status=body.event,
            occurred_at=body.occurred_at or utcnow(),
            description=body.description or "",
        )
        workflow.apply_tracking_event(return_, event, actor)
    elif body.event == "received":
        found = inspections(return_, body)
        chosen = refund_choices(return_, body)
        workflow.receive(return_, actor, found, dispositions(return_, body), chosen)
    else:
        payout = refund_jobs.resolve(return_, actor, body.resolution or return_.request.resolution)
        if payout is not None:

            def send(response):
                if response.status_code < 300:  # committed
                    refund_jobs.send_after_commit(payout)
                return response

            after_this_request(send)


@operation(
    "POST",
    "/returns/<number>/events",
    summary="Record a tracking or warehouse event",
    tag="Returns",
    body=ReturnEventIn,
    response=ReturnOut,
)
def record_return_event(number: str, body: ReturnEventIn):
    """``in_transit`` and ``delivered`` come from the carrier: late, repeated or
    out-of-order events the return is already past change nothing (200, unchanged).
    ``received`` is the warehouse's inspection: every returned line's ``condition`` and
    ``received_quantity``, and what is paid for it (``refund_choice``: full, partial with
    ``refund_partial_cents``, or none; by default as the condition and the customer's reason
    suggest) with a ``refund_note`` shown to the customer; the customer is emailed. A refused
    line names its field (``lines.0.refund_partial_cents``). ``resolved`` settles a received return
    (refund, exchange or store credit; default the customer's choice) and completes the
    request. A step the return cannot take is 409 with the reason."""
    return_ = _one(ReturnShipment, number, RETURN_LOADING)
    try:
        apply_return_event(return_, body)
    except workflow.LineRefused as refusal:
        raise refused(str(refusal), line_field(return_, body, refusal)) from None
    except workflow.TransitionRefused as refusal:
        raise refused(str(refusal)) from None
    db.session.flush()
    db.session.expire_all()
    return return_out(_one(ReturnShipment, number, RETURN_LOADING))


# --- Customers' personal data (GDPR) -----------------------------------------------------


@operation(
    "GET",
    "/customers/<email>/data",
    summary="A customer's data (export)",
    tag="Customers",
    response=CustomerDataOut,
)
def get_customer_data(email: str):
    """Everything the shop holds about the customer with this address (any case): orders,
    requests with their lines, answers, messages and returns, emails, webhook deliveries,
    history and the files' details. The export is audited as the API key."""
    data = customer_data.find(g.api_key, email)
    document = customer_data.document(data)
    customer_data.record_export(data, g.api_key)
    db.session.commit()
    return CustomerDataOut.model_validate(document)


@operation(
    "POST",
    "/customers/<email>/erase",
    summary="Erase a customer's personal data",
    tag="Customers",
    query=ErasureQuery,
    response=ErasureOut,
    status=(200, 202),
)
def erase_customer(email: str, query: ErasureQuery):
    """Anonymises the customer in the shop at once: names, addresses, emails and every text
    by or about them; their photos, files and labels are deleted. Numbers, amounts, dates,
    products and resolutions stay. Refused (409) while one of their returns is under way.
    With ``when_settled=true`` such an erasure is scheduled instead (202, ``scheduled``) and
    happens once the return is resolved or cancelled. Idempotent: erasing again answers
    ``erased: false``. Sends ``customer.erased``."""
    redact_stored_path("/api/v1/customers/[erased]/erase")
    data = customer_data.find(g.api_key, email)
    try:
        erasure = customer_erasure.erase(data, api_actor())
    except customer_erasure.ErasureRefused as refusal:
        if query.when_settled != "true":
            raise refused(str(refusal)) from None
        customer_erasure.schedule(data, g.api_key)
        return ErasureOut(erased=False, scheduled=True, counts=data.counts()), 202
    return ErasureOut(erased=erasure.erased, counts=erasure.counts)
