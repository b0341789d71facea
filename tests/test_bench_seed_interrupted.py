"""``bench/seed.py`` is one transaction: a seed stopped half-way (Ctrl-C, a full disk) leaves
the database as it was, its data and its indexes, rather than emptied with the secondary
indexes it drops for the load still missing."""

from __future__ import annotations

import pytest
from sqlalchemy import text

import bench.seed
from bench.seed import Rows, seed
from extensions import db


def index_names() -> set[str]:
    if db.engine.dialect.name == "postgresql":
        sql = "SELECT indexname FROM pg_indexes WHERE schemaname = 'public'"
    else:
        sql = "SELECT name FROM sqlite_master WHERE type = 'index'"
    return set(db.session.scalars(text(sql)))


def row_counts() -> dict[str, int]:
    return {t: db.session.scalar(text(f'SELECT count(*) FROM "{t}"')) for t in Rows.COLUMNS}


def stopped(*_args, **_kwargs):
    raise KeyboardInterrupt


@pytest.mark.parametrize(
    ("step", "grow_from"),
    [("fix_sequences", None), ("grow", 150)],
    ids=["while loading", "while growing"],
)
def test_a_seed_stopped_half_way_leaves_the_database_as_it_was(app, monkeypatch, step, grow_from):
    if grow_from and db.engine.dialect.name != "postgresql":
        pytest.skip("the grow copies rows in PostgreSQL")
    seed(300, 2)
    before, indexes = row_counts(), index_names()
    assert before["return_request"] == 300 and indexes

    monkeypatch.setattr(bench.seed, step, stopped)
    with pytest.raises(KeyboardInterrupt):
        seed(600, 2, grow_from=grow_from)
    db.session.rollback()

    assert row_counts() == before
    assert index_names() == indexes
