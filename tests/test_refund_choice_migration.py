"""Lines inspected before refund choices existed keep what they were told: migration
c4e8a2f6b1d3 gives a line found OK a full refund and any other condition none."""

from __future__ import annotations

from flask_migrate import upgrade
from sqlalchemy import text

from app import create_app
from extensions import db
from harness import app_config


def test_lines_inspected_before_the_migration_keep_their_old_refund(smtp_sink, tmp_path):
    app = create_app(app_config(f"sqlite:///{tmp_path / 'old.db'}", smtp_sink, tmp_path / "s"))
    with app.app_context():
        upgrade(revision="e1f3a5c7d9b2")
        for line_id, condition in ((1, "ok"), (2, "damaged"), (3, "missing"), (4, None)):
            db.session.execute(
                text(
                    "INSERT INTO return_request_line (id, request_id, order_line_id, quantity, "
                    "decision, condition) VALUES (:id, 1, 1, 1, 'approved', :condition)"
                ),
                {"id": line_id, "condition": condition},
            )
        db.session.commit()

        upgrade()

        choices = db.session.execute(
            text("SELECT id, refund_choice FROM return_request_line ORDER BY id")
        ).all()
        db.session.remove()
        db.engine.dispose()
    assert [tuple(row) for row in choices] == [(1, "full"), (2, "none"), (3, "none"), (4, None)]
