"""Request numbers: never one twice, and taking one does not hold the counter until the
submission commits (PostgreSQL), so customers of every shop submit side by side."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from extensions import db
from models import NumberSequence, next_request_number, utcnow


@pytest.fixture
def postgresql(app):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time")


def test_numbers_follow_each_other(app):
    year = utcnow().year
    taken = [next_request_number() for _ in range(3)]
    db.session.commit()

    assert taken == [f"R-{year}-00001", f"R-{year}-00002", f"R-{year}-00003"]


def test_taking_a_number_leaves_the_counter_free_for_other_submissions(postgresql):
    year = utcnow().year
    first = next_request_number()  # this submission's transaction stays open

    other = Session(db.engine)
    try:
        other.execute(text("SET LOCAL lock_timeout = '2s'"))
        counter = NumberSequence.name == f"request-{year}"
        value = NumberSequence.last_value + 1
        other.execute(update(NumberSequence).where(counter).values(last_value=value))
        other.commit()
    finally:
        other.close()
    second = next_request_number()
    db.session.commit()

    assert (first, second) == (f"R-{year}-00001", f"R-{year}-00003")


def test_a_number_of_a_submission_that_failed_is_not_given_again(postgresql):
    year = utcnow().year
    lost = next_request_number()
    db.session.rollback()

    taken = next_request_number()
    db.session.commit()

    assert lost == f"R-{year}-00001"
    assert taken == f"R-{year}-00002"
    stored = db.session.scalar(select(NumberSequence.last_value))
    assert stored == 2
