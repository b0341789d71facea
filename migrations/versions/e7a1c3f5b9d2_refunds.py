"""refunds and store credit sent to a shop's platform (or by hand); a connection's choice to
restock refunded items

Revision ID: e7a1c3f5b9d2
Revises: c4d6e8f0a2b3
Create Date: 2026-12-01 02:30:00

"""

import sqlalchemy as sa
from alembic import op

revision = "e7a1c3f5b9d2"
down_revision = "c4d6e8f0a2b3"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "refund",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("return_id", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.Column("destination", sa.String(length=20), nullable=False),
        sa.Column("provider_id", sa.String(length=100), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("provider_message", sa.Text(), nullable=True),
        sa.Column("idempotency_key", sa.String(length=80), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["return_id"], ["return.id"]),
        sa.ForeignKeyConstraint(["shop_id"], ["shop.id"]),
        sa.ForeignKeyConstraint(["created_by_id"], ["user.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("idempotency_key"),
    )
    with op.batch_alter_table("refund") as batch:
        batch.create_index(batch.f("ix_refund_return_id"), ["return_id"], unique=False)
        batch.create_index("ix_refund_shop_status", ["shop_id", "status"], unique=False)
    with op.batch_alter_table("shop_connection") as batch:
        batch.add_column(
            sa.Column("restock_on_refund", sa.Boolean(), server_default=sa.true(), nullable=False)
        )


def downgrade():
    with op.batch_alter_table("shop_connection") as batch:
        batch.drop_column("restock_on_refund")
    with op.batch_alter_table("refund") as batch:
        batch.drop_index("ix_refund_shop_status")
        batch.drop_index(batch.f("ix_refund_return_id"))
    op.drop_table("refund")
