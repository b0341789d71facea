"""The dashboard's figures, each checked against values computed by hand on a known data set.

The data set (shop "demo", custom period Mon 2026-10-05 to Sun 2026-10-18):

orders placed in the period: O1 (BLOUSE 3, TRUI 1) and O2 (BLOUSE 2, SNEAKER 4);
O3 (BLOUSE 5) was placed before it.

| request | order | submitted    | items (reason)                     | resolution   | decisions                                   |
| R1      | O1    | 10-06 09:00  | BLOUSE 2 (small), TRUI 1 (damaged) | refund       | approve +2 h, label +24 h after approval    |
| R2      | O2    | 10-07 10:00  | BLOUSE 1 (damaged), SNEAKER 1 (sm) | exchange, free | cancel +4 h, reopened, approve 10-08       |
| R3      | O3    | 10-13 10:00  | BLOUSE 1 (small)                   | store credit | approve +10 h, label +2 h after approval    |
| R4      | O2    | 10-14 12:00  | SNEAKER 2 (small)                  | refund       | none (new)                                  |
| R5      | O3    | 10-01 10:00  | BLOUSE 1 (damaged)                 | refund       | approve 10-05 10:00 (+96 h)                 |

A second shop ("other") has a request of its own in the same period that must never count.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, update

from demo import seeding
from domain import workflow
from extensions import db, limiter
from factories import make_order, make_reason, make_request, make_shop, make_user
from models import (
    AuditEvent,
    Order,
    OrderLine,
    ReturnRequest,
    Shop,
    User,
)
from services import dashboard

HOUR = 3600.0
PERIOD = dashboard.Period(
    datetime(2026, 10, 5, tzinfo=UTC), datetime(2026, 10, 19, tzinfo=UTC), "custom"
)
PERIOD_ARGS = "period=custom&from=2026-10-05&to=2026-10-18"


def at(day: int, hour: int, month: int = 10) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def order_of(shop: Shop, placed: datetime, items: dict[str, int]) -> Order:
    lines = [
        {"sku": sku, "product_name": sku.title(), "quantity": quantity, "unit_price_cents": 1000}
        for sku, quantity in items.items()
    ]
    return make_order(shop, lines, ordered_at=placed)


def request_on(order: Order, submitted: datetime, items: dict, **fields) -> ReturnRequest:
    """A request for some of the order's lines: ``{sku: (quantity, reason)}``."""
    request = make_request(order.shop, order=order, created_at=submitted, **fields)
    for line in list(request.lines):
        if line.order_line.sku in items:
            line.quantity, line.reason = items[line.order_line.sku]
        else:
            request.lines.remove(line)
    db.session.flush()
    return request


def happened_at(request: ReturnRequest, action: str, when: datetime) -> None:
    """Move the latest ``action`` event of the request to a known time."""
    event = db.session.scalar(
        select(AuditEvent)
        .where(AuditEvent.request_id == request.id, AuditEvent.action == action)
        .order_by(AuditEvent.id.desc())
        .limit(1)
    )
    event.created_at = when
    db.session.flush()


@pytest.fixture
def known(app):
    shop = make_shop("demo", "Demo Winkel")
    agent = make_user("lead@example.com", shop, role="admin")
    small = make_reason(shop, "too_small", label_en="Too small", label_nl="Te klein")
    damaged = make_reason(shop, "damaged", label_en="Damaged", label_nl="Beschadigd")
    o1 = order_of(shop, at(6, 8), {"BLOUSE": 3, "TRUI": 1})
    o2 = order_of(shop, at(6, 9), {"BLOUSE": 2, "SNEAKER": 4})
    o3 = order_of(shop, at(1, 8, month=9), {"BLOUSE": 5})

    r1 = request_on(o1, at(6, 9), {"BLOUSE": (2, small), "TRUI": (1, damaged)})
    workflow.approve(r1, agent)
    happened_at(r1, "approve", at(6, 11))
    workflow.mark_label_created(r1, None)
    happened_at(r1, "label_created", at(7, 11))

    r2 = request_on(
        o2,
        at(7, 10),
        {"BLOUSE": (1, damaged), "SNEAKER": (1, small)},
        resolution="exchange",
        free_shipping=True,
    )
    workflow.cancel(r2, agent, "Out of the return window")
    happened_at(r2, "cancel", at(7, 14))
    workflow.reopen(r2, agent)
    workflow.approve(r2, agent)
    happened_at(r2, "approve", at(8, 9))

    r3 = request_on(o3, at(13, 10), {"BLOUSE": (1, small)}, resolution="store_credit")
    workflow.approve(r3, agent)
    happened_at(r3, "approve", at(13, 20))
    workflow.mark_label_created(r3, None)
    happened_at(r3, "label_created", at(13, 22))

    request_on(o2, at(14, 12), {"SNEAKER": (2, small)})

    r5 = request_on(o3, at(1, 10), {"BLOUSE": (1, damaged)})
    workflow.approve(r5, agent)
    happened_at(r5, "approve", at(5, 10))

    other = make_shop("other", "Andere Winkel")
    other_reason = make_reason(other, "too_small", label_en="Too small", label_nl="Te klein")
    noise = request_on(
        order_of(other, at(6, 8), {"BLOUSE": 9}), at(6, 9), {"BLOUSE": (9, other_reason)}
    )
    workflow.cancel(noise, None, "No")
    happened_at(noise, "cancel", at(6, 10))
    db.session.commit()
    return shop


def test_time_to_decision_is_median_and_p90_of_first_decisions_in_the_period(known):
    spread = dashboard.percentiles(dashboard.decision_seconds([known.id], PERIOD))
    # First decisions in the period: R5 96 h, R1 2 h, R2 4 h (its later approval is not its
    # first), R3 10 h. Sorted 2, 4, 10, 96: median (4+10)/2, p90 at 2.7 → 10 + 0.7 × 86.
    assert spread.count == 4
    assert spread.median == pytest.approx(7 * HOUR, abs=1)
    assert spread.p90 == pytest.approx(70.2 * HOUR, abs=1)


def test_time_from_approval_to_label_is_median_and_p90_of_labels_in_the_period(known):
    spread = dashboard.percentiles(dashboard.label_seconds([known.id], PERIOD))
    # R1 24 h, R3 2 h: median 13 h, p90 = 2 + 0.9 × 22.
    assert spread.count == 2
    assert spread.median == pytest.approx(13 * HOUR, abs=1)
    assert spread.p90 == pytest.approx(21.8 * HOUR, abs=1)


def test_percentiles_of_nothing_are_empty(known):
    empty = dashboard.Period(at(1, 0, month=1), at(2, 0, month=1), "custom")
    assert dashboard.percentiles(dashboard.decision_seconds([known.id], empty)) == (
        dashboard.Spread(0, None, None)
    )


def test_reasons_are_ranked_by_items_requested_in_the_period(known):
    ranked = dashboard.reasons_ranked([known.id], PERIOD, "nl")
    assert [(r.code, r.label, r.units) for r in ranked] == [
        ("too_small", "Te klein", 6),
        ("damaged", "Beschadigd", 2),
    ]


def test_resolution_mix_and_free_versus_paid_count_requests_of_the_period(known):
    assert dashboard.resolution_mix([known.id], PERIOD) == {
        "refund": 2,
        "exchange": 1,
        "store_credit": 1,
    }
    assert dashboard.shipping_mix([known.id], PERIOD) == (1, 3)


def test_most_returned_products_have_rate_of_units_sold_in_period_and_top_reason(known):
    products = dashboard.product_return_rates([known.id], PERIOD, "en")
    assert [(p.sku, p.sold, p.requested, p.top_reason) for p in products] == [
        ("SNEAKER", 4, 3, "Too small"),
        ("BLOUSE", 5, 3, "Too small"),
        ("TRUI", 1, 1, "Damaged"),
    ]
    assert [p.rate for p in products] == [0.75, 0.6, 1.0]


def test_products_nobody_asked_to_return_are_not_listed(known):
    order_of(known, at(9, 8), {"SOKKEN": 6, "PET": 2})
    db.session.commit()
    products = dashboard.product_return_rates([known.id], PERIOD, "en")
    assert [p.sku for p in products] == ["SNEAKER", "BLOUSE", "TRUI"]


def test_most_returned_products_are_named_as_on_their_order_lines(known):
    products = dashboard.product_return_rates([known.id], PERIOD, "nl")
    assert [(p.sku, p.name, p.top_reason) for p in products] == [
        ("SNEAKER", "Sneaker", "Te klein"),
        ("BLOUSE", "Blouse", "Te klein"),
        ("TRUI", "Trui", "Beschadigd"),
    ]


def test_top_products_are_limited_to_the_most_returned(known):
    assert [p.sku for p in dashboard.product_return_rates([known.id], PERIOD, "en", limit=1)] == [
        "SNEAKER"
    ]


def test_weekly_trend_counts_requests_approvals_and_cancellations(known):
    weeks = dashboard.weekly_trend([known.id], PERIOD)
    assert [(str(w.monday), w.requests, w.approvals, w.cancellations) for w in weeks] == [
        ("2026-10-05", 2, 3, 1),
        ("2026-10-12", 2, 1, 0),
    ]


def test_open_counts_and_new_today_and_this_week(known):
    assert dashboard.open_counts([known.id]) == {"new": 1, "concept": 0, "on_hold": 0}
    wednesday_afternoon = at(14, 15)
    assert dashboard.new_counts([known.id], wednesday_afternoon) == (1, 2)


def test_stale_holds_use_each_shops_own_threshold(app):
    quick = make_shop("quick", "Snel", hold_stale_hours=8)
    patient = make_shop("patient", "Geduldig", hold_stale_hours=24)
    support = make_user("support@example.com", is_support=True)
    amsterdam = ZoneInfo("Europe/Amsterdam")
    held_since = {  # working hours by Wednesday 15:00: 5, 11 and 19
        (quick, 0): datetime(2026, 11, 25, 10, tzinfo=amsterdam),
        (quick, 1): datetime(2026, 11, 24, 12, tzinfo=amsterdam),
        (patient, 0): datetime(2026, 11, 23, 12, tzinfo=amsterdam),
    }
    for (shop, _), moment in held_since.items():
        request = make_request(shop)
        workflow.hold(request, support)
        request.held_since = moment
    db.session.commit()
    ids = [quick.id, patient.id]
    wednesday = datetime(2026, 11, 25, 15, tzinfo=amsterdam)
    thursday = datetime(2026, 11, 26, 15, tzinfo=amsterdam)
    assert dashboard.hold_counts(ids, wednesday) == (3, 1)
    assert dashboard.hold_counts(ids, thursday) == (3, 3)


def test_period_choices_cover_last_days_and_custom_dates():
    now = datetime(2026, 11, 26, 15, tzinfo=UTC)
    week = dashboard.period_from_args({"period": "7"}, now)
    assert (str(week.first_day), str(week.last_day)) == ("2026-11-20", "2026-11-26")
    custom = dashboard.period_from_args(
        {"period": "custom", "from": "2026-10-05", "to": "2026-10-18"}, now
    )
    assert (custom.start, custom.end) == (PERIOD.start, PERIOD.end)
    nonsense = dashboard.period_from_args({"period": "custom", "from": "2026-13-01"}, now)
    assert nonsense.key == "30"


def test_dashboard_page_shows_the_figures_with_links_to_the_filtered_list(known, client, auth):
    auth.login("lead@example.com")
    page = client.get(f"/admin/?{PERIOD_ARGS}").get_data(as_text=True)
    assert f"flt0_status=new&amp;flt1_shop={known.id}" not in page  # one shop: no chooser
    assert "/admin/requests/?flt0_status=new" in page
    assert '<td data-seconds="25200">7 h</td>' in page
    assert '<td data-seconds="252720">2.9 d</td>' in page
    assert (
        '<tr data-week="2026-10-05"><th scope="row">Oct 5, 2026</th><td>2</td><td>3</td><td>1</td></tr>'
        in page
    )
    assert '<tr data-reason="too_small"><th scope="row">Too small</th><td>6</td></tr>' in page
    assert 'data-rate="0.7500">75%</td>' in page
    assert 'id="chart-trend"' in page


def test_dashboard_is_in_dutch_for_a_dutch_user(known, client, auth):
    db.session.execute(update(User).where(User.email == "lead@example.com").values(language="nl"))
    db.session.commit()
    auth.login("lead@example.com")
    page = client.get(f"/admin/?{PERIOD_ARGS}").get_data(as_text=True)
    assert '<tr data-reason="too_small"><th scope="row">Te klein</th><td>6</td></tr>' in page


def test_staff_cannot_choose_another_shop(known, client, auth):
    other = db.session.scalar(select(Shop).where(Shop.slug == "other"))
    auth.login("lead@example.com")
    page = client.get(f"/admin/?shop={other.id}&{PERIOD_ARGS}").get_data(as_text=True)
    assert '<tr data-reason="too_small"><th scope="row">Too small</th><td>6</td></tr>' in page
    assert "Andere Winkel" not in page


def test_support_sees_all_shops_or_the_chosen_one(known, client, auth):
    make_user("support@example.com", is_support=True)
    db.session.commit()
    other = db.session.scalar(select(Shop).where(Shop.slug == "other"))
    auth.login("support@example.com")
    everything = client.get(f"/admin/?{PERIOD_ARGS}").get_data(as_text=True)
    assert (
        '<tr data-reason="too_small"><th scope="row">Too small</th><td>15</td></tr>' in everything
    )
    assert '<option value="">All shops</option>' in everything
    one = client.get(f"/admin/?shop={other.id}&{PERIOD_ARGS}").get_data(as_text=True)
    assert '<tr data-reason="too_small"><th scope="row">Too small</th><td>9</td></tr>' in one
    assert f"flt0_status=new&amp;flt1_shop={other.id}" in one


def test_fashion_agent_dashboard_shows_no_figures_of_the_demo_shop(app, client):
    seeding.seed()
    db.session.commit()
    fashion = db.session.scalar(select(Shop).where(Shop.slug == "fashion"))
    bakker_skus = set(
        db.session.scalars(select(OrderLine.sku).join(Order).where(Order.shop_id != fashion.id))
    ) - set(
        db.session.scalars(select(OrderLine.sku).join(Order).where(Order.shop_id == fashion.id))
    )
    limiter.reset()
    client.post("/login", data={"email": "agent@fashion.example.com", "password": "demo"})
    page = client.get("/admin/?period=90").get_data(as_text=True)

    assert "Bakker Wonen" not in page
    assert not [sku for sku in bakker_skus if f'data-sku="{sku}"' in page]
    for status, count in db.session.execute(
        select(ReturnRequest.status, func.count())
        .where(ReturnRequest.shop_id == fashion.id, ReturnRequest.status.in_(("new", "concept")))
        .group_by(ReturnRequest.status)
    ):
        assert f'data-status="{status}"' in page
        shown = page.split(f'data-status="{status}"', 1)[1].split("data-count>", 1)[1]
        assert shown.startswith(f"{count}<")
