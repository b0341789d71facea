"""a shop's connection to its platform (WooCommerce): encrypted credentials and the sync state;
when the platform last changed an order

Revision ID: c4d6e8f0a2b3
Revises: b4d6f8a0c2e3
Create Date: 2026-11-30 20:20:00

"""

import sqlalchemy as sa
from alembic import op

revision = "c4d6e8f0a2b3"
down_revision = "b4d6f8a0c2e3"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "shop_connection",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=20), nullable=False),
        sa.Column("base_url", sa.String(length=500), nullable=False),
        sa.Column("credentials", sa.Text(), nullable=True),
        sa.Column("webhook_secret", sa.Text(), nullable=True),
        sa.Column("sync_cursor", sa.String(length=100), nullable=True),
        sa.Column("last_sync_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_sync_state", sa.String(length=10), nullable=True),
        sa.Column("last_sync_error", sa.Text(), nullable=True),
        sa.Column("last_sync_count", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["shop_id"], ["shop.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("shop_id", "platform"),
    )
    with op.batch_alter_table("shop_connection") as batch:
        batch.create_index(batch.f("ix_shop_connection_shop_id"), ["shop_id"], unique=False)
    with op.batch_alter_table("order") as batch:
        batch.add_column(
            sa.Column("platform_modified_at", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade():
    with op.batch_alter_table("order") as batch:
        batch.drop_column("platform_modified_at")
    with op.batch_alter_table("shop_connection") as batch:
        batch.drop_index(batch.f("ix_shop_connection_shop_id"))
    op.drop_table("shop_connection")
