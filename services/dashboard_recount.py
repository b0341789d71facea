"""Recount the dashboard's daily counts of the days and requests a commit marked.

``domain/dashboard_marks.py`` marks; here each marked (shop, UTC day) gets its
``dashboard_day`` rows counted again (DELETE, then one INSERT … SELECT per figure over that
day's requests, audit events and orders, on the same indexes the live figures used), and each
marked request its ``request_timing`` row. ``recount`` runs as the scheduled job
``dashboard-recount``, as ``flask dashboard recount``, and ``recounted_for_reading`` at the
start of the dashboard's read, so the figures shown are always exact.

Marks are append-only rows (a commit inserts its own, so marking never waits): a recount
lists the marks' ids, recounts each distinct day and request once, and deletes exactly the ids
it listed. A commit that marked the day again meanwhile (its change perhaps not counted) keeps
its mark for the next run.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import (
    ARRAY,
    Date,
    Integer,
    Select,
    String,
    and_,
    case,
    cast,
    delete,
    extract,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    true,
)
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import aliased

from domain import tenancy
from domain.dashboard_marks import DECISIONS
from extensions import db
from models import (
    DISPOSE,
    AuditEvent,
    DashboardDay,
    DashboardDirty,
    DashboardDirtyRequest,
    Order,
    OrderLine,
    RequestTiming,
    ReturnRequest,
    ReturnRequestLine,
    on_postgresql,
)

# The figures of ``dashboard_day``: what each counts, per shop and UTC day.
CREATED = "created"  # requests submitted (key "")
RESOLUTION = "resolution"  # requests submitted, per chosen resolution
SHIPPING = "shipping"  # requests submitted with free or paid return shipping ("free"/"paid")
REASON = "reason"  # units requested, per reason id, of the requests submitted
DISPOSITION = "disposition"  # units received, per disposition, of the requests submitted
DISPOSED = "disposed"  # units disposed of, per disposition note (its first 200 characters)
DECIDED = "decided"  # decisions made, per action (approve, approve_keep, cancel)
SOLD = "sold"  # units sold per SKU on the orders placed
REQUESTED = "requested"  # units requested back per SKU, of the orders placed
PRODUCT_REASON = "product_reason"  # the same per "<reason id>:<SKU>"

# Requests retimed per statement (and per commit of the job).
REQUEST_BATCH = 500
# How often the dashboard's read tries again when a recount of the same day by the job
# collides with its own.
READ_ATTEMPTS = 3
KEY_LENGTH = 200
# Mark ids per DELETE (PostgreSQL takes at most 65,535 bound parameters a statement).
MARK_ID_SLICE = 10_000
# The advisory locks of a recount: (shop id, days since LOCK_EPOCH) for a day, and
# (REQUEST_LOCKS, request id) for a request.
LOCK_EPOCH = date(2000, 1, 1)
REQUEST_LOCKS = -1


def midnight(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


def seconds_between(start, end):
    """SQL for the seconds from ``start`` to ``end`` (two timestamp expressions)."""
    if on_postgresql():
        return extract("epoch", end - start)
    return (func.julianday(end) - func.julianday(start)) * 86400.0


@dataclass(frozen=True)
class DayMark:
    """A marked (shop, day), with the ids of its marks (a row per marking commit)."""

    shop_id: int
    day: date
    ids: tuple[int, ...]


@dataclass(frozen=True)
class RequestMark:
    """A marked request, with the ids of its marks."""

    request_id: int
    shop_id: int
    ids: tuple[int, ...]


@dataclass(frozen=True)
class Recounted:
    days: int
    requests: int


def day_marks(
    shop_ids: list[int] | None = None, first: date | None = None, last: date | None = None
) -> list[DayMark]:
    """The marked days of these shops (``None``: every shop), between ``first`` and ``last``
    when given, in key order, each once with the ids of all its marks."""
    query = select(DashboardDirty.shop_id, DashboardDirty.day, DashboardDirty.id)
    query = tenancy.in_shops(query, DashboardDirty.shop_id, shop_ids)
    if first is not None and last is not None:
        query = query.where(DashboardDirty.day >= first, DashboardDirty.day <= last)
    rows = db.session.execute(
        query.order_by(DashboardDirty.shop_id, DashboardDirty.day, DashboardDirty.id)
    )
    ids: dict[tuple[int, date], list[int]] = {}
    for shop_id, day, mark_id in rows:
        ids.setdefault((shop_id, day), []).append(mark_id)
    return [DayMark(shop_id, day, tuple(marked)) for (shop_id, day), marked in ids.items()]


def request_marks(shop_ids: list[int] | None = None) -> list[RequestMark]:
    """The marked requests of these shops (``None``: every shop), in id order, each once
    with the ids of all its marks."""
    query = select(
        DashboardDirtyRequest.request_id, DashboardDirtyRequest.shop_id, DashboardDirtyRequest.id
    )
    query = tenancy.in_shops(query, DashboardDirtyRequest.shop_id, shop_ids)
    rows = db.session.execute(
        query.order_by(DashboardDirtyRequest.request_id, DashboardDirtyRequest.id)
    )
    marks: dict[int, tuple[int, list[int]]] = {}
    for request_id, shop_id, mark_id in rows:
        marks.setdefault(request_id, (shop_id, []))[1].append(mark_id)
    return [
        RequestMark(request_id, shop_id, tuple(marked))
        for request_id, (shop_id, marked) in marks.items()
    ]


def recount() -> Recounted:
    """Recount every marked day and request, clearing the marks seen.

    Each day, and each batch of requests, commits on its own: a long catch-up (after an
    import) holds no lock for long, and what it did stays done if it stops.
    """
    return Recounted(
        days=recount_days(day_marks()),
        requests=recount_requests(request_marks()),
    )


def recount_days(marks: list[DayMark]) -> int:
    """Recount these marked days, each in a transaction of its own; how many were recounted.

    Only the marks listed are deleted: one a commit added since (its change perhaps not
    counted) stays for the next run. A day another recount is doing (PostgreSQL) is left to
    it, and one whose listed marks another recount has cleared meanwhile is not counted again.
    """
    done = 0
    for mark in marks:
        if _lock_day(mark.shop_id, mark.day) and _delete_marks(DashboardDirty, mark.ids):
            count_day(mark.shop_id, mark.day)
            done += 1
        db.session.commit()
    return done


def recount_requests(marks: list[RequestMark]) -> int:
    """Retime these marked requests, a batch per transaction; how many were retimed (as
    ``recount_days``: the marks listed are deleted, a request another recount does is left)."""
    done = 0
    for start in range(0, len(marks), REQUEST_BATCH):
        batch = marks[start : start + REQUEST_BATCH]
        locked = _lock_requests([mark.request_id for mark in batch])
        chosen = [mark for mark in batch if mark.request_id in locked]
        if chosen:
            cleared = _delete_marks(DashboardDirtyRequest, [i for m in chosen for i in m.ids])
            retimed = sorted({request_id for (request_id,) in cleared})
            if retimed:
                time_requests(retimed)
            done += len(retimed)
        db.session.commit()
    return done


def _delete_marks(
    model: type[DashboardDirty] | type[DashboardDirtyRequest], ids: Iterable[int]
) -> list:
    """Delete the marks of these ids (in slices, under the bound parameters' limit); the
    ``request_id`` of each deleted request mark, one row per deleted day mark."""
    column = DashboardDirtyRequest.request_id if model is DashboardDirtyRequest else model.id
    ids = list(ids)
    deleted: list = []
    for start in range(0, len(ids), MARK_ID_SLICE):
        deleted += db.session.execute(
            delete(model).where(model.id.in_(ids[start : start + MARK_ID_SLICE])).returning(column)
        ).all()
    return deleted


def _lock_day(shop_id: int, day: date) -> bool:
    """Take the day for this recount until it commits (PostgreSQL); False when another
    recount has it.

    What this guards: two recounts of one day at once (the job and the CLI, or two workers)
    would each DELETE the day's ``dashboard_day`` rows and INSERT fresh ones, and the second
    would fail on the first's rows. The marks cannot serve as that lock now (a day has many
    rows, and a commit may add an unlocked one at any time), so a transaction-scoped advisory
    lock on (shop, day) does: the two-integer form, keyed (shop id, days since 2000-01-01);
    the requests' locks are keyed (-1, request id), and shop ids are positive. Writers take
    no such lock: marking never waits for a recount. On SQLite the database lock serialises
    the writers anyway.
    """
    if not on_postgresql():
        return True
    return bool(
        db.session.scalar(select(func.pg_try_advisory_xact_lock(shop_id, (day - LOCK_EPOCH).days)))
    )


def _lock_requests(request_ids: list[int]) -> set[int]:
    """Take these requests for this recount (PostgreSQL, as ``_lock_day``); the ones taken."""
    if not on_postgresql():
        return set(request_ids)
    request_id = func.unnest(literal(request_ids, ARRAY(Integer))).column_valued("id")
    return set(
        db.session.scalars(
            select(request_id).where(func.pg_try_advisory_xact_lock(REQUEST_LOCKS, request_id))
        )
    )


@contextmanager
def recounted_for_reading(shop_ids: list[int], first: date, last: date) -> Iterator[None]:
    """Read the dashboard with the marked days (from ``first`` to ``last``) and requests of
    these shops recounted, in a savepoint rolled back afterwards.

    The read changes nothing: the marks stay for the job, so the figures are exact and a
    GET writes nothing. Without marks (the usual case when the job keeps up) there is no
    savepoint. The read takes no recount lock (held to its transaction's end, it would keep
    the job off the day for the whole GET): should the job commit a recount of the same day
    meanwhile, the read's recount collides with it (a duplicate row, or a deadlock) and
    starts again.
    """
    for attempt in range(READ_ATTEMPTS):
        days, requests = day_marks(shop_ids, first, last), request_marks(shop_ids)
        if not days and not requests:
            yield
            return
        savepoint = db.session.begin_nested()
        try:
            for mark in days:
                count_day(mark.shop_id, mark.day)
            ids = [mark.request_id for mark in requests]
            for start in range(0, len(ids), REQUEST_BATCH):
                time_requests(ids[start : start + REQUEST_BATCH])
        except (IntegrityError, OperationalError):
            savepoint.rollback()
            if attempt == READ_ATTEMPTS - 1:
                raise
            continue
        try:
            yield
        finally:
            savepoint.rollback()
        return


def count_day(shop_id: int, day: date) -> None:
    """Count one shop's day again: its ``dashboard_day`` rows replaced by fresh counts."""
    db.session.execute(
        delete(DashboardDay).where(DashboardDay.shop_id == shop_id, DashboardDay.day == day)
    )
    _insert_counts(_Scope(shop_id, midnight(day), midnight(day + timedelta(days=1))))


def rebuild() -> None:
    """Count every day of every shop and time every request again, in a few set-based
    statements, and drop every mark; for a database filled without the app (bench/seed.py)
    or after a repair. The caller commits. Writers should be stopped: a mark made meanwhile
    may be lost."""
    for model in (DashboardDirty, DashboardDirtyRequest, DashboardDay, RequestTiming):
        db.session.execute(delete(model))
    _insert_counts(None)
    time_requests(None)


def utc_day(column):
    """SQL for the UTC day of a timestamp (without bound parameters: it is grouped by)."""
    if on_postgresql():
        return cast(func.timezone(literal_column("'UTC'"), column), Date)
    return func.date(column)


@dataclass(frozen=True)
class _Scope:
    """One shop's rows between two moments (a day)."""

    shop_id: int
    start: datetime
    end: datetime

    def of(self, shop_column, moment):
        return and_(shop_column == self.shop_id, moment >= self.start, moment < self.end)


def _insert_counts(scope: _Scope | None) -> None:
    """Insert the counts of the scope (``None``: of everything), per shop, day and key."""
    for figure, counted in _figures(scope).items():
        row = counted.subquery()
        db.session.execute(
            insert(DashboardDay).from_select(
                ["shop_id", "day", "figure", "key", "count"],
                select(row.c.shop_id, row.c.day, literal(figure, String), row.c.key, row.c.count),
            )
        )


def _counts(shop, moment, key, count, keyed: bool = True) -> Select:
    """(shop_id, day, key, count), grouped by shop, day and (if ``keyed``) key."""
    day = utc_day(moment)
    query = select(shop.label("shop_id"), day.label("day"), key.label("key"), count.label("count"))
    return query.group_by(shop, day, key) if keyed else query.group_by(shop, day)


def _figures(scope: _Scope | None) -> dict[str, Select]:
    """Per figure, its query of (shop_id, day, key, count) over the scope's rows."""
    submitted = scope.of(ReturnRequest.shop_id, ReturnRequest.created_at) if scope else true()
    placed = scope.of(Order.shop_id, Order.ordered_at) if scope else true()
    decided = scope.of(AuditEvent.shop_id, AuditEvent.created_at) if scope else true()
    units = func.sum(ReturnRequestLine.quantity)
    received = func.coalesce(func.sum(ReturnRequestLine.received_quantity), 0)
    # Grouped by, so written without bound parameters (PostgreSQL matches the GROUP BY
    # expression to the selected one by its text).
    shipping = case(
        (ReturnRequest.free_shipping.is_(True), literal_column("'free'")),
        else_=literal_column("'paid'"),
    )
    note = func.coalesce(
        func.substr(
            ReturnRequestLine.disposition_note, literal_column("1"), literal_column(str(KEY_LENGTH))
        ),
        literal_column("''"),
    )
    reason = cast(ReturnRequestLine.reason_id, String)

    def of_requests(key, count) -> Select:
        return (
            _counts(ReturnRequest.shop_id, ReturnRequest.created_at, key, count)
            .select_from(ReturnRequestLine)
            .join(ReturnRequest, ReturnRequest.id == ReturnRequestLine.request_id)
            .where(submitted)
        )

    def of_orders(key, count) -> Select:
        return (
            _counts(Order.shop_id, Order.ordered_at, key, count)
            .select_from(ReturnRequestLine)
            .join(OrderLine, OrderLine.id == ReturnRequestLine.order_line_id)
            .join(Order, Order.id == OrderLine.order_id)
            .where(placed)
        )

    def of_submitted(key, keyed: bool = True) -> Select:
        query = _counts(ReturnRequest.shop_id, ReturnRequest.created_at, key, func.count(), keyed)
        return query.where(submitted)

    return {
        CREATED: of_submitted(literal_column("''"), keyed=False),
        RESOLUTION: of_submitted(ReturnRequest.resolution),
        SHIPPING: of_submitted(shipping).where(ReturnRequest.free_shipping.is_not(None)),
        REASON: of_requests(reason, units).where(ReturnRequestLine.reason_id.is_not(None)),
        DISPOSITION: of_requests(ReturnRequestLine.disposition, received).where(
            ReturnRequestLine.disposition.is_not(None)
        ),
        DISPOSED: of_requests(note, received).where(ReturnRequestLine.disposition == DISPOSE),
        DECIDED: _counts(
            AuditEvent.shop_id, AuditEvent.created_at, AuditEvent.action, func.count()
        ).where(decided, AuditEvent.shop_id.is_not(None), AuditEvent.action.in_(DECISIONS)),
        SOLD: _counts(Order.shop_id, Order.ordered_at, OrderLine.sku, func.sum(OrderLine.quantity))
        .select_from(OrderLine)
        .join(Order, Order.id == OrderLine.order_id)
        .where(placed),
        REQUESTED: of_orders(OrderLine.sku, units),
        PRODUCT_REASON: of_orders(reason + literal_column("':'") + OrderLine.sku, units).where(
            ReturnRequestLine.reason_id.is_not(None)
        ),
    }


def time_requests(request_ids: list[int] | None) -> None:
    """Write these requests' (``None``: every request's) ``request_timing`` rows again (none
    for a request neither decided nor labelled, or deleted).

    The first decision (approve or cancel) is timed from submission; the first label from
    the last approval before it (a reopened request was approved again).
    """
    if request_ids is not None:
        db.session.execute(delete(RequestTiming).where(RequestTiming.request_id.in_(request_ids)))
    moments = (
        select(
            ReturnRequest.id,
            ReturnRequest.shop_id,
            ReturnRequest.created_at,
            _first(DECISIONS).label("decided_at"),
            _first(("label_created",)).label("labelled_at"),
        )
        .where(ReturnRequest.id.in_(request_ids) if request_ids is not None else true())
        .subquery()
    )
    m = moments.c
    approval = aliased(AuditEvent)
    approved = (
        select(func.max(approval.created_at))
        .where(
            approval.request_id == m.id,
            approval.action == "approve",
            approval.created_at <= m.labelled_at,
        )
        .scalar_subquery()
    )
    db.session.execute(
        insert(RequestTiming).from_select(
            [
                "request_id",
                "shop_id",
                "decided_at",
                "decision_seconds",
                "labelled_at",
                "label_seconds",
            ],
            select(
                m.id,
                m.shop_id,
                m.decided_at,
                seconds_between(m.created_at, m.decided_at),
                m.labelled_at,
                seconds_between(approved, m.labelled_at),
            ).where(or_(m.decided_at.is_not(None), m.labelled_at.is_not(None))),
        )
    )


def _first(actions: tuple[str, ...]):
    """SQL for the time of the request's first audit event of ``actions``."""
    event = aliased(AuditEvent)
    return (
        select(func.min(event.created_at))
        .where(event.request_id == ReturnRequest.id, event.action.in_(actions))
        .scalar_subquery()
    )
