"""Migration b9d1f3a5c7e9 fills the reasons of the requests a database already holds, so the
Requests list's reason filter finds them from the moment it is applied."""

from __future__ import annotations

from flask_migrate import downgrade, upgrade
from sqlalchemy import select

from app import create_app
from extensions import db
from factories import make_order, make_reasons, make_request, make_shop
from harness import app_config, fresh_database
from models import ReturnRequest

BEFORE = "a8c0e2f4b6d8"


def test_the_migration_gives_every_stored_request_the_reasons_of_its_lines(tmp_path, smtp_sink):
    with fresh_database(tmp_path) as url:
        app = create_app(app_config(url, smtp_sink, tmp_path / "storage"))
        with app.app_context():
            upgrade()
            shop = make_shop()
            reasons = make_reasons(shop)
            order = make_order(shop, lines=3)
            lines = [
                {"order_line": 0, "reason": reasons["damaged"]},
                {"order_line": 1, "reason": reasons["too_big"]},
                {"order_line": 2, "reason": reasons["damaged"]},
            ]
            given = make_request(shop, order, lines=lines)
            silent = make_request(shop, make_order(shop, lines=1))
            db.session.commit()
            expected = sorted([reasons["damaged"].id, reasons["too_big"].id])
            given_id, silent_id = given.id, silent.id
            db.session.remove()

            downgrade(revision=BEFORE)
            upgrade()

            stored = dict(
                db.session.execute(select(ReturnRequest.id, ReturnRequest.reason_ids)).all()
            )
            assert sorted(stored[given_id]) == expected
            assert not stored[silent_id]
            db.session.remove()
            db.engine.dispose()
