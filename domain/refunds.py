"""The refund amount of a request: computed here and nowhere else.

Staff (the request page, the Returns list) and the customer (the status page) render the same
``RefundBreakdown``, so both always see the same lines, discounts, fee and total. Money is
integer cents throughout; ``format_money`` turns cents into text only at the edge.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from babel.numbers import format_currency
from flask_babel import get_locale

from domain.statuses import (
    FEWER_RECEIVED,
    NOT_REFUNDED,
    PARTLY_REFUNDED,
    REFUND_NOTE_LABELS,
    REJECTED,
    RESOLUTION_LABELS,
    SETTLEMENT_FEE_LABELS,
    SETTLEMENT_TOTAL_LABELS,
)
from models import (
    CONDITION_DAMAGED,
    CONDITION_MISSING,
    CONDITION_OK,
    FEE_DEDUCTED,
    REFUND_FULL,
    REFUND_NONE,
    REFUND_PARTIAL,
    ReturnRequest,
    ReturnRequestLine,
)

# The return reasons (``ReturnReason.code``) by which a customer says the item was damaged or
# defective when it reached them: finding it damaged then confirms their report.
DAMAGE_REASON_CODES = frozenset({"damaged", "defective", "broken"})


@dataclass(frozen=True)
class RefundLine:
    """One request line: what was asked, what is refunded, and why the two may differ."""

    request_line_id: int
    description: str
    requested_quantity: int
    refunded_quantity: int
    unit_price_cents: int
    discount_cents: int
    amount_cents: int
    # Why not all is refunded: a code of statuses.REFUND_NOTE_LABELS, or None.
    note: str | None = None
    # What the staff wrote to the customer about the line's refund at receipt, or "".
    customer_note: str = ""

    @property
    def gross_cents(self) -> int:
        return self.refunded_quantity * self.unit_price_cents

    @property
    def note_text(self) -> str:
        """The reason in the reader's language, or "" when the line is refunded in full."""
        return str(REFUND_NOTE_LABELS[self.note]) if self.note else ""


@dataclass(frozen=True)
class RefundBreakdown:
    """Item prices of the accepted lines, minus their discounts, minus any return fee."""

    currency: str
    lines: list[RefundLine] = field(default_factory=list)
    fee_cents: int = 0
    inspected: bool = False

    @property
    def items_cents(self) -> int:
        return sum(line.gross_cents for line in self.lines)

    @property
    def discount_cents(self) -> int:
        return sum(line.discount_cents for line in self.lines)

    @property
    def subtotal_cents(self) -> int:
        return sum(line.amount_cents for line in self.lines)

    @property
    def total_cents(self) -> int:
        return self.subtotal_cents - self.fee_cents

    # The refund's words, for a shop's email that shows this breakdown alone
    # (``refund_breakdown_table``); the pages and emails of ReturnDesk show a ``Settlement``.
    @property
    def caption(self) -> str:
        return str(RESOLUTION_LABELS["refund"])

    @property
    def fee_label(self) -> str:
        return str(SETTLEMENT_FEE_LABELS["refund"])

    @property
    def total_label(self) -> str:
        return str(SETTLEMENT_TOTAL_LABELS["refund"])

    def format(self, cents: int, locale: str | None = None) -> str:
        """Money in this breakdown's currency, in ``locale`` or the current page's language."""
        return format_money(cents, self.currency, locale or str(get_locale() or "en"))


def refund_breakdown(request: ReturnRequest) -> RefundBreakdown:
    """The refund for a request, from its lines as decided and, once received, as inspected.

    Before inspection the lines not rejected count (what the customer may expect); after it,
    each line as chosen at receipt (``chosen_refund``: full for the quantity actually
    received, a partial amount, or nothing). The fee never makes the total negative.
    """
    lines = [refund_line(line) for line in request.lines]
    subtotal = sum(line.amount_cents for line in lines)
    return RefundBreakdown(
        currency=request.order.currency,
        lines=lines,
        fee_cents=min(deducted_fee_cents(request), subtotal),
        inspected=any(line.condition is not None for line in request.lines),
    )


@dataclass(frozen=True)
class RefundChoice:
    """What staff choose to pay for one line at receipt: ``choice`` (``REFUND_CHOICES``, None
    for the default), the amount of a partial refund, and a note shown to the customer."""

    choice: str | None = None
    partial_cents: int | None = None
    note: str | None = None


def default_refund_choice(condition: str, reason_code: str | None) -> str:
    """What is paid for a received line unless staff choose otherwise.

    An item found OK is refunded in full (for the units received). An item found damaged is
    refunded in full when the customer's own return reason said it was damaged or defective
    (``DAMAGE_REASON_CODES``): the damage is what they returned it for, not what they did to
    it. Otherwise a damaged item, a wrong item or a missing one pays nothing.
    """
    if condition == CONDITION_OK:
        return REFUND_FULL
    if condition == CONDITION_DAMAGED and reason_code in DAMAGE_REASON_CODES:
        return REFUND_FULL
    return REFUND_NONE


def line_default_choice(line: ReturnRequestLine, condition: str) -> str:
    """``default_refund_choice`` for a line found in ``condition``, by the customer's reason."""
    return default_refund_choice(condition, line.reason.code if line.reason else None)


def full_amount_cents(line: ReturnRequestLine, quantity: int) -> int:
    """A full refund of ``quantity`` units of the line: their price minus their discount."""
    order_line = line.order_line
    discount = pro_rata(order_line.discount_cents, quantity, order_line.quantity)
    return quantity * order_line.unit_price_cents - discount


def refund_line(line: ReturnRequestLine) -> RefundLine:
    """Price one request line: unit price × refunded quantity, minus its share of the
    discount; a partial refund chosen at receipt pays its amount instead (never more)."""
    quantity, note = refunded_quantity(line)
    order_line = line.order_line
    amount = full_amount_cents(line, quantity)
    if line.condition is not None and chosen_refund(line) == REFUND_PARTIAL:
        amount = min(line.refund_partial_cents or 0, amount)
    return RefundLine(
        request_line_id=line.id,
        description=str(order_line),
        requested_quantity=line.quantity,
        refunded_quantity=quantity,
        unit_price_cents=order_line.unit_price_cents,
        discount_cents=pro_rata(order_line.discount_cents, quantity, order_line.quantity),
        amount_cents=amount,
        note=note,
        customer_note=(line.refund_note or "") if line.condition is not None else "",
    )


def chosen_refund(line: ReturnRequestLine) -> str:
    """What is paid for an inspected line: as chosen at receipt, else by default."""
    return line.refund_choice or line_default_choice(line, line.condition or CONDITION_OK)


def refunded_quantity(line: ReturnRequestLine) -> tuple[int, str | None]:
    """How many units of a line are refunded, and the reason code when not all of them
    (or not in full): what was found explains it, else the staff's choice does."""
    if line.decision == "rejected":
        return 0, REJECTED
    if line.condition is None:
        return line.quantity, None
    found = line.condition if line.condition != CONDITION_OK else None
    choice = chosen_refund(line)
    if choice == REFUND_NONE:
        return 0, found or NOT_REFUNDED
    received = line.quantity if line.received_quantity is None else line.received_quantity
    received = max(0, min(received, line.quantity))
    if received < line.quantity:
        return received, CONDITION_MISSING if received == 0 else FEWER_RECEIVED
    if choice == REFUND_PARTIAL:
        return received, found or PARTLY_REFUNDED
    return received, None


def pro_rata(discount_cents: int, quantity: int, of_quantity: int) -> int:
    """The share of an order line's discount for ``quantity`` of its units, rounded half up."""
    if of_quantity <= 0 or quantity <= 0:
        return 0
    return (2 * discount_cents * quantity + of_quantity) // (2 * of_quantity)


def label_fee_cents(request: ReturnRequest) -> int:
    """The fee for the request's return label, shown before it is made and kept on the Return.

    The fee recorded at approval (what the customer was told), or the shop's current fee
    while the request is not approved yet. None with free shipping, nor when the customer
    keeps the items (nothing ships).
    """
    if request.free_shipping or request.keep_items:
        return 0
    if request.return_fee_cents is not None:
        return request.return_fee_cents
    return request.shop.return_fee_cents


def shipping_fee_cents(request: ReturnRequest) -> int:
    """What the customer pays for the return label: the fee recorded on the request's
    return once the label is made, the fee recorded at approval before that."""
    if request.free_shipping or request.keep_items:
        return 0
    shipments = [r for r in request.returns if r.status != "cancelled"]
    if shipments:
        return shipments[-1].cost_cents
    return label_fee_cents(request)


def deducted_fee_cents(request: ReturnRequest) -> int:
    """The return fee taken off the refund, when that is the shop's policy.

    The fee recorded on the request (shown to the customer before the label was made) wins
    over the shop's current fee, which may have changed since.
    """
    if request.shop.return_fee_policy != FEE_DEDUCTED:
        return 0
    return shipping_fee_cents(request)


def format_money(cents: int, currency: str, locale: str) -> str:
    """Cents as the locale writes money: ``format_money(1995, "EUR", "nl")`` → ``€ 19,95``."""
    return format_currency(Decimal(cents) / 100, currency, locale=locale)
