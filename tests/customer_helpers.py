"""A customer with a history, for the privacy tests: two orders and two requests (one
returned and refunded, one cancelled), photos, messages both ways with files, an internal
note, an answer, a return label, emails and webhook deliveries; and a second customer of the
same shop whose data must stay untouched.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field

from sqlalchemy import JSON, String, Text, select

from domain import workflow
from extensions import db
from factories import make_order, make_request
from models import Attachment, ReturnRequest, Shop, User, WebhookEndpoint
from portal_helpers import jpeg_bytes
from return_flow import create_label
from services import conversation, storage
from services.conversation import Upload

NAME = "Zoë Jansen-Verhoef"
EMAIL = "Zoe.Jansen@example.nl"
STREET = "Kerkstraat 12"
POSTCODE = "3512 KL"
CITY = "Utrechtwijk"
COMMENT = "De mouwen zijn veel te lang"
ANSWER = "De doos was al open"
REPLY = "Kan ik de trui ook ruilen?"
NOTE = "Klant belde over de lange mouwen"
CANCEL_REASON = "Zoë vroeg zelf om te annuleren"
PHOTO_NAME = "mouwfoto.jpg"
REPLY_FILE = "kassabon.jpg"
# What must be gone from every table after the erasure (case-insensitive).
PERSONAL = (NAME, EMAIL, STREET, POSTCODE, CITY, COMMENT, ANSWER, REPLY, NOTE, CANCEL_REASON)


@dataclass
class Customer:
    """The numbers and amounts of the customer's history, to check what stays."""

    email: str
    order_numbers: list[str]
    request_numbers: list[str]
    return_numbers: list[str]
    totals: dict[str, int]
    refunds: dict[str, int | None]
    storage_keys: list[str] = field(default_factory=list)


def customer_story(shop: Shop, agent: User, prefix: str = "DW") -> Customer:
    """The customer ``EMAIL`` of ``shop``: both requests settled, every kind of row written."""
    db.session.add(
        WebhookEndpoint(
            shop=shop,
            url="https://hooks.example.com/returndesk",
            events=["request.created", "request.status_changed", "message.received"],
        )
    )
    first_order = make_order(
        shop,
        number=f"{prefix}-5001",
        customer_name=NAME,
        customer_email=EMAIL,
        customer_postcode=POSTCODE,
        customer_street=STREET,
        customer_city=CITY,
    )
    first = make_request(shop, first_order, language="nl", answers={"packaging": ANSWER})
    first.lines[0].comment = COMMENT
    storage.save(
        jpeg_bytes(),
        PHOTO_NAME,
        "image/jpeg",
        shop.id,
        request_id=first.id,
        request_line_id=first.lines[0].id,
    )
    conversation.receive_reply(first, REPLY, [Upload(REPLY_FILE, jpeg_bytes())])
    conversation.send_message(first, agent, f"Hallo {NAME}, ruilen kan.", [])
    conversation.add_internal_note(first, agent, NOTE, [])
    workflow.approve(first, agent)
    db.session.commit()
    return_ = create_label(first)
    workflow.mark_in_transit(return_, agent)
    workflow.mark_delivered(return_, agent)
    workflow.receive(return_, agent, {line.id: ("ok", line.quantity) for line in first.lines})
    workflow.resolve(return_, agent, "refund")
    db.session.commit()

    second_order = make_order(
        shop, number=f"{prefix}-5002", customer_name=NAME, customer_email=EMAIL.lower()
    )
    second = make_request(shop, second_order, language="nl")
    storage.save(
        jpeg_bytes(),
        "tweede.jpg",
        "image/jpeg",
        shop.id,
        request_id=second.id,
        request_line_id=second.lines[0].id,
    )
    workflow.cancel(second, agent, CANCEL_REASON)
    db.session.commit()
    requests = [first, second]
    keys = db.session.scalars(
        select(Attachment.storage_key).where(Attachment.request_id.in_([r.id for r in requests]))
    )
    return Customer(
        email=EMAIL,
        order_numbers=[first_order.number, second_order.number],
        request_numbers=[r.number for r in requests],
        return_numbers=[return_.number],
        totals={r.number: r.total_cents for r in requests},
        refunds={return_.number: return_.refund_cents},
        storage_keys=list(keys),
    )


def other_customer(shop: Shop, agent: User) -> ReturnRequest:
    """Another customer of the same shop, with a photo and a message of her own."""
    order = make_order(
        shop, number="DW-6001", customer_name="Mila Bakker", customer_email="mila@example.nl"
    )
    request = make_request(shop, order, language="nl")
    storage.save(
        jpeg_bytes(),
        "mila.jpg",
        "image/jpeg",
        shop.id,
        request_id=request.id,
        request_line_id=request.lines[0].id,
    )
    conversation.receive_reply(request, "Groetjes van Mila", [])
    db.session.commit()
    return request


def texts_holding(values: tuple[str, ...]) -> list[str]:
    """``table.column: value`` of every text, string or JSON cell of every table that holds
    one of ``values`` (case-insensitive)."""
    db.session.expire_all()
    wanted = [value.lower() for value in values]
    found = []
    for table in db.metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, String | Text | JSON)]
        if not columns:
            continue
        for row in db.session.execute(select(*columns)):
            for column, cell in zip(columns, row, strict=True):
                if cell is None:
                    continue
                text = cell if isinstance(cell, str) else json.dumps(cell, ensure_ascii=False)
                hits = [value for value in wanted if value in text.lower()]
                if hits:
                    found.append(f"{table.name}.{column.name}: {hits} in {text[:120]!r}")
    return found


def opened_zip(body: bytes) -> tuple[dict, dict[str, bytes]]:
    """``customer.json`` and every other file of an export ZIP."""
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    return json.loads(files.pop("customer.json")), files
