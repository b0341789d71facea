"""What a customer's portal page sees: plain, frozen data built for it, never an ORM object.

The portal's views work with models; the one helper that renders their pages
(``web.portal.request_form.render_page``) hands every value through ``plain`` first, which
gives each model the portal shows its page form here and refuses any other model. So a page
cannot pass the shop, an order or a reason to its template by mistake, and a template cannot
climb from one to the database (``domain.email_context`` says why that matters).

The attribute and method names are the models' where the templates read them
(``line.product_name``, ``reason.label(lang)``, ``shop.ships_free(option)``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields, is_dataclass
from datetime import datetime
from typing import Any

from domain.colours import brand_colour, readable_colour
from domain.submission_rules import Claim, LineState
from extensions import db
from models import Attachment, FormQuestion, Order, OrderLine, ReturnReason, Shop

# The portal's languages, and a shop's when it has chosen none.
LANGUAGES = ("nl", "en")


@dataclass(frozen=True)
class PortalShop:
    """The shop as every customer page shows it: its look, languages and shipping policy."""

    name: str
    slug: str
    logo_url: str | None
    color: str
    # ``color`` where it reads on white, else a dark shade (``domain.colours``).
    safe_color: str
    languages: tuple[str, ...]
    privacy_url: str | None
    resolution_list: tuple[str, ...]
    free_shipping_resolutions: tuple[str, ...]
    return_fee_cents: int

    def ships_free(self, resolution: str | None) -> bool:
        """The shop's default shipping policy for a chosen resolution (``Shop.ships_free``)."""
        return resolution in self.free_shipping_resolutions


@dataclass(frozen=True)
class PortalLine:
    """An order line: what was bought, how many and at what price."""

    id: int
    product_name: str
    variant: str | None
    quantity: int
    unit_price_cents: int


@dataclass(frozen=True)
class PortalOrder:
    number: str
    delivered_at: datetime | None
    lines: tuple[PortalLine, ...]


@dataclass(frozen=True)
class PortalLineState:
    """An order line on the items step (``submission_rules.LineState``)."""

    line: PortalLine
    returnable: int
    window_closes_at: datetime | None
    window_closed: bool
    claims: tuple[Claim, ...]
    not_returnable_because: str | None
    selectable: bool


@dataclass(frozen=True)
class PortalReason:
    id: int
    label_nl: str
    label_en: str
    requires_photo: bool

    def label(self, language: str) -> str:
        return self.label_nl if language == "nl" else self.label_en


@dataclass(frozen=True)
class PortalQuestion:
    id: int
    kind: str
    label_nl: str
    label_en: str
    required: bool

    def label(self, language: str) -> str:
        return self.label_nl if language == "nl" else self.label_en


@dataclass(frozen=True)
class PortalFile:
    """A photo or file the customer uploaded: named on the page, never linked."""

    id: int
    original_name: str


def portal_shop(shop: Shop) -> PortalShop:
    """What a customer page shows of the shop (the portal's, the label pages', the errors')."""
    colour = brand_colour(shop)
    return PortalShop(
        name=shop.name,
        slug=shop.slug,
        logo_url=shop.logo_url,
        color=colour,
        safe_color=readable_colour(colour),
        languages=tuple(shop.language_list or LANGUAGES),
        privacy_url=shop.privacy_url,
        resolution_list=tuple(shop.resolution_list),
        free_shipping_resolutions=tuple(shop.free_shipping_list),
        return_fee_cents=shop.return_fee_cents,
    )


def portal_line(line: OrderLine) -> PortalLine:
    return PortalLine(
        id=line.id,
        product_name=line.product_name,
        variant=line.variant,
        quantity=line.quantity,
        unit_price_cents=line.unit_price_cents,
    )


def portal_order(order: Order) -> PortalOrder:
    return PortalOrder(
        number=order.number,
        delivered_at=order.delivered_at,
        lines=tuple(portal_line(line) for line in order.lines),
    )


def portal_line_state(state: LineState) -> PortalLineState:
    return PortalLineState(
        line=portal_line(state.line),
        returnable=state.returnable,
        window_closes_at=state.window_closes_at,
        window_closed=state.window_closed,
        claims=tuple(state.claims),
        not_returnable_because=state.not_returnable_because,
        selectable=state.selectable,
    )


def portal_reason(reason: ReturnReason) -> PortalReason:
    return PortalReason(
        id=reason.id,
        label_nl=reason.label_nl,
        label_en=reason.label_en,
        requires_photo=reason.requires_photo,
    )


def portal_question(question: FormQuestion) -> PortalQuestion:
    return PortalQuestion(
        id=question.id,
        kind=question.kind,
        label_nl=question.label_nl,
        label_en=question.label_en,
        required=question.required,
    )


def portal_file(attachment: Attachment) -> PortalFile:
    return PortalFile(id=attachment.id, original_name=attachment.original_name)


# The page form of each model (and model-holding rule-book value) the portal shows.
PAGE_FORMS: dict[type, Callable[[Any], Any]] = {
    Shop: portal_shop,
    Order: portal_order,
    OrderLine: portal_line,
    LineState: portal_line_state,
    ReturnReason: portal_reason,
    FormQuestion: portal_question,
    Attachment: portal_file,
}


class NotPlainData(TypeError):
    """A page was handed a model the portal has no page form of."""


def plain(value: Any) -> Any:
    """``value`` as a page may see it: each model in its page form, through dicts, lists,
    tuples and sets; other values as they are. A model without a page form, or one inside a
    dataclass, is refused: give it a form here rather than hand it to a template."""
    page_form = PAGE_FORMS.get(type(value))
    if page_form is not None:
        return page_form(value)
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    if isinstance(value, tuple):
        return tuple(plain(item) for item in value)
    if isinstance(value, set | frozenset):
        return type(value)(plain(item) for item in value)
    refuse_models(value)
    return value


def refuse_models(value: Any) -> None:
    """Raise ``NotPlainData`` for a model, or for one anywhere inside ``value``."""
    if isinstance(value, db.Model):
        raise NotPlainData(f"a portal page was handed {type(value).__name__} {value!r}")
    if isinstance(value, dict):
        items: Iterable[Any] = value.values()
    elif isinstance(value, list | tuple | set | frozenset):
        items = value
    elif is_dataclass(value) and not isinstance(value, type):
        items = (getattr(value, field.name) for field in fields(value))
    else:
        return
    for item in items:
        refuse_models(item)
