"""The dashboard kept per day (issue 18): what it shows from ``dashboard_day`` and
``request_timing`` is what the live computation over the requests, events and orders gives,
after every kind of change (transitions, labels, receipts and refunds, a bulk approval, an
order import, a deletion); commits mark, the recount clears, a GET writes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import func, select, update

from domain import workflow
from extensions import db
from factories import make_order, make_reason, make_request, make_shop, make_user
from models import (
    AuditEvent,
    DashboardDay,
    DashboardDirty,
    DashboardDirtyRequest,
    Order,
    RequestTiming,
    ReturnRequest,
    Shop,
    utcnow,
)
from return_flow import create_label
from services import dashboard, dashboard_recount, order_import, schedule

LANGUAGE = "en"


def period_around_now() -> dashboard.Period:
    """The last 30 days with today, as the dashboard shows by default."""
    return dashboard.period_from_args({}, utcnow())


def live(shop_ids: list[int], period: dashboard.Period) -> dict:
    """Every per-day figure as the live queries compute it (the reference)."""
    return {
        "to_decision": dashboard.percentiles(dashboard.decision_seconds(shop_ids, period)),
        "to_label": dashboard.percentiles(dashboard.label_seconds(shop_ids, period)),
        "reasons": dashboard.reasons_ranked(shop_ids, period, LANGUAGE),
        "resolutions": dashboard.resolution_mix(shop_ids, period),
        "shipping": dashboard.shipping_mix(shop_ids, period),
        "products": dashboard.product_return_rates(shop_ids, period, LANGUAGE),
        "weeks": dashboard.weekly_trend(shop_ids, period),
        "dispositions": dashboard.disposition_mix(shop_ids, period),
        "disposed_because": dashboard.disposal_reasons(shop_ids, period),
    }


def shown(shop_ids: list[int], period: dashboard.Period) -> dict:
    """The same figures as the dashboard shows them (from the daily counts)."""
    figures = dashboard.figures(shop_ids, period, utcnow(), LANGUAGE)
    return {
        "to_decision": figures.to_decision,
        "to_label": figures.to_label,
        "reasons": figures.reasons,
        "resolutions": figures.resolutions,
        "shipping": (figures.free_shipping, figures.paid_shipping),
        "products": figures.products,
        "weeks": figures.weeks,
        "dispositions": figures.dispositions,
        "disposed_because": figures.disposed_because,
    }


def assert_same_figures(shop_ids: list[int], period: dashboard.Period | None = None) -> None:
    period = period or period_around_now()
    expected, got = live(shop_ids, period), shown(shop_ids, period)
    for name in ("to_decision", "to_label"):
        assert got[name].count == expected[name].count, name
        for value in ("median", "p90"):
            assert getattr(got[name], value) == pytest.approx(
                getattr(expected[name], value), abs=1
            ), name
        del got[name], expected[name]
    assert got == expected


def marked_days() -> set[tuple[int, str]]:
    return {
        (shop_id, str(day))
        for shop_id, day in db.session.execute(select(DashboardDirty.shop_id, DashboardDirty.day))
    }


def marked_requests() -> set[int]:
    return set(db.session.scalars(select(DashboardDirtyRequest.request_id)))


def everything_kept() -> dict[str, list]:
    """Every row of the dashboard's own tables."""
    return {
        model.__tablename__: sorted(map(repr, db.session.execute(select(model.__table__)).all()))
        for model in (DashboardDay, RequestTiming, DashboardDirty, DashboardDirtyRequest)
    }


@pytest.fixture
def desk(app):
    """A shop with an admin, two reasons, and a few requests of this week and the last."""
    shop = make_shop("demo", "Demo Winkel")
    agent = make_user("lead@example.com", shop, role="admin")
    small = make_reason(shop, "too_small", label_en="Too small", label_nl="Te klein")
    damaged = make_reason(shop, "damaged", label_en="Damaged", label_nl="Beschadigd")
    now = utcnow()
    requests = []
    for days_ago, reason, free in ((9, small, False), (3, damaged, True), (1, small, False)):
        order = make_order(
            shop,
            [
                {
                    "sku": "BLOUSE",
                    "product_name": "Blouse",
                    "quantity": 2,
                    "unit_price_cents": 1000,
                },
                {
                    "sku": "SNEAKER",
                    "product_name": "Sneaker",
                    "quantity": 1,
                    "unit_price_cents": 1000,
                },
            ],
            ordered_at=now - timedelta(days=days_ago + 2),
        )
        request = make_request(
            shop, order=order, created_at=now - timedelta(days=days_ago), free_shipping=free
        )
        for line in request.lines:
            line.reason = reason
        requests.append(request)
    other = make_shop("other", "Andere Winkel")
    make_request(other)
    db.session.commit()
    return shop, agent, requests


def test_transitions_labels_receipts_and_refunds_show_the_live_figures(desk):
    shop, agent, (first, second, third) = desk
    workflow.approve(first, agent)
    workflow.cancel(second, agent, "Out of the return window")
    db.session.commit()
    return_ = create_label(first)
    workflow.reopen(second, agent)
    workflow.approve(second, agent)
    workflow.mark_in_transit(return_, agent)
    workflow.mark_delivered(return_, agent)
    blouse, sneaker = first.lines
    workflow.receive(
        return_,
        agent,
        {blouse.id: ("damaged", 1), sneaker.id: ("ok", 1)},
        dispositions={blouse.id: ("dispose", "Torn seam"), sneaker.id: ("restock", None)},
    )
    workflow.resolve(return_, agent, "refund")
    workflow.set_free_shipping(third, agent, True)
    db.session.commit()
    create_label(second)  # timed from its own approval, made after the first label
    db.session.commit()

    assert_same_figures([shop.id])
    figures = dashboard.figures([shop.id], period_around_now(), utcnow(), LANGUAGE)
    assert figures.to_decision.count == 2
    assert figures.to_label.count == 2
    assert figures.dispositions == {"dispose": 1, "restock": 1}
    assert figures.free_shipping == 2


def test_commits_mark_and_the_recount_clears_the_marks(desk):
    shop, agent, (first, _second, _third) = desk
    dashboard_recount.recount()
    assert (marked_days(), marked_requests()) == (set(), set())

    workflow.approve(first, agent)
    db.session.commit()

    assert marked_days() == {(shop.id, str(utcnow().date()))}
    assert marked_requests() == {first.id}
    done = dashboard_recount.recount()
    assert (done.days, done.requests) == (1, 1)
    assert (marked_days(), marked_requests()) == (set(), set())
    decided = db.session.scalar(
        select(DashboardDay.count).where(
            DashboardDay.shop_id == shop.id, DashboardDay.figure == "decided"
        )
    )
    assert decided == 1
    assert_same_figures([shop.id])


def test_a_mark_renewed_during_a_recount_survives_it(desk):
    shop, agent, (_first, _second, third) = desk
    dashboard_recount.recount()
    workflow.approve(third, agent)
    db.session.commit()
    seen = dashboard_recount.day_marks()

    # Another commit marks the same day while the recount (of what it saw) runs.
    second_look = make_request(shop, created_at=utcnow())
    db.session.commit()
    dashboard_recount.recount_days(seen)

    assert marked_days() == {(shop.id, str(utcnow().date()))}
    dashboard_recount.recount()
    assert marked_days() == set()
    assert second_look.id
    assert_same_figures([shop.id])


def test_a_bulk_approval_and_a_deletion_show_the_live_figures(desk):
    shop, agent, requests = desk
    dashboard_recount.recount()
    outcome = workflow.bulk_apply("approve", [r.id for r in requests], agent)
    db.session.commit()
    assert outcome.done == 3
    assert marked_requests() == {r.id for r in requests}
    assert_same_figures([shop.id])

    db.session.delete(requests[0])
    db.session.commit()
    assert_same_figures([shop.id])
    dashboard_recount.recount()
    assert_same_figures([shop.id])
    assert db.session.scalar(select(func.count()).select_from(RequestTiming)) == 2


def test_an_order_import_shows_the_live_figures(desk):
    shop, _agent, (first, _second, _third) = desk
    dashboard_recount.recount()
    moved = db.session.get(Order, first.order_id)
    order = order_import.OrderData(
        number=moved.number,
        customer_name=moved.customer_name,
        customer_email=moved.customer_email,
        ordered_at=utcnow() - timedelta(days=20),
        lines=[
            order_import.OrderLineData(
                sku="BLOUSE", product_name="Blouse", quantity=5, unit_price_cents=1000
            ),
            order_import.OrderLineData(
                sku="SNEAKER", product_name="Sneaker", quantity=1, unit_price_cents=1000
            ),
        ],
    )
    fresh = order.model_copy(update={"number": "NEW-1", "ordered_at": utcnow()})
    order_import.upsert_orders(shop.id, [order, fresh])
    db.session.commit()

    assert len(marked_days()) == 3  # the day the order left, the day it moved to, today
    assert_same_figures([shop.id])
    products = dashboard.figures([shop.id], period_around_now(), utcnow(), LANGUAGE).products
    assert [(p.sku, p.sold, p.requested) for p in products] == [
        ("SNEAKER", 4, 3),
        ("BLOUSE", 14, 3),
    ]


def test_support_sees_the_live_figures_of_every_shop(desk):
    _shop, agent, (first, _second, _third) = desk
    workflow.approve(first, agent)
    db.session.commit()
    every_shop = list(db.session.scalars(select(Shop.id)))
    assert_same_figures(every_shop)


def test_the_dashboard_read_is_exact_and_leaves_marks_and_counts_alone(desk, client, auth):
    _shop, agent, (first, _second, _third) = desk
    workflow.approve(first, agent)
    db.session.commit()
    before = everything_kept()
    assert before["dashboard_dirty"]

    auth.login("lead@example.com")
    for url in ("/admin/", "/admin/?period=7", "/admin/requests/", f"/admin/requests/{first.id}"):
        assert client.get(url).status_code in (200, 302, 404)
    page = client.get("/admin/").get_data(as_text=True)

    assert everything_kept() == before
    assert '<tr data-reason="too_small"><th scope="row">Too small</th><td>4</td></tr>' in page


def test_a_flush_of_unchanged_rows_marks_nothing(desk):
    _shop, _agent, (first, _second, _third) = desk
    dashboard_recount.recount()
    first.created_at = db.session.get(ReturnRequest, first.id).created_at
    first.lines[0].quantity = first.lines[0].quantity
    first.customer_name = "Someone Else"  # a column no figure counts
    db.session.commit()
    assert (marked_days(), marked_requests()) == (set(), set())


def test_moving_an_event_to_another_day_marks_both_days(desk):
    shop, agent, (first, _second, _third) = desk
    workflow.approve(first, agent)
    db.session.commit()
    dashboard_recount.recount()
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "approve"))
    event.created_at = datetime(2026, 1, 5, 12, tzinfo=UTC)
    db.session.commit()
    assert marked_days() == {(shop.id, str(utcnow().date())), (shop.id, "2026-01-05")}
    assert_same_figures([shop.id])
    january = dashboard.Period(
        datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC), "custom"
    )
    assert_same_figures([shop.id], january)


def test_the_recount_runs_on_schedule_and_from_the_command_line(desk, runner):
    _shop, agent, (first, _second, _third) = desk
    declared = {s.name: s for s in schedule.schedules()}
    assert declared["dashboard-recount"].work is dashboard_recount.recount
    assert declared["dashboard-recount"].every == 60

    dashboard_recount.recount()
    workflow.approve(first, agent)
    db.session.commit()
    result = runner.invoke(args=["dashboard", "recount"])
    assert result.exit_code == 0, result.output
    assert "1 days and 1 requests recounted" in result.output
    assert marked_days() == set()


def test_a_rebuild_counts_what_was_loaded_without_the_app(desk, runner):
    shop, agent, (first, _second, _third) = desk
    workflow.approve(first, agent)
    db.session.commit()
    db.session.execute(update(ReturnRequest).values(resolution="exchange"))  # no marks
    db.session.commit()
    result = runner.invoke(args=["dashboard", "recount", "--all"])
    assert result.exit_code == 0, result.output
    assert (marked_days(), marked_requests()) == (set(), set())
    assert_same_figures([shop.id])


def test_the_migration_fills_the_counts_of_the_data_there_is(desk):
    shop, agent, (first, second, _third) = desk
    workflow.approve(first, agent)
    workflow.cancel(second, agent, "No")
    db.session.commit()
    create_label(first)
    workflow.reopen(second, agent)
    workflow.approve(second, agent)  # approved after the first label: timed from its own
    db.session.commit()
    create_label(second)
    kept_by_the_app, shop_id = everything_kept(), shop.id
    db.session.remove()

    downgrade(revision="b5d7f9a1c3e6")
    upgrade()

    assert (marked_days(), marked_requests()) == (set(), set())
    assert_same_figures([shop_id])
    filled = everything_kept()
    dashboard_recount.rebuild()
    rebuilt = everything_kept()
    assert filled["dashboard_day"] == rebuilt["dashboard_day"]
    assert filled["request_timing"] == rebuilt["request_timing"]
    assert kept_by_the_app["dashboard_day"] == []  # the app had only marked


def test_removing_an_item_from_a_request_marks_its_days(desk):
    shop, _agent, (first, _second, _third) = desk
    dashboard_recount.recount()
    first.lines.remove(first.lines[1])
    db.session.commit()
    submitted = str(first.created_at.date())
    ordered = str(db.session.get(Order, first.order_id).ordered_at.date())
    assert marked_days() == {(shop.id, submitted), (shop.id, ordered)}
    assert_same_figures([shop.id])
