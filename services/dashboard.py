"""The dashboard's figures: sums of the daily counts over the chosen shops and period.

Every function takes the shop ids to count, already limited by the caller to what the
user may see, and returns plain numbers. ``figures`` (what the page shows) reads the counts
kept per shop and UTC day in ``dashboard_day`` and the requests' timings in
``request_timing`` (``services/dashboard_recount.py`` keeps them, the marked days recounted
first), and, live, what is no count per day: the open, expired, new and held requests now,
the products' names. The live computation of every per-day figure stays beside it
(``reasons_ranked``, ``resolution_mix`` …: ``GROUP BY`` queries over the period's requests,
audit events and order lines, on the indexes ``ix_request_shop_created``,
``ix_audit_shop_action_created``, ``ix_audit_request_action_created``,
``ix_order_shop_ordered``, ``ix_order_line_order_sku``): it is what the daily counts are
checked against (tests) and timed against (bench/dashboard.py). All times are UTC.
``figures`` runs without PostgreSQL's JIT (see ``switch_off_jit``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import (
    Select,
    and_,
    case,
    func,
    literal_column,
    select,
    text,
)
from sqlalchemy.orm import aliased

from domain import tenancy, workflow
from domain.dashboard_marks import DECISIONS
from extensions import db
from models import (
    DISPOSE,
    EXPIRED,
    ON_HOLD,
    OPEN_STATUSES,
    AuditEvent,
    DashboardDay,
    Order,
    OrderLine,
    OutboundEmail,
    Refund,
    RequestTiming,
    Return,
    ReturnReason,
    ReturnRequest,
    ReturnRequestLine,
    Shop,
    on_postgresql,
)
from services import dashboard_recount as recount
from services.dashboard_recount import midnight, seconds_between

PERIOD_DAYS = (7, 30, 90)
DEFAULT_DAYS = 30
APPROVALS = ("approve", "approve_keep")
TOP_PRODUCTS = 20


@dataclass(frozen=True)
class Period:
    """``start`` inclusive, ``end`` exclusive; ``key`` is "7", "30", "90" or "custom"."""

    start: datetime
    end: datetime
    key: str

    @property
    def first_day(self) -> date:
        return self.start.date()

    @property
    def last_day(self) -> date:
        return (self.end - timedelta(microseconds=1)).date()


def period_from_args(args: Mapping[str, str], now: datetime) -> Period:
    """The period of the dashboard's form: last 7/30/90 days (with today), or from/to dates.

    Anything unreadable falls back to the last 30 days.
    """
    key = args.get("period", str(DEFAULT_DAYS))
    if key == "custom":
        first, last = _parse_day(args.get("from")), _parse_day(args.get("to"))
        if first and last and first <= last:
            return Period(midnight(first), midnight(last + timedelta(days=1)), "custom")
    days = int(key) if key in {str(d) for d in PERIOD_DAYS} else DEFAULT_DAYS
    tomorrow = midnight(now.date() + timedelta(days=1))
    return Period(tomorrow - timedelta(days=days), tomorrow, str(days))


def _parse_day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def switch_off_jit() -> None:
    """Run the rest of this transaction's queries without PostgreSQL's JIT compilation.

    The dashboard's queries are many index probes whose estimated cost passes
    ``jit_above_cost``; compiling them took 140–260 ms per query, longer than most of them
    run (bench/dashboard.py at a million requests). ``SET LOCAL`` ends with the transaction.
    """
    if on_postgresql():
        db.session.execute(text("SET LOCAL jit = off"))


def week_of(column):
    """SQL for the Monday (UTC) of the week a timestamp falls in."""
    if on_postgresql():
        return func.date_trunc("week", func.timezone("UTC", column))
    return func.date(column, "weekday 0", "-6 days")


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _as_date(value) -> date:
    """A week bucket as the database returns it (a string on SQLite) as a date."""
    if isinstance(value, str):
        return date.fromisoformat(value[:10])
    return value.date() if isinstance(value, datetime) else value


def _requests_in(shop_ids: list[int], period: Period):
    return and_(
        tenancy.of_shops(ReturnRequest.shop_id, shop_ids),
        ReturnRequest.created_at >= period.start,
        ReturnRequest.created_at < period.end,
    )


def open_counts(shop_ids: list[int]) -> dict[str, int]:
    """Open requests per status right now (every open status, zero when none)."""
    rows = db.session.execute(
        select(ReturnRequest.status, func.count())
        .where(
            tenancy.of_shops(ReturnRequest.shop_id, shop_ids),
            ReturnRequest.status.in_(OPEN_STATUSES),
        )
        .group_by(ReturnRequest.status)
    )
    counts = dict.fromkeys(OPEN_STATUSES, 0)
    counts.update({status: count for status, count in rows})
    return counts


def expired_count(shop_ids: list[int]) -> int:
    """Requests that expired without a label: staff may give them a new ship-by date."""
    return (
        db.session.scalar(
            select(func.count()).where(
                tenancy.of_shops(ReturnRequest.shop_id, shop_ids), ReturnRequest.status == EXPIRED
            )
        )
        or 0
    )


def new_counts(shop_ids: list[int], now: datetime) -> tuple[int, int]:
    """Requests submitted today and this week (since Monday), UTC days."""
    today = midnight(now.date())
    week = midnight(monday_of(now.date()))
    row = db.session.execute(
        select(
            func.count(case((ReturnRequest.created_at >= today, 1))),
            func.count(),
        ).where(tenancy.of_shops(ReturnRequest.shop_id, shop_ids), ReturnRequest.created_at >= week)
    ).one()
    return row[0], row[1]


def hold_counts(shop_ids: list[int], now: datetime) -> tuple[int, int]:
    """Requests on hold, and how many of those holds are stale.

    A hold is stale when older than its shop's ``hold_stale_hours`` working hours (as
    ``workflow.hold_is_stale``); each shop's threshold is a parameter of one CASE.
    """
    thresholds = {
        shop.id: workflow.working_hours_ago(now, shop.hold_stale_hours, shop.zone)
        for shop in db.session.scalars(select(Shop).where(tenancy.of_shops(Shop.id, shop_ids)))
    }
    if not thresholds:
        return 0, 0
    threshold = case(thresholds, value=ReturnRequest.shop_id)
    row = db.session.execute(
        select(func.count(), func.count(case((ReturnRequest.held_since < threshold, 1)))).where(
            tenancy.of_shops(ReturnRequest.shop_id, shop_ids), ReturnRequest.status == ON_HOLD
        )
    ).one()
    return row[0], row[1]


@dataclass(frozen=True)
class EmailTrouble:
    """Emails that could not be sent: ``failing`` ones are being retried, ``failed`` ones
    were given up after the retry window and wait for "Retry now" in the Outbox."""

    failing: int
    failed: int


def email_trouble(shop_ids: list[int] | None) -> EmailTrouble:
    """Failing and failed emails of these shops; ``None``: of the whole platform (support),
    emails of no shop (password resets, invitations) included."""
    query = select(
        func.count(case((OutboundEmail.failing, 1))),
        func.count(case((OutboundEmail.status == "failed", 1))),
    ).where(OutboundEmail.status.in_(("pending", "failed")))
    query = tenancy.in_shops(query, OutboundEmail.shop_id, shop_ids)
    failing, failed = db.session.execute(query).one()
    return EmailTrouble(failing=failing, failed=failed)


# The dashboard lists at most this many failed refunds, the latest first.
FAILED_REFUNDS_SHOWN = 20


@dataclass(frozen=True)
class FailedRefund:
    """A refund or store credit the shop's platform did not carry out, as the dashboard
    lists it: the return (its page has "Retry"), or the request when the customer kept the
    items (its page has it then), the amount and the platform's message."""

    return_id: int | None
    request_id: int
    number: str
    kind: str
    amount_cents: int
    currency: str
    message: str


def failed_refunds(shop_ids: list[int] | None) -> list[FailedRefund]:
    """The failed refunds of these shops (``None``: every shop), the latest first."""
    query = (
        select(Refund, Return.number, ReturnRequest.number)
        .join(ReturnRequest, ReturnRequest.id == Refund.request_id)
        .outerjoin(Return, Return.id == Refund.return_id)
        .where(Refund.status == "failed")
        .order_by(Refund.updated_at.desc())
        .limit(FAILED_REFUNDS_SHOWN)
    )
    query = tenancy.in_shops(query, Refund.shop_id, shop_ids)
    return [
        FailedRefund(
            return_id=refund.return_id,
            request_id=refund.request_id,
            number=return_number or request_number,
            kind=refund.kind,
            amount_cents=refund.amount_cents,
            currency=refund.currency,
            message=refund.provider_message or "",
        )
        for refund, return_number, request_number in db.session.execute(query)
    ]


def first_events(shop_ids: list[int], actions: tuple[str, ...], period: Period) -> Select:
    """Events of ``actions`` in the period that are their request's first such event.

    A request reopened and decided again is timed by its first decision only. The first
    time is looked up per event on ``ix_audit_request_action_created``.
    """
    earlier = aliased(AuditEvent)
    first_time = (
        select(func.min(earlier.created_at))
        .where(earlier.request_id == AuditEvent.request_id, earlier.action.in_(actions))
        .scalar_subquery()
    )
    return select(AuditEvent.request_id, AuditEvent.created_at).where(
        tenancy.of_shops(AuditEvent.shop_id, shop_ids),
        AuditEvent.action.in_(actions),
        AuditEvent.created_at >= period.start,
        AuditEvent.created_at < period.end,
        AuditEvent.created_at == first_time,
    )


def decision_seconds(shop_ids: list[int], period: Period) -> Select:
    """Seconds from submission to first decision (approve or cancel), decided in the period."""
    decided = first_events(shop_ids, DECISIONS, period).subquery()
    return select(
        seconds_between(ReturnRequest.created_at, decided.c.created_at).label("seconds")
    ).join_from(decided, ReturnRequest, ReturnRequest.id == decided.c.request_id)


def label_seconds(shop_ids: list[int], period: Period) -> Select:
    """Seconds from approval to the return label, for labels created in the period.

    The approval is the last "approve" before the label (a reopened request was approved again).
    """
    labelled = first_events(shop_ids, ("label_created",), period).subquery()
    approved_at = (
        select(func.max(AuditEvent.created_at))
        .where(
            AuditEvent.request_id == labelled.c.request_id,
            AuditEvent.action == "approve",
            AuditEvent.created_at <= labelled.c.created_at,
        )
        .scalar_subquery()
    )
    return select(seconds_between(approved_at, labelled.c.created_at).label("seconds")).select_from(
        labelled
    )


@dataclass(frozen=True)
class Spread:
    """Median and 90th percentile of a duration, in seconds, over ``count`` cases."""

    count: int
    median: float | None
    p90: float | None


def percentiles(seconds: Select) -> Spread:
    """Median and p90 of a one-column query named ``seconds`` (NULLs ignored).

    PostgreSQL computes them (``percentile_cont``) over the durations computed once (a
    materialised CTE: inlined, each of the four uses of the column would run the duration's
    subqueries again); elsewhere (SQLite) the narrow column is read sorted and interpolated
    the same way in Python.
    """
    if on_postgresql():
        column = seconds.cte("durations").prefix_with("MATERIALIZED").c.seconds
        present = column.is_not(None)
        count, median, p90 = db.session.execute(
            select(
                func.count(column),
                func.percentile_cont(0.5).within_group(column),
                func.percentile_cont(0.9).within_group(column),
            ).where(present)
        ).one()
        return Spread(count, median, p90)
    column = seconds.subquery().c.seconds
    present = column.is_not(None)
    values = db.session.scalars(select(column).where(present).order_by(column)).all()
    return Spread(len(values), interpolate(values, 0.5), interpolate(values, 0.9))


def interpolate(ordered: Sequence[float], fraction: float) -> float | None:
    """The ``fraction`` percentile of sorted values, as SQL's ``percentile_cont``."""
    if not ordered:
        return None
    position = fraction * (len(ordered) - 1)
    below = int(position)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


@dataclass(frozen=True)
class Ranked:
    code: str
    label: str
    units: int


def reasons_ranked(shop_ids: list[int], period: Period, language: str) -> list[Ranked]:
    """Return reasons by items requested (requests submitted in the period), most first."""
    label = ReturnReason.label_nl if language == "nl" else ReturnReason.label_en
    units = func.sum(ReturnRequestLine.quantity)
    rows = db.session.execute(
        select(ReturnReason.code, func.min(label), units)
        .select_from(ReturnRequestLine)
        .join(ReturnRequest, ReturnRequest.id == ReturnRequestLine.request_id)
        .join(ReturnReason, ReturnReason.id == ReturnRequestLine.reason_id)
        .where(_requests_in(shop_ids, period))
        .group_by(ReturnReason.code)
        .order_by(units.desc(), ReturnReason.code)
    )
    return [Ranked(code, text, int(count)) for code, text, count in rows]


def resolution_mix(shop_ids: list[int], period: Period) -> dict[str, int]:
    """Requests submitted in the period per chosen resolution (refund, exchange, store credit)."""
    rows = db.session.execute(
        select(ReturnRequest.resolution, func.count())
        .where(_requests_in(shop_ids, period))
        .group_by(ReturnRequest.resolution)
    )
    return dict(rows.tuples().all())


def disposition_mix(shop_ids: list[int], period: Period) -> dict[str, int]:
    """Units received from the period's requests per disposition (restock, refurbish, dispose)."""
    rows = db.session.execute(
        select(ReturnRequestLine.disposition, func.sum(ReturnRequestLine.received_quantity))
        .join(ReturnRequest, ReturnRequest.id == ReturnRequestLine.request_id)
        .where(_requests_in(shop_ids, period), ReturnRequestLine.disposition.is_not(None))
        .group_by(ReturnRequestLine.disposition)
    )
    return {disposition: int(units or 0) for disposition, units in rows}


def disposal_reasons(shop_ids: list[int], period: Period, limit: int = 5) -> list[Ranked]:
    """Why units of the period's requests were disposed of, most units first."""
    units = func.sum(ReturnRequestLine.received_quantity)
    rows = db.session.execute(
        select(ReturnRequestLine.disposition_note, units)
        .join(ReturnRequest, ReturnRequest.id == ReturnRequestLine.request_id)
        .where(_requests_in(shop_ids, period), ReturnRequestLine.disposition == DISPOSE)
        .group_by(ReturnRequestLine.disposition_note)
        .order_by(units.desc(), ReturnRequestLine.disposition_note)
        .limit(limit)
    )
    return [Ranked(note or "", note or "", int(count or 0)) for note, count in rows]


def shipping_mix(shop_ids: list[int], period: Period) -> tuple[int, int]:
    """Requests submitted in the period with free return shipping, and with paid."""
    row = db.session.execute(
        select(
            func.count(case((ReturnRequest.free_shipping.is_(True), 1))),
            func.count(case((ReturnRequest.free_shipping.is_(False), 1))),
        ).where(_requests_in(shop_ids, period))
    ).one()
    return row[0], row[1]


@dataclass
class ProductRate:
    """One product (a shop's SKU): units sold in the period and how many were requested back."""

    shop_id: int
    sku: str
    name: str
    sold: int
    requested: int
    top_reason: str | None = None

    @property
    def rate(self) -> float:
        return self.requested / self.sold if self.sold else 0.0


def _orders_in(shop_ids: list[int], period: Period):
    return and_(
        tenancy.of_shops(Order.shop_id, shop_ids),
        Order.ordered_at >= period.start,
        Order.ordered_at < period.end,
    )


def product_return_rates(
    shop_ids: list[int], period: Period, language: str, limit: int = TOP_PRODUCTS
) -> list[ProductRate]:
    """The most returned products of the orders placed in the period, with their top reason.

    The rate is a cohort: of the units sold on orders placed in the period, the share the
    customers asked to return (so it never exceeds 100 %). Ranked by units requested.

    One pass over the period's order lines (an index-only scan from ``ix_order_shop_ordered``
    into ``ix_order_line_order_sku``) sums both units sold and units requested, each line's
    requested units looked up on ``ix_return_request_line_order_line_id``. Products nobody
    asked to return sum to NULL and sort last; they are dropped after the limit. The ranking
    reads the totals from a subquery so that each line's lookup runs once.
    """
    requested_on_line = (
        select(func.sum(ReturnRequestLine.quantity))
        .where(ReturnRequestLine.order_line_id == OrderLine.id)
        .scalar_subquery()
    )
    line = (
        select(Order.shop_id, OrderLine.sku, OrderLine.quantity, requested_on_line.label("asked"))
        .join(OrderLine.order)
        .where(_orders_in(shop_ids, period))
        .subquery()
    )
    totals = (
        select(
            line.c.shop_id,
            line.c.sku,
            func.sum(line.c.quantity).label("sold"),
            func.sum(line.c.asked).label("requested"),
        )
        .group_by(line.c.shop_id, line.c.sku)
        .subquery()
    )
    rows = db.session.execute(
        select(totals)
        .order_by(
            totals.c.requested.desc().nulls_last(),
            (totals.c.requested * literal_column("1.0") / totals.c.sold).desc(),
            totals.c.sku,
        )
        .limit(limit)
    )
    products = [
        ProductRate(shop_id, sku, sku, int(s), int(r))
        for shop_id, sku, s, r in rows
        if r is not None
    ]
    _add_names(products, shop_ids, period)
    _add_top_reasons(products, shop_ids, period, language)
    return products


def _add_names(products: list[ProductRate], shop_ids: list[int], period: Period) -> None:
    """Name the few ranked products (kept out of the ranking so it reads only an index)."""
    if not products:
        return
    rows = db.session.execute(
        select(Order.shop_id, OrderLine.sku, func.min(OrderLine.product_name))
        .join(OrderLine.order)
        .where(_orders_in(shop_ids, period), OrderLine.sku.in_({p.sku for p in products}))
        .group_by(Order.shop_id, OrderLine.sku)
    )
    names = {(shop_id, sku): name for shop_id, sku, name in rows}
    for product in products:
        product.name = names.get((product.shop_id, product.sku), product.sku)


def _add_top_reasons(
    products: list[ProductRate], shop_ids: list[int], period: Period, language: str
) -> None:
    """Set each product's most given reason (most units; ties by reason code)."""
    if not products:
        return
    label = ReturnReason.label_nl if language == "nl" else ReturnReason.label_en
    units = func.sum(ReturnRequestLine.quantity)
    rows = db.session.execute(
        select(Order.shop_id, OrderLine.sku, ReturnReason.code, func.min(label), units)
        .select_from(ReturnRequestLine)
        .join(OrderLine, OrderLine.id == ReturnRequestLine.order_line_id)
        .join(Order, Order.id == OrderLine.order_id)
        .join(ReturnReason, ReturnReason.id == ReturnRequestLine.reason_id)
        .where(_orders_in(shop_ids, period), OrderLine.sku.in_({p.sku for p in products}))
        .group_by(Order.shop_id, OrderLine.sku, ReturnReason.code)
        .order_by(units.desc(), ReturnReason.code)
    )
    by_product = {(p.shop_id, p.sku): p for p in products}
    for shop_id, sku, _code, label_text, _units in rows:
        product = by_product.get((shop_id, sku))
        if product is not None and product.top_reason is None:
            product.top_reason = label_text


@dataclass(frozen=True)
class Week:
    monday: date
    requests: int
    approvals: int
    cancellations: int


def weekly_trend(shop_ids: list[int], period: Period) -> list[Week]:
    """Per week of the period: requests submitted, approvals and cancellations (zeros included)."""
    week = week_of(ReturnRequest.created_at)
    submitted = dict(
        (_as_date(monday), count)
        for monday, count in db.session.execute(
            select(week, func.count()).where(_requests_in(shop_ids, period)).group_by(week)
        )
    )
    event_week = week_of(AuditEvent.created_at)
    decided: dict[tuple[date, str], int] = {}
    for monday, action, count in db.session.execute(
        select(event_week, AuditEvent.action, func.count())
        .where(
            tenancy.of_shops(AuditEvent.shop_id, shop_ids),
            AuditEvent.action.in_(DECISIONS),
            AuditEvent.created_at >= period.start,
            AuditEvent.created_at < period.end,
        )
        .group_by(event_week, AuditEvent.action)
    ):
        kind = "cancel" if action == "cancel" else "approve"
        key = (_as_date(monday), kind)
        decided[key] = decided.get(key, 0) + count
    return [
        Week(
            monday,
            submitted.get(monday, 0),
            decided.get((monday, "approve"), 0),
            decided.get((monday, "cancel"), 0),
        )
        for monday in weeks_of(period)
    ]


def weeks_of(period: Period) -> list[date]:
    """The Mondays of every week the period touches."""
    monday, last = monday_of(period.first_day), period.last_day
    weeks = []
    while monday <= last:
        weeks.append(monday)
        monday += timedelta(days=7)
    return weeks


# --- the figures from the daily counts --------------------------------------------------


def _days_in(shop_ids: list[int], period: Period, *figures: str):
    return and_(
        tenancy.of_shops(DashboardDay.shop_id, shop_ids),
        DashboardDay.figure.in_(figures),
        DashboardDay.day >= period.first_day,
        DashboardDay.day <= period.last_day,
    )


def counted(shop_ids: list[int], period: Period, figure: str) -> dict[str, int]:
    """A figure of ``dashboard_day`` summed over the period, per key."""
    rows = db.session.execute(
        select(DashboardDay.key, func.sum(DashboardDay.count))
        .where(_days_in(shop_ids, period, figure))
        .group_by(DashboardDay.key)
    )
    return {key: int(count) for key, count in rows}


def decision_timing(shop_ids: list[int], period: Period) -> Select:
    """Seconds from submission to first decision, of the requests first decided in the
    period (as ``decision_seconds``, read from ``request_timing``)."""
    return select(RequestTiming.decision_seconds.label("seconds")).where(
        tenancy.of_shops(RequestTiming.shop_id, shop_ids),
        RequestTiming.decided_at >= period.start,
        RequestTiming.decided_at < period.end,
    )


def label_timing(shop_ids: list[int], period: Period) -> Select:
    """Seconds from approval to the first return label, of the labels made in the period
    (as ``label_seconds``, read from ``request_timing``)."""
    return select(RequestTiming.label_seconds.label("seconds")).where(
        tenancy.of_shops(RequestTiming.shop_id, shop_ids),
        RequestTiming.labelled_at >= period.start,
        RequestTiming.labelled_at < period.end,
    )


def _reasons_by_code(reason_ids: set[int], language: str) -> dict[int, tuple[str, str]]:
    """Per reason id, its code and the label shown for that code (as ``reasons_ranked``
    names a code: the least of its reasons' labels)."""
    if not reason_ids:
        return {}
    label = ReturnReason.label_nl if language == "nl" else ReturnReason.label_en
    rows = db.session.execute(
        select(ReturnReason.id, ReturnReason.code, label).where(ReturnReason.id.in_(reason_ids))
    ).all()
    labels: dict[str, str] = {}
    for _id, code, text_ in rows:
        labels[code] = min(labels.get(code, text_), text_)
    return {reason_id: (code, labels[code]) for reason_id, code, _text in rows}


def reasons_counted(shop_ids: list[int], period: Period, language: str) -> list[Ranked]:
    """``reasons_ranked`` from the daily counts."""
    units = {int(key): count for key, count in counted(shop_ids, period, recount.REASON).items()}
    by_code: dict[tuple[str, str], int] = {}
    for reason_id, (code, label) in _reasons_by_code(set(units), language).items():
        by_code[(code, label)] = by_code.get((code, label), 0) + units[reason_id]
    ranked = sorted(by_code.items(), key=lambda item: (-item[1], item[0][0]))
    return [Ranked(code, label, count) for (code, label), count in ranked]


def shipping_counted(shop_ids: list[int], period: Period) -> tuple[int, int]:
    """``shipping_mix`` from the daily counts."""
    mix = counted(shop_ids, period, recount.SHIPPING)
    return mix.get("free", 0), mix.get("paid", 0)


def disposal_reasons_counted(shop_ids: list[int], period: Period, limit: int = 5) -> list[Ranked]:
    """``disposal_reasons`` from the daily counts."""
    notes = counted(shop_ids, period, recount.DISPOSED)
    ranked = sorted(notes.items(), key=lambda item: (-item[1], item[0]))[:limit]
    return [Ranked(note, note, units) for note, units in ranked]


def weeks_counted(shop_ids: list[int], period: Period) -> list[Week]:
    """``weekly_trend`` from the daily counts."""
    rows = db.session.execute(
        select(
            DashboardDay.figure, DashboardDay.day, DashboardDay.key, func.sum(DashboardDay.count)
        )
        .where(_days_in(shop_ids, period, recount.CREATED, recount.DECIDED))
        .group_by(DashboardDay.figure, DashboardDay.day, DashboardDay.key)
    )
    totals: dict[tuple[date, str], int] = {}
    for figure, day, key, count in rows:
        kind = (
            "requests" if figure == recount.CREATED else "cancel" if key == "cancel" else "approve"
        )
        bucket = (monday_of(_as_date(day)), kind)
        totals[bucket] = totals.get(bucket, 0) + int(count)
    return [
        Week(
            monday,
            totals.get((monday, "requests"), 0),
            totals.get((monday, "approve"), 0),
            totals.get((monday, "cancel"), 0),
        )
        for monday in weeks_of(period)
    ]


def products_counted(
    shop_ids: list[int], period: Period, language: str, limit: int = TOP_PRODUCTS
) -> list[ProductRate]:
    """``product_return_rates`` from the daily counts (units sold and requested back per SKU
    and order day), ranked the same way; the names are looked up live."""
    count = DashboardDay.count
    sold = func.sum(case((DashboardDay.figure == recount.SOLD, count)))
    requested = func.sum(case((DashboardDay.figure == recount.REQUESTED, count)))
    rows = db.session.execute(
        select(DashboardDay.shop_id, DashboardDay.key, sold, requested)
        .where(_days_in(shop_ids, period, recount.SOLD, recount.REQUESTED))
        .group_by(DashboardDay.shop_id, DashboardDay.key)
        .having(requested.is_not(None))
        .order_by(
            requested.desc(), (requested * literal_column("1.0") / sold).desc(), DashboardDay.key
        )
        .limit(limit)
    )
    products = [ProductRate(shop_id, sku, sku, int(s or 0), int(r)) for shop_id, sku, s, r in rows]
    _add_names(products, shop_ids, period)
    _add_counted_top_reasons(products, shop_ids, period, language)
    return products


def _add_counted_top_reasons(
    products: list[ProductRate], shop_ids: list[int], period: Period, language: str
) -> None:
    """``_add_top_reasons`` from the daily counts of units per reason and SKU: the keys
    ("<reason id>:<SKU>") of the ranked products and their shops' reasons are looked up."""
    if not products:
        return
    wanted = {(p.shop_id, p.sku): p for p in products}
    shops_reasons: dict[int, list[int]] = {}
    for reason_id, shop_id in db.session.execute(
        select(ReturnReason.id, ReturnReason.shop_id).where(
            ReturnReason.shop_id.in_({p.shop_id for p in products})
        )
    ):
        shops_reasons.setdefault(shop_id, []).append(reason_id)
    keys = {f"{r}:{p.sku}" for p in products for r in shops_reasons.get(p.shop_id, [])}
    units: dict[tuple[int, str, int], int] = {}
    for shop_id, key, count in db.session.execute(
        select(DashboardDay.shop_id, DashboardDay.key, func.sum(DashboardDay.count))
        .where(_days_in(shop_ids, period, recount.PRODUCT_REASON), DashboardDay.key.in_(keys))
        .group_by(DashboardDay.shop_id, DashboardDay.key)
    ):
        reason_id, sku = key.split(":", 1)
        if (shop_id, sku) in wanted:
            units[(shop_id, sku, int(reason_id))] = int(count)
    reasons = _reasons_by_code({reason_id for _s, _k, reason_id in units}, language)
    per_code: dict[tuple[int, str, str, str], int] = {}
    for (shop_id, sku, reason_id), count in units.items():
        code, label = reasons[reason_id]
        bucket = (shop_id, sku, code, label)
        per_code[bucket] = per_code.get(bucket, 0) + count
    for (shop_id, sku, _code, label), _units in sorted(
        per_code.items(), key=lambda item: (-item[1], item[0][2])
    ):
        product = wanted[(shop_id, sku)]
        if product.top_reason is None:
            product.top_reason = label


@dataclass
class Figures:
    """Everything the dashboard shows, for one selection of shops and one period."""

    period: Period
    open: dict[str, int]
    new_today: int
    new_this_week: int
    held: int
    stale_holds: int
    to_decision: Spread
    to_label: Spread
    reasons: list[Ranked]
    resolutions: dict[str, int]
    free_shipping: int
    paid_shipping: int
    products: list[ProductRate]
    weeks: list[Week] = field(default_factory=list)
    expired: int = 0
    dispositions: dict[str, int] = field(default_factory=dict)
    disposed_because: list[Ranked] = field(default_factory=list)

    @property
    def requests_in_period(self) -> int:
        return sum(self.resolutions.values())


def figures(shop_ids: list[int], period: Period, now: datetime, language: str) -> Figures:
    """Every figure of the dashboard for these shops and this period, the days and requests
    still marked for a recount recounted first (for this read only)."""
    switch_off_jit()
    with recount.recounted_for_reading(shop_ids, period.first_day, period.last_day):
        return _figures(shop_ids, period, now, language)


def _figures(shop_ids: list[int], period: Period, now: datetime, language: str) -> Figures:
    new_today, new_this_week = new_counts(shop_ids, now)
    held, stale = hold_counts(shop_ids, now)
    free, paid = shipping_counted(shop_ids, period)
    return Figures(
        period=period,
        open=open_counts(shop_ids),
        expired=expired_count(shop_ids),
        new_today=new_today,
        new_this_week=new_this_week,
        held=held,
        stale_holds=stale,
        to_decision=percentiles(decision_timing(shop_ids, period)),
        to_label=percentiles(label_timing(shop_ids, period)),
        reasons=reasons_counted(shop_ids, period, language),
        resolutions=counted(shop_ids, period, recount.RESOLUTION),
        free_shipping=free,
        paid_shipping=paid,
        products=products_counted(shop_ids, period, language),
        weeks=weeks_counted(shop_ids, period),
        dispositions=counted(shop_ids, period, recount.DISPOSITION),
        disposed_because=disposal_reasons_counted(shop_ids, period),
    )
