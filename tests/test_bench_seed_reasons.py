"""The benchmark's data gives each request the reasons of its lines, as the app keeps them,
so the Requests list's reason filter finds in a seeded (or grown) database what it would find
in one the app filled."""

import os

import pytest
from sqlalchemy import select

from bench.seed import seed
from extensions import db
from models import ReturnRequest


def reasons_disagree() -> list[str]:
    """The numbers of requests whose kept reasons are not their lines' reasons."""
    return [
        request.number
        for request in db.session.scalars(select(ReturnRequest))
        if sorted(request.reason_ids or [])
        != sorted({line.reason_id for line in request.lines if line.reason_id})
    ]


def test_seeded_requests_carry_their_lines_reasons(app):
    seed(300, 2)

    assert db.session.scalar(select(ReturnRequest.reason_ids).limit(1))
    assert reasons_disagree() == []


@pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgresql"),
    reason="the grow copies rows in PostgreSQL",
)
def test_grown_requests_carry_their_lines_reasons(app):
    seed(600, 2, grow_from=200)

    assert reasons_disagree() == []
