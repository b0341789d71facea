"""The Requests list's search and filters, kept out of the view.

Search is ours, not Flask-Admin's ``ILIKE '%term%'`` over every column (docs/ARCHITECTURE.md,
decision record 6): a request number or a whole email address is an exact, indexed lookup, and
a count stops a little past the page (``count_cap``). The filters speak the shop's words and
keep their URLs short.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from types import MappingProxyType

from flask import g
from flask_babel import format_number, get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import Select, String, and_, bindparam, cast, func, literal, or_, select, union_all
from sqlalchemy.orm import Query

from domain import tenancy
from domain.formatting import language
from domain.statuses import (
    RESOLUTION_LABELS,
    STATUS_LABELS,
)
from extensions import db
from models import (
    OPEN_STATUSES,
    REQUEST_STATUSES,
    RESOLUTIONS,
    ReturnReason,
    ReturnRequest,
    ReviewStage,
    Shop,
    holds_any_of,
)
from web.admin.base import one_per_code
from web.admin.filters import KeyedFilter, ShopFilter
from web.int_args import parse_int

# Counting stops at the first multiple of this past the page's first row: page 1 of a long list
# says "more than 1,000" (see CappedCount), and its pager still reaches every page up to there.
COUNT_STEP = 1_000
REQUEST_NUMBER = re.compile(r"^R-\d{4}-\d+$", re.IGNORECASE)
EMAIL_ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$", re.IGNORECASE)


def open_condition():
    """Status is open, with the statuses inlined so PostgreSQL uses the partial indexes."""
    return ReturnRequest.status.in_(
        bindparam("open_statuses", OPEN_STATUSES, expanding=True, literal_execute=True)
    )


def search_condition(search: str):
    """What a search box term matches, in a form the indexes serve.

    A request number or a whole email address is looked up exactly (any case); anything
    else is an exact order number or request number, or a piece of the customer's name or
    email (trigram indexes on PostgreSQL). The term is one phrase: "jan de vries"; with a
    space in it, it cannot be part of an email address, so that index is not asked.
    """
    term = " ".join(search.split())
    if REQUEST_NUMBER.match(term):
        return ReturnRequest.number == term.upper()
    if EMAIL_ADDRESS.match(term):
        return func.lower(ReturnRequest.customer_email) == term.lower()
    pattern = "%" + re.sub(r"([\\%_])", r"\\\1", term) + "%"
    conditions = [
        ReturnRequest.number == term.upper(),
        ReturnRequest.order_number == term,
        ReturnRequest.customer_name.ilike(pattern, escape="\\"),
    ]
    if " " not in term:
        conditions.append(ReturnRequest.customer_email.ilike(pattern, escape="\\"))
    return or_(*conditions)


class CappedCount(int):
    """A row count that stopped at its cap; wherever it is shown it says "more than N"."""

    capped = True

    def __new__(cls, value: int, cap: int):
        count = super().__new__(cls, value)
        count.cap = format_number(cap)
        return count

    def __str__(self) -> str:
        return _("more than %(count)s", count=self.cap)


def count_cap(first_row: int = 0) -> int:
    """Where a list's count may stop: what the pager needs from a page whose first row is
    ``first_row`` (0-based) is the rows up to the next multiple of ``COUNT_STEP`` and one more
    (so that it offers the page after). Counting further reads an index entry per request: at
    10,000 that was 3 ms of a page's 25."""
    return COUNT_STEP * (first_row // COUNT_STEP + 1)


def capped(count: int, cap: int) -> int:
    return CappedCount(count, cap) if count > cap else count


class CappedCountQuery(Query):
    """The list's count query: counts at most ``cap + 1`` rows, then gives up.

    ``beside`` names more such queries whose counts the same statement reads (one round trip
    instead of one each), each to its own cap; ``scalar`` leaves them in
    ``g.counts_beside`` by name."""

    first_row = 0  # of the page the count is for (``count_cap``)
    # Set per query (``RequestView.get_count_query``); shared by all, so never changed in place.
    beside: Mapping[str, CappedCountQuery] = MappingProxyType({})

    def scalar(self):
        counts = [self, *self.beside.values()]
        statement = select(
            *(
                select(func.count())
                .select_from(query.order_by(None).limit(count_cap(query.first_row) + 1).subquery())
                .scalar_subquery()
                for query in counts
            )
        )
        own, *others = self.session.execute(statement).one()
        g.counts_beside = {
            name: capped(count, count_cap(query.first_row))
            for (name, query), count in zip(self.beside.items(), others, strict=True)
        }
        return capped(own, count_cap(self.first_row))


def visible_stages_query(*columns) -> Select:
    """``columns`` of the review stages of the user's shops, in each shop's order."""
    query = select(*columns).order_by(ReviewStage.shop_id, ReviewStage.position)
    return tenancy.in_shops(query, ReviewStage.shop_id, tenancy.shops_for(current_user))


def visible_stages() -> list[ReviewStage]:
    return list(db.session.scalars(visible_stages_query(ReviewStage)))


@dataclass(frozen=True)
class ShopOptions:
    """What the filters read from the user's shops: the choices by kind, and the ids of the
    shops' reasons by code (the reason filter asks the requests for those)."""

    choices: dict[str, list[tuple[str, str]]]
    reason_ids: dict[str, list[int]]


def shop_options() -> dict[str, list[tuple[str, str]]]:
    """The filter options that come from the user's shops, by kind: the shops' names
    (``shop``), their review stages (``stage``) and their return reasons (``reason``).

    Read in one statement, once a request: asked apart they were three round trips on every
    list page. Each part keeps the order its own chooser has (``tenancy.shop_names``,
    ``visible_stages_query``, ``reason_choices``)."""
    return _shop_options().choices


def reason_ids(code: str) -> list[int]:
    """The ids of the user's shops' reasons with this code (none for an unknown code)."""
    return _shop_options().reason_ids.get(code, [])


def _shop_options() -> ShopOptions:
    options = g.get("list_shop_options")
    if options is None:
        options = g.list_shop_options = _read_shop_options(language())
    return options


def _read_shop_options(language: str) -> ShopOptions:
    shop_ids = tenancy.shops_for(current_user)
    none = literal(0)
    shops = select(literal("shop"), cast(Shop.id, String), Shop.name, none, none)
    stages = select(
        literal("stage"),
        literal("stage-") + cast(ReviewStage.id, String),
        ReviewStage.name_column(language),
        ReviewStage.shop_id,
        ReviewStage.position,
    )
    label = ReturnReason.label_column(language)
    reasons = select(literal("reason"), ReturnReason.code, label, ReturnReason.id, none)
    parts = union_all(
        tenancy.in_shops(shops, Shop.id, shop_ids),
        tenancy.in_shops(stages, ReviewStage.shop_id, shop_ids),
        tenancy.in_shops(reasons, ReturnReason.shop_id, shop_ids),
    ).subquery()
    kind, key, words, first, then = parts.c
    found: dict[str, list[tuple[str, str]]] = {"shop": [], "stage": [], "reason": []}
    ids: dict[str, list[int]] = {}
    statement = select(kind, key, words, first).order_by(kind, first, then, words)
    for row_kind, row_key, row_words, row_first in db.session.execute(statement):
        found[row_kind].append((row_key, row_words))
        if row_kind == "reason":
            ids.setdefault(row_key, []).append(row_first)
    found["reason"] = one_per_code(found["reason"])
    return ShopOptions(found, ids)


class RequestFilter(KeyedFilter):
    """A filter on the list's rows; subclasses say how in ``apply``."""

    def __init__(self, name, options=None):
        super().__init__(name, ReturnRequest.id, options)


@cache
def status_options(locale: str) -> list[tuple[str, str]]:
    """The status filter's fixed options in ``locale``, translated once per language."""
    options = [("open", _("Open (new, concept, on hold)"))]
    return options + [(status, str(STATUS_LABELS[status])) for status in REQUEST_STATUSES]


class StatusFilter(RequestFilter):
    key = "status"

    def options_for_user(self):
        return status_options(str(get_locale())) + shop_options()["stage"]

    def apply(self, query, value, alias=None):
        if value == "open":
            return query.filter(open_condition())
        stage_id = parse_int(value.removeprefix("stage-")) if value.startswith("stage-") else None
        if stage_id is not None:
            return query.filter(ReturnRequest.stage_id == stage_id)
        return query.filter(ReturnRequest.status == value)


@cache
def resolution_options(locale: str) -> list[tuple[str, str]]:
    return [(key, str(label)) for key, label in RESOLUTION_LABELS.items()]


class RequestShopFilter(ShopFilter):
    """The shop filter, with its options read beside the other filters' (``shop_options``)."""

    def options_for_user(self):
        return shop_options()["shop"]


class ResolutionFilter(RequestFilter):
    key = "resolution"

    def options_for_user(self):
        return resolution_options(str(get_locale()))

    def apply(self, query, value, alias=None):
        return query.filter(ReturnRequest.resolution == value) if value in RESOLUTIONS else query


class ReasonFilter(RequestFilter):
    key = "reason"

    def options_for_user(self):
        return shop_options()["reason"]

    def apply(self, query, value, alias=None):
        return query.filter(holds_any_of(ReturnRequest.reason_ids, reason_ids(value)))


class YesFilter(RequestFilter):
    """A filter that is either on ("yes") or absent."""

    def options_for_user(self):
        return [("1", _("yes"))]

    def apply(self, query, value, alias=None):
        return query.filter(self.condition()) if value == "1" else query


class HasNoticesFilter(YesFilter):
    key = "notices"

    def condition(self):
        return ReturnRequest.notice_count > 0


class HeldByMeFilter(YesFilter):
    key = "held_by_me"

    def condition(self):
        return ReturnRequest.held_by_id == current_user.id


class AwaitingCustomerFilter(YesFilter):
    key = "awaiting_customer"

    def condition(self):
        return and_(
            ReturnRequest.last_outbound_at.is_not(None),
            or_(
                ReturnRequest.last_inbound_at.is_(None),
                ReturnRequest.last_inbound_at < ReturnRequest.last_outbound_at,
            ),
        )


class CustomerRepliedFilter(YesFilter):
    key = "customer_replied"

    def condition(self):
        return and_(
            ReturnRequest.last_inbound_at.is_not(None),
            or_(
                ReturnRequest.last_outbound_at.is_(None),
                ReturnRequest.last_inbound_at >= ReturnRequest.last_outbound_at,
            ),
        )
