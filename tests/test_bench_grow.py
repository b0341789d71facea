"""``bench/seed.py --grow-from``: a grown database looks like a seed of its size and stays usable.

Growing runs in PostgreSQL only: run with ``DATABASE_URL=postgresql://…`` (a database of its
own is created for the run).
"""

import os
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from bench.seed import BIG_SHOP, concept_count, seed, shop_sizes
from extensions import db
from models import next_request_number

DAY = timedelta(days=1)

pytestmark = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgresql"),
    reason="the grow copies rows in PostgreSQL",
)


def scalar(sql: str, **params):
    return db.session.execute(text(sql), params).scalar()


def test_a_grown_seed_has_the_size_and_shares_of_a_plain_seed(app):
    counts = seed(1200, 3, grow_from=400)

    assert counts["return_request"] == counts["order"] == 1200
    per_shop = db.session.execute(
        text("SELECT count(*) FROM return_request GROUP BY shop_id ORDER BY shop_id")
    ).scalars()
    assert list(per_shop) == shop_sizes(1200, 3)
    big_concept = scalar(
        "SELECT count(*) FROM return_request r JOIN shop s ON s.id = r.shop_id "
        "WHERE s.slug = :slug AND r.status = 'concept'",
        slug=BIG_SHOP,
    )
    assert big_concept == concept_count(shop_sizes(1200, 3)[0])
    # The seed dates its requests up to a day ago; copies that wrap stay before that.
    assert scalar("SELECT max(created_at) FROM return_request") < datetime.now(UTC) - DAY


def test_copies_are_new_customers_with_their_own_numbers_and_orders(app):
    seed(900, 2, grow_from=300)

    assert scalar("SELECT count(DISTINCT number) FROM return_request") == 900
    assert scalar("SELECT count(DISTINCT public_token) FROM return_request") == 900
    mismatched = scalar(
        'SELECT count(*) FROM return_request r JOIN "order" o ON o.id = r.order_id '
        "WHERE o.number <> r.order_number OR o.customer_email <> r.customer_email "
        "OR o.shop_id <> r.shop_id"
    )
    assert mismatched == 0
    foreign_lines = scalar(
        "SELECT count(*) FROM return_request_line l JOIN return_request r ON r.id = l.request_id "
        "JOIN order_line ol ON ol.id = l.order_line_id WHERE ol.order_id <> r.order_id"
    )
    assert foreign_lines == 0
    email = scalar("SELECT customer_email FROM return_request WHERE id = 1")
    local, domain = email.split("@")
    found = db.session.execute(
        text("SELECT customer_email FROM return_request WHERE customer_email LIKE :like"),
        {"like": f"{local}%@{domain}"},
    ).scalars()
    assert sorted(found) == sorted([email, f"{local}+1@{domain}", f"{local}+2@{domain}"])


def test_a_request_made_after_the_grow_gets_a_number_nobody_has(app):
    seed(600, 2, grow_from=200)
    year = datetime.now(UTC).year
    highest = scalar(
        "SELECT max(substring(number from 8)::int) FROM return_request WHERE number LIKE :y",
        y=f"R-{year}-%",
    )

    number = next_request_number(year)

    assert int(number.rsplit("-", 1)[1]) == highest + 1
    assert scalar("SELECT count(*) FROM return_request WHERE number = :n", n=number) == 0


def test_copies_leave_the_big_shop_as_many_concept_requests_as_a_plain_seed(app, monkeypatch):
    # A bulk size far below a quarter of the big shop: as at 10M, most copies must not stay
    # concept. Those that become new lose the concept step of their trail.
    monkeypatch.setattr("bench.seed.BULK_SIZE", 10)
    seed(1200, 3, grow_from=400)
    big = "(SELECT id FROM shop WHERE slug = :slug)"

    concept = scalar(
        f"SELECT count(*) FROM return_request WHERE shop_id = {big} AND status = 'concept'",
        slug=BIG_SHOP,
    )
    new_with_concept_step = scalar(
        "SELECT count(*) FROM audit_event a JOIN return_request r ON r.id = a.request_id "
        "WHERE r.status = 'new' AND a.action = 'concept'"
    )
    new_with_history = scalar(
        "SELECT count(*) FROM return_request WHERE status = 'new' AND version <> 1"
    )

    assert concept == concept_count(shop_sizes(1200, 3)[0]) == 10
    assert new_with_concept_step == 0
    assert new_with_history == 0
