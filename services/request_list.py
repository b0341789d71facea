"""The Requests list's rows as plain data: the columns its cells and row actions read, in
one statement per page (and one for the notices of the rows that have any).

Loading the page's requests as ORM objects, each with its shop, holder, stage and notices,
cost more than the page's SQL; these rows are read straight from the statement's columns.
The list's cells, its live updates (``changes``) and the row actions' rules
(``workflow.allowed_actions``, which read the same attributes as on a ``ReturnRequest``)
all take them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Select, select
from sqlalchemy.orm import Query, aliased

from extensions import db
from models import (
    Notice,
    ReturnRequest,
    ReviewStage,
    Shop,
    User,
    among_ids,
    customer_has_replied,
    zone_of,
)


@dataclass(frozen=True, slots=True)
class ListedShop:
    currency: str
    time_zone: str | None
    hold_stale_hours: int

    @property
    def zone(self) -> ZoneInfo:
        return zone_of(self.time_zone)


@dataclass(frozen=True, slots=True)
class ListedStage:
    color: str
    name_nl: str
    name_en: str

    def name(self, language: str) -> str:
        return self.name_nl if language == "nl" else self.name_en


@dataclass(frozen=True, slots=True)
class ListedHolder:
    name: str


@dataclass(frozen=True, slots=True)
class ListedNotice:
    text_nl: str
    text_en: str

    def text(self, language: str) -> str:
        return self.text_nl if language == "nl" else self.text_en


@dataclass(slots=True)
class ListedRequest:
    """A row of the Requests list, named as on ``ReturnRequest``."""

    id: int
    number: str
    shop_id: int
    created_at: datetime
    updated_at: datetime
    customer_name: str
    order_number: str
    item_count: int
    total_cents: int
    resolution: str
    status: str
    held_by_id: int | None
    held_since: datetime | None
    keep_items: bool
    notice_count: int
    free_shipping: bool
    last_inbound_at: datetime | None
    last_outbound_at: datetime | None
    shop: ListedShop
    stage: ListedStage | None
    held_by: ListedHolder | None
    notices: list[ListedNotice] = field(default_factory=list)

    @property
    def customer_replied(self) -> bool:
        return customer_has_replied(self.last_inbound_at, self.last_outbound_at)


_holder = aliased(User)
# The request's own columns, in ``ListedRequest``'s order, then its shop's, stage's and holder's.
_OWN = (
    ReturnRequest.id,
    ReturnRequest.number,
    ReturnRequest.shop_id,
    ReturnRequest.created_at,
    ReturnRequest.updated_at,
    ReturnRequest.customer_name,
    ReturnRequest.order_number,
    ReturnRequest.item_count,
    ReturnRequest.total_cents,
    ReturnRequest.resolution,
    ReturnRequest.status,
    ReturnRequest.held_by_id,
    ReturnRequest.held_since,
    ReturnRequest.keep_items,
    ReturnRequest.notice_count,
    ReturnRequest.free_shipping,
    ReturnRequest.last_inbound_at,
    ReturnRequest.last_outbound_at,
)
_OWN_NAMES = tuple(column.key for column in _OWN)
_RELATED = (
    Shop.currency.label("shop_currency"),
    Shop.time_zone.label("shop_time_zone"),
    Shop.hold_stale_hours.label("shop_hold_stale_hours"),
    ReviewStage.id.label("stage_id"),
    ReviewStage.color.label("stage_color"),
    ReviewStage.name_nl.label("stage_nl"),
    ReviewStage.name_en.label("stage_en"),
    _holder.name.label("held_by"),
)
COLUMNS = len(_OWN) + len(_RELATED)


def listed_query(query: Query, *extra) -> Query:
    """``query`` (of ``ReturnRequest``, filtered, sorted and paged) selecting a listed row's
    columns, then ``extra`` ones.

    The joins come after the page's LIMIT and OFFSET, which SQLAlchemy refuses unless told
    (``enable_assertions``): each joins at most one row to a request (its shop, stage and
    holder), so the page holds the same requests."""
    return (
        query.enable_assertions(False)
        .join(Shop, Shop.id == ReturnRequest.shop_id)
        .outerjoin(ReviewStage, ReviewStage.id == ReturnRequest.stage_id)
        .outerjoin(_holder, _holder.id == ReturnRequest.held_by_id)
        .with_entities(*_OWN, *_RELATED, *extra)
    )


def listed_rows(rows: Sequence[Sequence]) -> list[ListedRequest]:
    """The rows of ``listed_query`` as ``ListedRequest``s, with their notices."""
    own = len(_OWN)
    listed = []
    for row in rows:
        currency, time_zone, hold_hours, stage_id, color, name_nl, name_en, holder = row[
            own:COLUMNS
        ]
        listed.append(
            ListedRequest(
                **dict(zip(_OWN_NAMES, row, strict=False)),
                shop=ListedShop(currency, time_zone, hold_hours),
                stage=None if stage_id is None else ListedStage(color, name_nl, name_en),
                held_by=None if holder is None else ListedHolder(holder),
            )
        )
    _add_notices(listed)
    return listed


def listed(query: Query) -> list[ListedRequest]:
    return listed_rows(listed_query(query).all())


def _add_notices(rows: list[ListedRequest]) -> None:
    by_id = {row.id: row for row in rows if row.notice_count}
    if not by_id:
        return
    statement: Select = (
        select(Notice.request_id, Notice.text_nl, Notice.text_en)
        .where(among_ids(Notice.request_id, by_id))
        .order_by(Notice.id)
    )
    for request_id, text_nl, text_en in db.session.execute(statement):
        by_id[request_id].notices.append(ListedNotice(text_nl, text_en))
