"""Marks of what the dashboard's daily counts must recount, written by the commit that changed it.

The dashboard sums ``dashboard_day`` (counts per shop and UTC day) and reads
``request_timing`` (each request's first decision and label). Nothing recounts them when
data changes: a flush only marks, in the same transaction, the (shop, day) pairs in
``dashboard_dirty`` and the requests in ``dashboard_dirty_request`` whose counts it may have
changed; ``services/dashboard_recount.py`` recounts the marked ones later (a scheduled job,
the CLI, and the dashboard's read). Marking costs an insert of a few small rows per flush;
recounting at commit time made every approval about 75 ms slower. The marks are append-only
(a row per mark, duplicates and all): concurrent commits to one shop's day do not wait for
each other, as they did on the one upserted row per day they once shared.

Marks come from the ORM flushes of the models the figures count (``listen``, registered by
``create_app``), and from the set-based writes that bypass the ORM, which call
``mark_requests``, ``mark_orders`` or ``mark_audited`` themselves. New and changed objects
mark after the flush; deleted ones as each row is deleted (a mapper event: an orphaned line is
in no session list), while what they count on can still be looked up. A flush that changes no
counted column (an object read and written back unchanged) marks nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import event, insert, inspect, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, object_session

from extensions import db
from models import (
    AuditEvent,
    DashboardDirty,
    DashboardDirtyRequest,
    Order,
    OrderLine,
    ReturnRequest,
    ReturnRequestLine,
    utcnow,
)

# The decisions the dashboard counts per day and times (the first one of each request).
DECISIONS = ("approve", "approve_keep", "cancel")
# The audit actions the dashboard counts or times (the first label, and the approval before it).
COUNTED_ACTIONS = frozenset({*DECISIONS, "label_created"})

# Per model, the columns a figure reads: a change of any other column marks nothing.
COUNTED_COLUMNS: dict[type, tuple[str, ...]] = {
    ReturnRequest: ("shop_id", "created_at", "order_id", "resolution", "free_shipping"),
    ReturnRequestLine: (
        "request_id",
        "order_line_id",
        "quantity",
        "reason_id",
        "received_quantity",
        "disposition",
        "disposition_note",
    ),
    AuditEvent: ("shop_id", "request_id", "action", "created_at"),
    Order: ("shop_id", "ordered_at"),
    OrderLine: ("order_id", "sku", "quantity"),
}


def counts_any(model: type, values: Iterable[str]) -> bool:
    """Whether a set-based write of these columns of ``model`` changes a dashboard figure."""
    return not set(COUNTED_COLUMNS[model]).isdisjoint(values)


def utc_day(moment: datetime) -> date:
    """The UTC day of a moment (a naive one, as SQLite returns it, is UTC)."""
    return moment.astimezone(UTC).date() if moment.tzinfo else moment.date()


@dataclass
class Marks:
    """What one flush or set-based write marks: (shop, day) pairs, and requests (id -> shop)
    to retime; ``requests`` and ``orders`` are ids whose days are still to be looked up, and
    ``deleted_requests`` requests whose audit events the database deletes with them."""

    days: set[tuple[int, date]] = field(default_factory=set)
    timings: dict[int, int] = field(default_factory=dict)
    requests: set[int] = field(default_factory=set)
    orders: set[int] = field(default_factory=set)
    deleted_requests: set[int] = field(default_factory=set)

    def note_day(self, shop_id: int | None, moment: datetime | None) -> None:
        if shop_id is not None and moment is not None:
            self.days.add((shop_id, utc_day(moment)))


def _values(obj: Any, name: str) -> list[Any]:
    """The column's values in this flush: the current one and, if changed, the one before
    (an expired column is loaded)."""
    history = inspect(obj).attrs[name].history
    values = [*history.added, *history.unchanged, *history.deleted]
    return values or [getattr(obj, name)]


def _counted_change(obj: Any, columns: tuple[str, ...]) -> bool:
    state = inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in columns)


def _note_request(request: ReturnRequest, marks: Marks) -> None:
    marks.requests.add(request.id)
    for shop_id in _values(request, "shop_id"):
        for moment in _values(request, "created_at"):
            marks.note_day(shop_id, moment)


def _note_line(line: ReturnRequestLine, marks: Marks) -> None:
    marks.requests.update(_values(line, "request_id"))


def _note_event(event: AuditEvent, marks: Marks) -> None:
    if not COUNTED_ACTIONS.intersection(_values(event, "action")):
        return
    for shop_id in _values(event, "shop_id"):
        for moment in _values(event, "created_at"):
            marks.note_day(shop_id, moment)
        for request_id in _values(event, "request_id"):
            if request_id is not None and shop_id is not None:
                marks.timings[request_id] = shop_id


def _note_order(order: Order, marks: Marks) -> None:
    for shop_id in _values(order, "shop_id"):
        for moment in _values(order, "ordered_at"):
            marks.note_day(shop_id, moment)


def _note_order_line(line: OrderLine, marks: Marks) -> None:
    marks.orders.update(_values(line, "order_id"))


# Per model, what a changed object of it marks.
NOTERS: dict[type, Callable[[Any, Marks], None]] = {
    ReturnRequest: _note_request,
    ReturnRequestLine: _note_line,
    AuditEvent: _note_event,
    Order: _note_order,
    OrderLine: _note_order_line,
}


def _note(obj: Any, marks: Marks) -> None:
    NOTERS[type(obj)](obj, marks)


# Where a session keeps the marks of the rows its flush deletes until the flush ends.
PENDING = "dashboard_marks"


def _before_delete(mapper: Any, connection: Connection, target: Any) -> None:
    """A row the flush deletes (an orphaned request line too, which no session list shows)
    marks as it goes: what it counts on is looked up now, while its rows still exist; the
    marks are written with the flush's others."""
    marks = Marks()
    _note(target, marks)
    if isinstance(target, ReturnRequest):
        marks.deleted_requests.add(target.id)
    _look_up(connection, marks)
    session = object_session(target)
    if session is not None:
        pending = session.info.setdefault(PENDING, Marks())
        pending.days |= marks.days
        pending.timings.update(marks.timings)


def _after_flush(session: Session, flush_context: Any) -> None:
    """New and changed objects mark after the flush (new rows have their ids now), with the
    marks of the deleted ones."""
    marks = session.info.pop(PENDING, None) or Marks()
    for obj in session.new:
        if type(obj) in COUNTED_COLUMNS:
            _note(obj, marks)
    for obj in session.dirty:
        columns = COUNTED_COLUMNS.get(type(obj))
        if columns and _counted_change(obj, columns):
            _note(obj, marks)
    _write(session, marks)


def listen() -> None:
    """Mark what every ORM flush changes (once per process; ``create_app`` calls it)."""
    if event.contains(Session, "after_flush", _after_flush):
        return
    for model in COUNTED_COLUMNS:
        event.listen(model, "before_delete", _before_delete)
    event.listen(Session, "after_flush", _after_flush)


def mark_requests(request_ids: Iterable[int]) -> None:
    """Mark the days and timings of requests a set-based write changed (or is about to
    delete): each one's submission day and its order's day, and its timing."""
    _write(db.session(), Marks(requests=set(request_ids)))


def mark_orders(order_ids: Iterable[int]) -> None:
    """Mark the order days of orders (or their lines) a set-based write changed; call it
    before and after a write that moves an order to another day."""
    _write(db.session(), Marks(orders=set(order_ids)))


def mark_audited(rows: Iterable[tuple[int, int]], when: datetime) -> None:
    """Mark the audit events of a set-based write: ``(request id, shop id)`` pairs of events
    of a counted action made at ``when``."""
    marks = Marks()
    for request_id, shop_id in rows:
        marks.note_day(shop_id, when)
        marks.timings[request_id] = shop_id
    _write(db.session(), marks)


def _look_up(connection: Connection, marks: Marks) -> None:
    """Turn request and order ids into the days they count on (and requests to retime)."""
    if marks.requests:
        rows = connection.execute(
            select(
                ReturnRequest.id, ReturnRequest.shop_id, ReturnRequest.created_at, Order.ordered_at
            )
            .join(Order, Order.id == ReturnRequest.order_id)
            .where(ReturnRequest.id.in_(sorted(i for i in marks.requests if i is not None)))
        )
        for request_id, shop_id, created_at, ordered_at in rows:
            marks.note_day(shop_id, created_at)
            marks.note_day(shop_id, ordered_at)
            marks.timings[request_id] = shop_id
    if marks.orders:
        rows = connection.execute(
            select(Order.shop_id, Order.ordered_at).where(
                Order.id.in_(sorted(i for i in marks.orders if i is not None))
            )
        )
        for shop_id, ordered_at in rows:
            marks.note_day(shop_id, ordered_at)
    if marks.deleted_requests:
        rows = connection.execute(
            select(AuditEvent.shop_id, AuditEvent.created_at).where(
                AuditEvent.request_id.in_(sorted(marks.deleted_requests)),
                AuditEvent.action.in_(COUNTED_ACTIONS),
            )
        )
        for shop_id, created_at in rows:
            marks.note_day(shop_id, created_at)


def _write(session: Session, marks: Marks) -> None:
    """Insert the marks, a row each with a new ``marked_at``: plain INSERTs, no conflict
    target, so two transactions marking the same day or request never lock each other out
    (an upsert of one row per day held its lock until commit, and every commit to the shop
    queued on it)."""
    if not (
        marks.days or marks.timings or marks.requests or marks.orders or marks.deleted_requests
    ):
        return
    connection = session.connection()
    _look_up(connection, marks)
    now = utcnow()
    if marks.days:
        connection.execute(
            insert(DashboardDirty),
            [{"shop_id": s, "day": d, "marked_at": now} for s, d in sorted(marks.days)],
        )
    if marks.timings:
        connection.execute(
            insert(DashboardDirtyRequest),
            [
                {"request_id": r, "shop_id": s, "marked_at": now}
                for r, s in sorted(marks.timings.items())
            ],
        )
