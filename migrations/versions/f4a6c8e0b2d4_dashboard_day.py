"""the dashboard kept per day: counts per shop and UTC day, each request's first decision and
label, and the marks of what a commit made stale (issue 18); filled from the data there is

Revision ID: f4a6c8e0b2d4
Revises: b5d7f9a1c3e6
Create Date: 2026-12-01 12:30:00

"""

import sqlalchemy as sa
from alembic import op

revision = "f4a6c8e0b2d4"
down_revision = "b5d7f9a1c3e6"
branch_labels = None
depends_on = None

# Per figure (services/dashboard_recount.py counts them the same way, per day), the SELECT of
# (shop_id, figure, day, key, count) over all data; {day} is the UTC day of a timestamp.
FIGURES = [
    "SELECT shop_id, 'created', {day(created_at)}, '', COUNT(*) FROM return_request"
    " GROUP BY 1, 3, 4",
    "SELECT shop_id, 'resolution', {day(created_at)}, resolution, COUNT(*)"
    " FROM return_request GROUP BY 1, 3, 4",
    "SELECT shop_id, 'shipping', {day(created_at)},"
    " CASE WHEN free_shipping THEN 'free' ELSE 'paid' END, COUNT(*) FROM return_request"
    " WHERE free_shipping IS NOT NULL GROUP BY 1, 3, 4",
    "SELECT r.shop_id, 'reason', {day(r.created_at)}, CAST(l.reason_id AS VARCHAR(20)),"
    " SUM(l.quantity) FROM return_request_line l"
    " JOIN return_request r ON r.id = l.request_id WHERE l.reason_id IS NOT NULL GROUP BY 1, 3, 4",
    "SELECT r.shop_id, 'disposition', {day(r.created_at)}, l.disposition,"
    " COALESCE(SUM(l.received_quantity), 0) FROM return_request_line l"
    " JOIN return_request r ON r.id = l.request_id"
    " WHERE l.disposition IS NOT NULL GROUP BY 1, 3, 4",
    "SELECT r.shop_id, 'disposed', {day(r.created_at)},"
    " COALESCE(SUBSTR(l.disposition_note, 1, 200), ''), COALESCE(SUM(l.received_quantity), 0)"
    " FROM return_request_line l JOIN return_request r ON r.id = l.request_id"
    " WHERE l.disposition = 'dispose' GROUP BY 1, 3, 4",
    "SELECT shop_id, 'decided', {day(created_at)}, action, COUNT(*) FROM audit_event"
    " WHERE shop_id IS NOT NULL AND action IN ('approve', 'approve_keep', 'cancel') GROUP BY 1, 3, 4",
    "SELECT o.shop_id, 'sold', {day(o.ordered_at)}, ol.sku, SUM(ol.quantity)"
    ' FROM order_line ol JOIN "order" o ON o.id = ol.order_id GROUP BY 1, 3, 4',
    "SELECT o.shop_id, 'requested', {day(o.ordered_at)}, ol.sku, SUM(l.quantity)"
    " FROM return_request_line l JOIN order_line ol ON ol.id = l.order_line_id"
    ' JOIN "order" o ON o.id = ol.order_id'
    " GROUP BY 1, 3, 4",
    "SELECT o.shop_id, 'product_reason', {day(o.ordered_at)},"
    " CAST(l.reason_id AS VARCHAR(20)) || ':' || ol.sku, SUM(l.quantity)"
    " FROM return_request_line l JOIN order_line ol ON ol.id = l.order_line_id"
    ' JOIN "order" o ON o.id = ol.order_id'
    " WHERE l.reason_id IS NOT NULL GROUP BY 1, 3, 4",
]

# Each request's first decision and first label, the label timed from the last approval
# before it; {seconds(a, b)} is the seconds from a to b.
TIMINGS = (
    "SELECT f.request_id, r.shop_id, f.decided_at, {seconds(r.created_at, f.decided_at)},"
    " f.labelled_at, {seconds(approved_at, f.labelled_at)}"
    " FROM (SELECT request_id,"
    "  MIN(CASE WHEN action IN ('approve', 'approve_keep', 'cancel') THEN created_at END) AS decided_at,"
    "   MIN(CASE WHEN action = 'label_created' THEN created_at END) AS labelled_at"
    "  FROM audit_event WHERE request_id IS NOT NULL AND action IN ('approve', 'approve_keep', 'cancel', 'label_created')"
    "  GROUP BY request_id) f"
    " JOIN return_request r ON r.id = f.request_id"
)
APPROVED_AT = (
    "(SELECT MAX(a.created_at) FROM audit_event a WHERE a.request_id = f.request_id"
    " AND a.action = 'approve' AND a.created_at <= f.labelled_at)"
)


def upgrade():
    op.create_table(
        "dashboard_day",
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("figure", sa.String(length=20), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["shop_id"], ["shop.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("shop_id", "figure", "day", "key", postgresql_include=["count"]),
    )
    op.create_table(
        "request_timing",
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_seconds", sa.Float(), nullable=True),
        sa.Column("labelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("label_seconds", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(["request_id"], ["return_request.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["shop_id"], ["shop.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("request_id"),
    )
    op.create_table(
        "dashboard_dirty",
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("marked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("shop_id", "day"),
    )
    op.create_table(
        "dashboard_dirty_request",
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("marked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("request_id"),
    )
    with op.batch_alter_table("dashboard_dirty_request") as batch:
        batch.create_index(batch.f("ix_dashboard_dirty_request_shop_id"), ["shop_id"], unique=False)
    backfill()
    with op.batch_alter_table("request_timing") as batch:
        batch.create_index(
            "ix_request_timing_decided", ["shop_id", "decided_at", "decision_seconds"]
        )
        batch.create_index(
            "ix_request_timing_labelled", ["shop_id", "labelled_at", "label_seconds"]
        )


def backfill():
    """Count every day and time every request there is, in SQL of this dialect's own."""
    if op.get_bind().dialect.name == "postgresql":
        day = "CAST(timezone('UTC', {}) AS DATE)".format
        seconds = "EXTRACT(EPOCH FROM ({1}) - ({0}))".format
    else:
        day = "date({})".format
        seconds = "(julianday({1}) - julianday({0})) * 86400.0".format
    for figure in FIGURES:
        for column in ("created_at", "r.created_at", "o.ordered_at"):
            figure = figure.replace(f"{{day({column})}}", day(column))
        op.execute(f"INSERT INTO dashboard_day (shop_id, figure, day, key, count) {figure}")
    timings = TIMINGS.replace(
        "{seconds(r.created_at, f.decided_at)}", seconds("r.created_at", "f.decided_at")
    ).replace("{seconds(approved_at, f.labelled_at)}", seconds(APPROVED_AT, "f.labelled_at"))
    op.execute(
        "INSERT INTO request_timing (request_id, shop_id, decided_at, decision_seconds,"
        f" labelled_at, label_seconds) {timings}"
    )


def downgrade():
    with op.batch_alter_table("dashboard_dirty_request") as batch:
        batch.drop_index(batch.f("ix_dashboard_dirty_request_shop_id"))
    op.drop_table("dashboard_dirty_request")
    op.drop_table("dashboard_dirty")
    op.drop_table("request_timing")
    op.drop_table("dashboard_day")
