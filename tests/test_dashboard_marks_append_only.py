"""The dashboard's marks are append-only: every commit adds its own row, a recount deletes
exactly the marks it read, so a mark committed while a recount runs is recounted by the next
one; two transactions marking the same day do not wait for each other (PostgreSQL); the
figures the dashboard shows stay those of the live queries."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from domain import workflow
from extensions import db
from factories import make_request, make_shop, make_user
from models import DashboardDay, DashboardDirty, DashboardDirtyRequest, ReturnRequest, utcnow
from services import dashboard, dashboard_recount


@pytest.fixture
def shop_today(app):
    """A shop, its admin, and three new requests submitted today, the marks recounted."""
    shop = make_shop("demo", "Demo Winkel")
    agent = make_user("lead@example.com", shop, role="admin")
    requests = [make_request(shop, created_at=utcnow()) for _ in range(3)]
    db.session.commit()
    dashboard_recount.recount()
    return shop, agent, requests


def day_mark_count(shop_id: int) -> int:
    return db.session.scalar(
        select(func.count()).select_from(DashboardDirty).where(DashboardDirty.shop_id == shop_id)
    )


def counted(shop_id: int, figure: str) -> int:
    return db.session.scalar(
        select(func.coalesce(func.sum(DashboardDay.count), 0)).where(
            DashboardDay.shop_id == shop_id, DashboardDay.figure == figure
        )
    )


def assert_counts_right(shop_id: int) -> None:
    """What the dashboard shows is what the live queries over the requests give."""
    period = dashboard.period_from_args({}, utcnow())
    shown = dashboard.figures([shop_id], period, utcnow(), "en")
    live_decisions = dashboard.percentiles(dashboard.decision_seconds([shop_id], period))
    assert shown.to_decision.count == live_decisions.count
    assert shown.resolutions == dashboard.resolution_mix([shop_id], period)
    submitted = db.session.scalar(
        select(func.count()).select_from(ReturnRequest).where(ReturnRequest.shop_id == shop_id)
    )
    assert counted(shop_id, "created") == submitted


def test_every_commit_adds_its_mark_and_one_recount_counts_the_day_once(shop_today):
    shop, agent, (first, second, _third) = shop_today
    workflow.approve(first, agent)
    db.session.commit()
    workflow.approve(second, agent)
    db.session.commit()

    assert day_mark_count(shop.id) == 2
    done = dashboard_recount.recount()

    assert (done.days, done.requests) == (1, 2)
    assert day_mark_count(shop.id) == 0
    assert counted(shop.id, "decided") == 2
    assert_counts_right(shop.id)


def test_a_mark_committed_while_a_recount_runs_is_recounted_by_the_next(shop_today):
    shop, agent, (first, second, _third) = shop_today
    workflow.approve(first, agent)
    db.session.commit()
    days, requests = dashboard_recount.day_marks(), dashboard_recount.request_marks()

    # The recount has read the marks; another approval of the same day commits before it
    # deletes them.
    workflow.approve(second, agent)
    db.session.commit()
    dashboard_recount.recount_days(days)
    dashboard_recount.recount_requests(requests)

    assert day_mark_count(shop.id) == 1
    assert set(db.session.scalars(select(DashboardDirtyRequest.request_id))) == {second.id}
    done = dashboard_recount.recount()
    assert (done.days, done.requests) == (1, 1)
    assert counted(shop.id, "decided") == 2
    assert_counts_right(shop.id)


def test_a_recount_whose_marks_another_recount_cleared_counts_nothing(shop_today):
    shop, agent, (first, _second, _third) = shop_today
    workflow.approve(first, agent)
    db.session.commit()
    days, requests = dashboard_recount.day_marks(), dashboard_recount.request_marks()
    dashboard_recount.recount()

    assert dashboard_recount.recount_days(days) == 0
    assert dashboard_recount.recount_requests(requests) == 0
    assert_counts_right(shop.id)


def test_two_transactions_marking_the_same_day_do_not_wait_for_each_other(shop_today):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time")
    shop, agent, (first, second, _third) = shop_today
    workflow.approve(first, agent)
    db.session.flush()  # marks today, uncommitted
    assert db.session.scalar(select(func.count()).select_from(DashboardDirty)) == 1

    other = Session(db.engine)
    try:
        other.execute(text("SET LOCAL lock_timeout = '2s'"))
        started = time.monotonic()
        other.get(ReturnRequest, second.id).resolution = "exchange"
        other.commit()  # marks today and the request too
        waited = time.monotonic() - started
    finally:
        other.close()
    db.session.commit()

    assert waited < 1
    assert day_mark_count(shop.id) == 2
    dashboard_recount.recount()
    assert counted(shop.id, "decided") == 1
    assert_counts_right(shop.id)
