"""What the customer gets for a return, in the words of its resolution: built here only.

A refund says the refund and its amount; an exchange says what will be sent instead and no
amount; store credit says the credit's amount and how it is given. The customer's status
page and label page, the staff's request and return pages and every email read the same
``Settlement``, so none of them can call an exchange a refund, nor show a fee other than the
one recorded. Its words are written in the language current when it is built: the page's,
or the email's (``email_context.build`` runs inside ``force_locale``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select

from domain.refunds import RefundBreakdown, refund_breakdown, shipping_fee_cents
from domain.statuses import (
    RESOLUTION_LABELS,
    SETTLEMENT_FEE_LABELS,
    SETTLEMENT_HEADINGS,
    SETTLEMENT_STAFF_HEADINGS,
    SETTLEMENT_TOTAL_LABELS,
)
from extensions import db
from models import RETURN_RESOLVED, Refund, Return, ReturnRequest

EXCHANGE = "exchange"
STORE_CREDIT = "store_credit"


@dataclass(frozen=True)
class Settlement:
    """Plain words and amounts of what a request settles as; templates only print them."""

    # refund, exchange or store_credit: how the return was settled, else what was asked.
    resolution: str
    resolution_label: str
    # Whether the return is settled already (the outcome is then told in the past tense).
    settled: bool
    # The items as priced; for an exchange only the items and quantities count.
    breakdown: RefundBreakdown
    # False for an exchange: it pays no amount, so no amount is shown.
    pays_money: bool
    # The amount refunded or credited, written as money; "" for an exchange.
    amount: str
    heading: str
    staff_heading: str
    total_label: str
    fee_label: str
    # What the customer asked for in exchange, and the items exchanged ("2 × Blouse (M)").
    exchange_note: str
    exchange_items: tuple[str, ...]
    # The recorded return fee: "Free" or the amount, a sentence for an email, the label
    # page's words and the staff's return page's words.
    shipping: str
    shipping_sentence: str
    label_fee: str
    staff_fee: str
    # What the customer may expect (or, once settled, got), in one or two sentences.
    outcome: str
    # Whether the amount may still change when the items are received and checked: not once
    # settled or inspected, and never when the customer keeps the items.
    provisional: bool
    # The code of the store credit issued on the shop's platform, once it is; else "".
    credit_code: str = ""


def settlement_summary(
    request: ReturnRequest, refunds: Sequence[Refund] | None = None
) -> Settlement:
    """The settlement of ``request``: of its resolved return once settled, else as asked.
    ``refunds`` are the request's refunds when the caller has loaded them already."""
    resolved = resolved_return(request)
    payout: Refund | None = None
    if request.settled_at is not None:  # the customer kept the items: settled on the request
        resolution, cents = request.settled_resolution, request.settled_cents
        payout = kept_payout_of(request, refunds)
    elif resolved is not None:
        resolution, cents = resolved.resolution, resolved.refund_cents
        payout = payout_of(resolved, refunds)
    else:
        resolution, cents = None, None
    # A refund or store credit is settled once the shop's platform confirmed it, or staff
    # marked the one made by hand; an exchange (no payout) once resolved.
    settled = (resolution is not None) and (payout is None or payout.status == "succeeded")
    code = ""
    if payout is not None and payout.kind == STORE_CREDIT and payout.status == "succeeded":
        code = payout.provider_id or ""
    return describe(
        resolution or request.resolution,
        refund_breakdown(request),
        fee_cents=shipping_fee_cents(request),
        shop_name=request.shop.name,
        exchange_note=request.exchange_note or "",
        settled_cents=cents,
        settled=settled,
        awaits_items=not request.keep_items,
        credit_code=code,
    )


def payout_of(return_: Return, refunds: Sequence[Refund] | None = None) -> Refund | None:
    """The refund or store credit recorded for a resolved return, if any; looked for among
    ``refunds`` (its request's, loaded already) when given."""
    if refunds is not None:
        return latest(refund for refund in refunds if refund.return_id == return_.id)
    return db.session.scalar(
        select(Refund).where(Refund.return_id == return_.id).order_by(Refund.id.desc()).limit(1)
    )


def kept_payout_of(
    request: ReturnRequest, refunds: Sequence[Refund] | None = None
) -> Refund | None:
    """The refund or store credit of a request settled with the items kept, if any; looked
    for among ``refunds`` (the request's, loaded already) when given."""
    if refunds is not None:
        return latest(refund for refund in refunds if refund.return_id is None)
    return db.session.scalar(
        select(Refund)
        .where(Refund.request_id == request.id, Refund.return_id.is_(None))
        .order_by(Refund.id.desc())
        .limit(1)
    )


def latest(refunds: Iterable[Refund]) -> Refund | None:
    """The most recent of ``refunds`` (the highest id), as the queries above order them."""
    return max(refunds, key=lambda refund: refund.id, default=None)


def resolved_return(request: ReturnRequest) -> Return | None:
    return next((r for r in request.returns if r.status == RETURN_RESOLVED), None)


def describe(
    resolution: str,
    breakdown: RefundBreakdown,
    *,
    fee_cents: int,
    shop_name: str,
    exchange_note: str = "",
    settled_cents: int | None = None,
    settled: bool = False,
    awaits_items: bool = True,
    credit_code: str = "",
) -> Settlement:
    """The words of a settlement from plain facts (the email editor's example uses it too)."""
    pays_money = resolution != EXCHANGE
    amount_cents = breakdown.total_cents if settled_cents is None else settled_cents
    amount = breakdown.format(amount_cents) if pays_money else ""
    fee = breakdown.format(fee_cents)
    items = exchange_items(breakdown) if not pays_money else ()
    return Settlement(
        resolution=resolution,
        resolution_label=str(RESOLUTION_LABELS.get(resolution, resolution)),
        settled=settled,
        breakdown=breakdown,
        pays_money=pays_money,
        amount=amount,
        heading=str(SETTLEMENT_HEADINGS.get(resolution, "")),
        staff_heading=str(SETTLEMENT_STAFF_HEADINGS.get(resolution, "")),
        total_label=str(SETTLEMENT_TOTAL_LABELS.get(resolution, "")),
        fee_label=str(SETTLEMENT_FEE_LABELS.get(resolution, "")),
        exchange_note=exchange_note,
        exchange_items=items,
        shipping=fee if fee_cents else _("Free"),
        shipping_sentence=shipping_sentence(resolution, fee_cents, fee),
        label_fee=label_fee_words(resolution, fee_cents, fee),
        staff_fee=staff_fee_words(resolution, fee_cents, fee),
        outcome=outcome(resolution, amount, items, exchange_note, shop_name, settled, credit_code),
        provisional=awaits_items and not settled and not breakdown.inspected,
        credit_code=credit_code,
    )


def exchange_items(breakdown: RefundBreakdown) -> tuple[str, ...]:
    """The items exchanged: those accepted and, once inspected, received in order."""
    return tuple(
        f"{line.refunded_quantity} × {line.description}"
        for line in breakdown.lines
        if line.refunded_quantity
    )


def shipping_sentence(resolution: str, fee_cents: int, fee: str) -> str:
    """What the return costs the customer, as an email says it."""
    if not fee_cents:
        return _("Returning is free of charge.")
    if resolution == EXCHANGE:
        return _("The return shipping costs %(fee)s.", fee=fee)
    if resolution == STORE_CREDIT:
        return _("The return shipping costs %(fee)s, deducted from your store credit.", fee=fee)
    return _("The return shipping costs %(fee)s, deducted from your refund.", fee=fee)


def label_fee_words(resolution: str, fee_cents: int, fee: str) -> str:
    """The cost beside the carrier choice on the customer's label page."""
    if not fee_cents:
        return _("The return label is free.")
    if resolution == EXCHANGE:
        return fee
    if resolution == STORE_CREDIT:
        return _("%(fee)s deducted from your store credit.", fee=fee)
    return _("%(fee)s deducted from your refund.", fee=fee)


def staff_fee_words(resolution: str, fee_cents: int, fee: str) -> str:
    """The label's cost on the staff's return page."""
    if not fee_cents:
        return _("Free")
    if resolution == EXCHANGE:
        return fee
    if resolution == STORE_CREDIT:
        return _("%(fee)s, deducted from the store credit", fee=fee)
    return _("%(fee)s, deducted from the refund", fee=fee)


def outcome(
    resolution: str,
    amount: str,
    items: tuple[str, ...],
    exchange_note: str,
    shop_name: str,
    settled: bool,
    credit_code: str = "",
) -> str:
    """What the customer may expect from the settlement, or got once it is settled."""
    if resolution == EXCHANGE:
        return exchange_outcome(", ".join(items), exchange_note)
    if resolution == STORE_CREDIT:
        if settled and credit_code:
            return _(
                "We issued you store credit of %(amount)s, for your next order at %(shop)s: "
                "enter the code %(code)s at checkout. It can be used once, with this email "
                "address.",
                amount=amount,
                shop=shop_name,
                code=credit_code,
            )
        if settled:
            return _(
                "We issued you store credit of %(amount)s, for your next order at %(shop)s.",
                amount=amount,
                shop=shop_name,
            )
        return _(
            "Expected store credit: %(amount)s, as store credit for your next order at "
            "%(shop)s. We will let you know when it is issued.",
            amount=amount,
            shop=shop_name,
        )
    if settled:
        return _(
            "We refunded %(amount)s to you. It may take a few working days to reach your account.",
            amount=amount,
        )
    return _("Expected refund: %(amount)s. We will let you know when it is paid.", amount=amount)


def exchange_outcome(items: str, note: str) -> str:
    """What is sent instead of the items returned: the customer's wish, else the same items."""
    if not items:
        return _("We will let you know when your return is settled.")
    if note.strip(" ."):
        return _(
            "In exchange for %(items)s we will send you: %(note)s.",
            items=items,
            note=note.strip(" ."),
        )
    return _("We will send you new items in exchange for %(items)s.", items=items)
