"""What an email template sees: plain, frozen data built for it, never an ORM object.

Every email renders from one ``EmailContext``: the default templates and a shop's own
override, written at once or later by the delivery job, and the editor's preview. Its fields
are the only names a template may use, and the editor lists them from here
(``documented_names``), so an override and a default always see the same names.

Why plain data: a template handed a model can climb from it (``request.query.session…``) to
the database, the secret key and the operating system, sandbox or not. What is handed here
holds strings, numbers, booleans, moments and small frozen dataclasses of the same: nothing to
climb from. ``EmailContext`` refuses anything else when it is built.
"""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Sequence
from dataclasses import MISSING, dataclass, field, fields
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Union, get_args, get_origin, get_type_hints

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from domain import colours, links
from domain.formatting import money
from domain.refunds import RefundBreakdown, RefundLine, shipping_fee_cents
from domain.settlement import Settlement, describe, settlement_summary
from domain.statuses import status_label
from models import (
    APPROVED,
    DEFAULT_TIME_ZONE,
    Attachment,
    Message,
    Return,
    ReturnRequest,
    ReturnRequestLine,
    Shop,
    User,
    utcnow,
)


def described(doc: LazyString, *, default: Any = MISSING, item: str = "", platform=False):
    """A field with what the editor says about it; ``item`` names one entry of a list, and
    ``platform`` marks the names only the platform's own emails (invitation, password) use."""
    return field(default=default, metadata={"doc": doc, "item": item, "platform": platform})


@dataclass(frozen=True)
class EmailShop:
    name: str = described(_l("The shop's name."))
    slug: str = described(_l("The shop's short name in web addresses."))
    brand_color: str = described(_l("The shop's colour, e.g. #0d6efd."))
    button_color: str = described(
        _l("The shop's colour where white text reads on it (buttons), else a dark shade.")
    )
    logo_url: str = described(_l("The address of the shop's logo, or empty."))
    support_email: str = described(_l("The shop's customer service address, or empty."))
    return_address: str = described(_l("Where returns go, on one line."))
    currency: str = described(_l("The shop's currency code, e.g. EUR."))
    return_fee_cents: int = described(
        _l("The shop's return fee today in cents (a request's fee is request.return_fee).")
    )
    time_zone: str = described(_l("The shop's time zone, e.g. Europe/Amsterdam."))


@dataclass(frozen=True)
class EmailOrderLine:
    product_name: str = described(_l("The product's name."))
    variant: str = described(_l("The product's variant (size, colour), or empty."))
    sku: str = described(_l("The product's SKU."))
    price: str = described(_l("The price of one unit, written as money."))


@dataclass(frozen=True)
class EmailLine:
    quantity: int = described(_l("How many units the customer returns."))
    order_line: EmailOrderLine = described(_l("The product ordered."))
    reason: str = described(_l("The return reason, in the email's language."))
    comment: str = described(_l("The customer's comment on this item, or empty."))
    decision: str = described(_l("The agent's decision: open, approved or rejected."))
    decision_reason: str = described(_l("Why the item was rejected, or empty."))


@dataclass(frozen=True)
class EmailRequest:
    number: str = described(_l("The request's number, e.g. R-2026-00042."))
    order_number: str = described(_l("The order's number."))
    customer_name: str = described(_l("The customer's name."))
    status: str = described(_l("The status code, e.g. approved."))
    status_label: str = described(_l("The status in the email's language."))
    resolution: str = described(
        _l("What the customer asked for: refund, exchange or store_credit.")
    )
    exchange_note: str = described(_l("What the customer wants in exchange, or empty."))
    free_shipping: bool = described(_l("Whether the return ships free."))
    keep_items: bool = described(_l("Whether the customer keeps the items."))
    is_withdrawal: bool = described(_l("Whether this is a withdrawal from the contract."))
    cancel_reason: str = described(_l("Why the request was cancelled, or empty."))
    total: str = described(_l("The value of the returned items, written as money."))
    return_fee: str = described(
        _l("What the return label costs the customer, as recorded, written as money.")
    )
    lines: tuple[EmailLine, ...] = described(_l("The items (the same as lines)."), item="line")


@dataclass(frozen=True)
class EmailAttachment:
    id: int = described(_l("The file's number, for its link on the return page."))
    original_name: str = described(_l("The file's name."))


@dataclass(frozen=True)
class EmailMessage:
    body: str = described(_l("The message's text."))
    attachments: tuple[EmailAttachment, ...] = described(
        _l("The files sent with it."), item="attachment"
    )


@dataclass(frozen=True)
class EmailReturn:
    number: str = described(_l("The return's number."))
    carrier: str = described(_l("The carrier."))
    tracking_number: str = described(_l("The tracking number, or empty."))
    tracking_url: str = described(_l("The carrier's tracking page, or empty."))
    resolution: str = described(_l("How the return was settled: refund, exchange or store_credit."))
    refund_cents: int = described(_l("The amount refunded, in cents."))


@dataclass(frozen=True)
class EmailPerson:
    name: str = described(_l("The person's name."))


@dataclass(frozen=True)
class EmailContext:
    """Every name an email template may use; a name an email has no value for is empty."""

    language: str = described(_l("The email's language: nl or en."))
    public_url: str = described(_l("The address of ReturnDesk."))
    shop: EmailShop | None = described(_l("The shop."), default=None)
    request: EmailRequest | None = described(_l("The return request."), default=None)
    lines: tuple[EmailLine, ...] = described(
        _l("The request's items; each one is a line."), default=(), item="line"
    )
    status_url: str = described(_l("The customer's return page."), default="")
    staff_url: str = described(_l("The request's page for the shop's staff."), default="")
    request_url: str = described(_l("The same as staff_url."), default="")
    submitted_at: datetime | None = described(
        _l("When the request was made; write it with |moment(shop)."), default=None
    )
    refund_deadline: datetime | None = described(
        _l("A withdrawal's refund deadline; write it with |moment(shop)."), default=None
    )
    ship_by: datetime | None = described(
        _l(
            "The last day to create the return label and send the items, or empty; write it "
            "with |moment_date(shop)."
        ),
        default=None,
    )
    message: EmailMessage | None = described(_l("The message sent or received."), default=None)
    attachments: tuple[EmailAttachment, ...] = described(
        _l("The files sent with the message."), default=(), item="attachment"
    )
    linked: bool = described(
        _l("Whether the files are too large to attach and are linked instead."), default=False
    )
    return_: EmailReturn | None = described(_l("The return (shipment)."), default=None)
    refund: RefundBreakdown | None = described(
        _l(
            "The refund: refund.lines (description, refunded_quantity, requested_quantity, "
            "amount_cents, note_text), refund.fee_cents, refund.total_cents and "
            "refund.format(cents) to write an amount as money."
        ),
        default=None,
    )
    settlement: Settlement | None = described(
        _l(
            "What the customer gets, in the words of the resolution: settlement.heading, "
            "settlement.outcome (what to expect, or what was done), settlement.amount (empty "
            "for an exchange), settlement.pays_money, settlement.exchange_note, "
            "settlement.exchange_items, settlement.shipping_sentence (the recorded return "
            "fee), settlement.fee_label, settlement.total_label, settlement.credit_code (the "
            "store credit's code once the shop's platform issued it, else empty); import "
            "settlement_table from refunds/breakdown.html to show it as a table."
        ),
        default=None,
    )
    user: EmailPerson | None = described(_l("The staff member."), default=None, platform=True)
    inviter: EmailPerson | None = described(_l("Who invited them."), default=None, platform=True)
    role_label: str = described(_l("Their role."), default="", platform=True)
    needs_password: bool = described(
        _l("Whether they choose a password."), default=False, platform=True
    )
    link: str = described(_l("Their link."), default="", platform=True)
    notification: str = described(
        _l("What the staff member is told of, as a sentence."), default="", platform=True
    )

    def __post_init__(self) -> None:
        for each in fields(self):
            ensure_plain(getattr(self, each.name), each.name)

    def names(self) -> dict[str, Any]:
        """The template's names (``dataclasses.asdict`` would turn the parts into dicts)."""
        return {each.name: getattr(self, each.name) for each in fields(self)}


PLAIN_VALUES = (str, int, float, bool, Decimal, datetime, date, type(None))


def ensure_plain(value: Any, name: str) -> None:
    """Refuse to hand a template anything but plain values and frozen dataclasses of them."""
    if isinstance(value, PLAIN_VALUES):
        return
    if isinstance(value, tuple | list):
        for item in value:
            ensure_plain(item, name)
        return
    if dataclasses.is_dataclass(value) and not isinstance(value, type) and is_frozen(value):
        for each in fields(value):
            ensure_plain(getattr(value, each.name), f"{name}.{each.name}")
        return
    raise TypeError(f"email templates see plain data only: {name} is a {type(value).__name__}")


def is_frozen(instance: Any) -> bool:
    return type(instance).__dataclass_params__.frozen


# --- built from the models ----------------------------------------------------------------


def build(
    language: str,
    *,
    shop: Shop | None = None,
    request: ReturnRequest | None = None,
    message: Message | None = None,
    attachments: Sequence[Attachment] = (),
    return_: Return | None = None,
    user: User | None = None,
    inviter: User | None = None,
    **plain: Any,
) -> EmailContext:
    """The context of one email in ``language``; call it inside ``force_locale(language)``,
    as ``emails.render_with`` does, so words and amounts are in the reader's language.

    ``plain`` are the remaining names, given as plain values (a translated label may be lazy).
    """
    about = None
    if request is not None:
        about = request_data(request, language)
        shop = shop or request.shop
        plain = {
            "lines": about.lines,
            "status_url": links.status_url(request),
            "staff_url": links.staff_url(request.id),
            "request_url": links.staff_url(request.id),
            "submitted_at": request.created_at or utcnow(),
            "ship_by": request.ship_by_at,
            "settlement": settlement_summary(request),
        } | plain
    return EmailContext(
        language=language,
        public_url=links.public_url(),
        shop=shop_data(shop) if shop is not None else None,
        request=about,
        message=message_data(message) if message is not None else None,
        attachments=tuple(attachment_data(attachment) for attachment in attachments),
        return_=return_data(return_) if return_ is not None else None,
        user=person_data(user) if user is not None else None,
        inviter=person_data(inviter) if inviter is not None else None,
        **{name: plain_value(value) for name, value in plain.items()},
    )


def plain_value(value: Any) -> Any:
    """A lazily translated label as text, a moment in UTC; anything else as it is."""
    if isinstance(value, LazyString):
        return str(value)
    if isinstance(value, datetime):
        return utc(value)
    return value


def utc(moment: datetime) -> datetime:
    """A stored moment in UTC (SQLite hands it back naive; it is stored as UTC)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def shop_data(shop: Shop) -> EmailShop:
    address = [
        shop.return_address_name or shop.name,
        shop.return_address_street,
        " ".join(part for part in (shop.return_address_postcode, shop.return_address_city) if part),
        shop.return_address_country,
    ]
    return EmailShop(
        name=shop.name,
        slug=shop.slug,
        brand_color=colours.brand_colour(shop),
        button_color=colours.readable_colour(colours.brand_colour(shop)),
        logo_url=links.absolute(shop.logo_url or ""),
        support_email=shop.support_email or "",
        return_address=", ".join(part for part in address if part),
        currency=shop.currency or "EUR",
        return_fee_cents=shop.return_fee_cents or 0,
        time_zone=shop.time_zone or DEFAULT_TIME_ZONE,
    )


def request_data(request: ReturnRequest, language: str) -> EmailRequest:
    """The request as an email tells it: the same items whichever path writes the email."""

    currency = request.order.currency
    return EmailRequest(
        number=request.number,
        order_number=request.order_number,
        customer_name=request.customer_name,
        status=request.status,
        status_label=status_label(request.status),
        resolution=request.resolution or "",
        exchange_note=request.exchange_note or "",
        free_shipping=bool(request.free_shipping),
        keep_items=bool(request.keep_items),
        is_withdrawal=bool(request.is_withdrawal),
        cancel_reason=request.cancel_reason or "",
        total=money(request.total_cents, currency),
        return_fee=money(shipping_fee_cents(request), request.shop.currency),
        lines=tuple(line_data(line, language, currency) for line in request.lines),
    )


def line_data(line: ReturnRequestLine, language: str, currency: str) -> EmailLine:
    ordered = line.order_line
    return EmailLine(
        quantity=line.quantity,
        order_line=EmailOrderLine(
            product_name=ordered.product_name,
            variant=ordered.variant or "",
            sku=ordered.sku,
            price=money(ordered.unit_price_cents, currency),
        ),
        reason=line.reason.label(language) if line.reason is not None else "",
        comment=line.comment or "",
        decision=line.decision,
        decision_reason=line.decision_reason or "",
    )


def attachment_data(attachment: Attachment) -> EmailAttachment:
    return EmailAttachment(id=attachment.id, original_name=attachment.original_name)


def message_data(message: Message) -> EmailMessage:
    return EmailMessage(
        body=message.body,
        attachments=tuple(attachment_data(attachment) for attachment in message.attachments),
    )


def return_data(return_: Return) -> EmailReturn:
    return EmailReturn(
        number=return_.number,
        carrier=return_.carrier,
        tracking_number=return_.tracking_number or "",
        tracking_url=return_.tracking_url or "",
        resolution=return_.resolution or "",
        refund_cents=return_.refund_cents or 0,
    )


def person_data(user: User) -> EmailPerson:
    return EmailPerson(name=user.name)


# --- what the editor lists ------------------------------------------------------------------

# Besides the names: what an override may call. Nothing here returns an object of the app.
FUNCTIONS = (
    ("_('…'), gettext('…'), ngettext('…', '…', n)", _l("Text in the email's language.")),
    ("money(cents, currency)", _l("An amount in cents written as money, e.g. € 5,95.")),
    ("submitted_at|moment(shop)", _l("A moment written out in the shop's time zone.")),
    ("ship_by|moment_date(shop)", _l("The day of a moment in the shop's time zone, in words.")),
)


def documented_names() -> list[tuple[str, LazyString]]:
    """Each name a shop's email may use with what it holds, read from the dataclasses above."""
    rows: list[tuple[str, LazyString]] = []
    _describe(EmailContext, "", rows, seen=set())
    return rows + [(name, doc) for name, doc in FUNCTIONS]


def template_names() -> list[str]:
    """The names a shop's email template may use at its top level (``request``, ``shop``…)."""
    return [each.name for each in fields(EmailContext) if not each.metadata["platform"]]


def part_names() -> dict[type, str]:
    """How a template writes each part: ``EmailRequest`` is ``request``, ``EmailLine`` is
    ``line`` (an item of ``lines``), ``EmailOrderLine`` is ``line.order_line``."""
    parts: dict[type, str] = {}
    _name_parts(EmailContext, "", parts)
    return parts


def _name_parts(cls: type, prefix: str, parts: dict[type, str]) -> None:
    hints = get_type_hints(cls)
    for each in fields(cls):
        part = _documented_part(hints[each.name])
        if part is not None and part not in parts:
            parts[part] = each.metadata["item"] or prefix + each.name
            _name_parts(part, parts[part] + ".", parts)


def _describe(cls: type, prefix: str, rows: list, seen: set[type]) -> None:
    seen.add(cls)
    hints = get_type_hints(cls)
    for each in fields(cls):
        if each.metadata["platform"]:
            continue
        rows.append((prefix + each.name, each.metadata["doc"]))
        part = _documented_part(hints[each.name])
        if part is not None and part not in seen:
            item = each.metadata["item"]
            _describe(part, f"{item}." if item else f"{prefix}{each.name}.", rows, seen)


def _documented_part(hint: Any) -> Any:
    """The dataclass of this module a field holds (alone, optional or as a tuple of them)."""
    if get_origin(hint) in (Union, types.UnionType, tuple):
        return next(filter(None, map(_documented_part, get_args(hint))), None)
    if dataclasses.is_dataclass(hint) and hint.__module__ == __name__:
        return hint
    return None


def example(shop: Shop, language: str) -> EmailContext:
    """A made-up request of ``shop`` with every part filled in (a message, a return, a
    refund), to try a template on before it is saved; call it inside ``force_locale``."""
    currency = shop.currency or "EUR"
    line = EmailLine(
        quantity=1,
        order_line=EmailOrderLine("Linnen blouse", "M", "SKU-1", money(4995, currency)),
        reason="Te klein" if language == "nl" else "Too small",
        comment="",
        decision="approved",
        decision_reason="",
    )
    request = EmailRequest(
        number="R-2026-00042",
        order_number="1001",
        customer_name="Eva de Vries",
        status="approved",
        status_label=status_label(APPROVED),
        resolution="refund",
        exchange_note="",
        free_shipping=False,
        keep_items=False,
        is_withdrawal=False,
        cancel_reason="",
        total=money(4995, currency),
        return_fee=money(shop.return_fee_cents, currency),
        lines=(line,),
    )
    breakdown = RefundBreakdown(
        currency=currency,
        lines=[RefundLine(1, "Linnen blouse (M)", 1, 1, 4995, 0, 4995)],
        fee_cents=shop.return_fee_cents or 0,
    )
    now = datetime.now(UTC)
    file = EmailAttachment(id=1, original_name="photo.jpg")
    return EmailContext(
        language=language,
        public_url=links.public_url(),
        shop=shop_data(shop),
        request=request,
        lines=request.lines,
        status_url=links.public_url() + links.status_path(shop.slug, "example"),
        staff_url=links.staff_url(1),
        request_url=links.staff_url(1),
        submitted_at=now,
        refund_deadline=now,
        ship_by=now + timedelta(days=14),
        message=EmailMessage(body="…", attachments=(file,)),
        attachments=(file,),
        return_=EmailReturn("RET-2026-00042", "postnl", "3SABC123", "", "refund", 4995),
        refund=breakdown,
        settlement=describe(
            "refund", breakdown, fee_cents=shop.return_fee_cents or 0, shop_name=shop.name
        ),
    )
