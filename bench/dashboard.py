"""Time the dashboard's queries for the biggest shop (or all shops) of DATABASE_URL's database.

Not a test: run it against a database filled to the size you care about, e.g.

    DATABASE_URL=postgresql:///returndesk .venv/bin/python bench/dashboard.py --runs 20
    DATABASE_URL=postgresql:///returndesk .venv/bin/python bench/dashboard.py --all-shops

It prints, per figure and for the whole dashboard, the median and 95th percentile in ms: as
the dashboard reads it (the daily counts of ``dashboard_day`` and ``request_timing``), and as
the live queries over the requests, events and orders compute it (what the dashboard ran
before, still the reference the tests check the counts against). ``--all-shops`` times what a
support user sees with no shop chosen: every shop at once.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select

from app import create_app
from extensions import db
from models import ReturnRequest, Shop, utcnow
from services import dashboard


def biggest_shop() -> tuple[int, int] | None:
    """The shop with the most requests, and how many it has."""
    return db.session.execute(
        select(ReturnRequest.shop_id, func.count())
        .group_by(ReturnRequest.shop_id)
        .order_by(func.count().desc())
        .limit(1)
    ).first()


def queries(shop_ids: list[int], period: dashboard.Period) -> dict[str, Callable[[], object]]:
    now = utcnow()
    return {
        "open_counts": lambda: dashboard.open_counts(shop_ids),
        "new_counts": lambda: dashboard.new_counts(shop_ids, now),
        "hold_counts": lambda: dashboard.hold_counts(shop_ids, now),
        "time_to_decision": lambda: dashboard.percentiles(
            dashboard.decision_timing(shop_ids, period)
        ),
        "time_to_label": lambda: dashboard.percentiles(dashboard.label_timing(shop_ids, period)),
        "reasons": lambda: dashboard.reasons_counted(shop_ids, period, "nl"),
        "resolutions": lambda: dashboard.counted(shop_ids, period, "resolution"),
        "shipping": lambda: dashboard.shipping_counted(shop_ids, period),
        "products": lambda: dashboard.products_counted(shop_ids, period, "nl"),
        "weeks": lambda: dashboard.weeks_counted(shop_ids, period),
        "whole dashboard": lambda: dashboard.figures(shop_ids, period, now, "nl"),
        "live time_to_decision": lambda: dashboard.percentiles(
            dashboard.decision_seconds(shop_ids, period)
        ),
        "live time_to_label": lambda: dashboard.percentiles(
            dashboard.label_seconds(shop_ids, period)
        ),
        "live reasons": lambda: dashboard.reasons_ranked(shop_ids, period, "nl"),
        "live resolutions": lambda: dashboard.resolution_mix(shop_ids, period),
        "live shipping": lambda: dashboard.shipping_mix(shop_ids, period),
        "live products": lambda: dashboard.product_return_rates(shop_ids, period, "nl"),
        "live weeks": lambda: dashboard.weekly_trend(shop_ids, period),
        "live whole dashboard": lambda: live_dashboard(shop_ids, period, now),
    }


def live_dashboard(shop_ids: list[int], period: dashboard.Period, now) -> None:
    """Every figure computed live, as the dashboard did before it kept counts per day."""
    dashboard.open_counts(shop_ids)
    dashboard.expired_count(shop_ids)
    dashboard.new_counts(shop_ids, now)
    dashboard.hold_counts(shop_ids, now)
    dashboard.percentiles(dashboard.decision_seconds(shop_ids, period))
    dashboard.percentiles(dashboard.label_seconds(shop_ids, period))
    dashboard.reasons_ranked(shop_ids, period, "nl")
    dashboard.resolution_mix(shop_ids, period)
    dashboard.shipping_mix(shop_ids, period)
    dashboard.product_return_rates(shop_ids, period, "nl")
    dashboard.weekly_trend(shop_ids, period)
    dashboard.disposition_mix(shop_ids, period)
    dashboard.disposal_reasons(shop_ids, period)


def timings(run: Callable[[], object], runs: int) -> list[float]:
    """Milliseconds per run, after one warm-up run (caches, compiled statements).

    Each run is a transaction of its own that starts as the dashboard page does.
    """
    run()
    db.session.rollback()
    spent = []
    for _ in range(runs):
        started = time.perf_counter()
        dashboard.switch_off_jit()
        run()
        spent.append((time.perf_counter() - started) * 1000)
        db.session.rollback()
    return spent


def p95(values: list[float]) -> float:
    return dashboard.interpolate(sorted(values), 0.95)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--days", choices=[str(d) for d in dashboard.PERIOD_DAYS], default="90")
    parser.add_argument("--all-shops", action="store_true", help="every shop, as support sees")
    options = parser.parse_args()

    app = create_app()
    with app.app_context():
        found = biggest_shop()
        if found is None:
            sys.exit("No requests in this database; seed it first.")
        shop_id, count = found
        if options.all_shops:
            shop_ids = list(db.session.scalars(select(Shop.id).order_by(Shop.id)))
            count = db.session.scalar(select(func.count()).select_from(ReturnRequest))
            chosen = f"all {len(shop_ids)} shops"
        else:
            shop_ids, chosen = [shop_id], f"shop {shop_id}"
        period = dashboard.period_from_args({"period": options.days}, utcnow())
        dialect = db.session.get_bind().dialect.name
        print(f"{dialect}: {chosen} with {count} requests, last {options.days} days")
        print(f"{'query':<28}{'median ms':>12}{'p95 ms':>12}")
        for name, run in queries(shop_ids, period).items():
            spent = timings(run, options.runs)
            print(f"{name:<28}{statistics.median(spent):>12.1f}{p95(spent):>12.1f}")


if __name__ == "__main__":
    main()
