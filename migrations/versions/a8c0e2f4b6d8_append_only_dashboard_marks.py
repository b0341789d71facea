"""the dashboard's marks are append-only: a row per mark (a bigint id), so commits marking the
same shop's day or the same request no longer wait for each other's row lock; the marks
there are kept

Revision ID: a8c0e2f4b6d8
Revises: f4a6c8e0b2d4
Create Date: 2026-12-01 14:30:00

"""

import sqlalchemy as sa
from alembic import op

revision = "a8c0e2f4b6d8"
down_revision = "f4a6c8e0b2d4"
branch_labels = None
depends_on = None

MARK_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def set_aside(table: str) -> str:
    """Rename ``table`` (with, on PostgreSQL, its primary key's index, whose name the new
    table's takes) out of the way; the name it has now."""
    aside = f"{table}_old"
    op.rename_table(table, aside)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER INDEX pk_{table} RENAME TO pk_{aside}")
    return aside


def upgrade():
    with op.batch_alter_table("dashboard_dirty_request") as batch:
        batch.drop_index("ix_dashboard_dirty_request_shop_id")
    days, requests = set_aside("dashboard_dirty"), set_aside("dashboard_dirty_request")
    op.create_table(
        "dashboard_dirty",
        sa.Column("id", MARK_ID, nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("marked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "dashboard_dirty_request",
        sa.Column("id", MARK_ID, nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("marked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.execute(
        "INSERT INTO dashboard_dirty (shop_id, day, marked_at)"
        f" SELECT shop_id, day, marked_at FROM {days} ORDER BY shop_id, day"
    )
    op.execute(
        "INSERT INTO dashboard_dirty_request (request_id, shop_id, marked_at)"
        f" SELECT request_id, shop_id, marked_at FROM {requests} ORDER BY request_id"
    )
    op.drop_table(days)
    op.drop_table(requests)
    with op.batch_alter_table("dashboard_dirty") as batch:
        batch.create_index("ix_dashboard_dirty_shop_day", ["shop_id", "day"])
    with op.batch_alter_table("dashboard_dirty_request") as batch:
        batch.create_index("ix_dashboard_dirty_request_shop_id", ["shop_id"])


def downgrade():
    """One row per day and per request again, with its latest mark's time."""
    with op.batch_alter_table("dashboard_dirty_request") as batch:
        batch.drop_index("ix_dashboard_dirty_request_shop_id")
    with op.batch_alter_table("dashboard_dirty") as batch:
        batch.drop_index("ix_dashboard_dirty_shop_day")
    days, requests = set_aside("dashboard_dirty"), set_aside("dashboard_dirty_request")
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
    op.execute(
        "INSERT INTO dashboard_dirty (shop_id, day, marked_at)"
        f" SELECT shop_id, day, MAX(marked_at) FROM {days} GROUP BY shop_id, day"
    )
    op.execute(
        "INSERT INTO dashboard_dirty_request (request_id, shop_id, marked_at)"
        f" SELECT request_id, MAX(shop_id), MAX(marked_at) FROM {requests} GROUP BY request_id"
    )
    op.drop_table(days)
    op.drop_table(requests)
    with op.batch_alter_table("dashboard_dirty_request") as batch:
        batch.create_index("ix_dashboard_dirty_request_shop_id", ["shop_id"])
