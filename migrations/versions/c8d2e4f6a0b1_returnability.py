"""non-returnable items: order line tags and flag, and the shop's returnability rules

Revision ID: c8d2e4f6a0b1
Revises: e89b826e5632
Create Date: 2026-11-30 17:15:00

"""

import sqlalchemy as sa
from alembic import op

revision = "c8d2e4f6a0b1"
down_revision = "e89b826e5632"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("order_line") as batch:
        batch.add_column(sa.Column("tags", sa.String(length=500), nullable=True))
        batch.add_column(
            sa.Column("returnable", sa.Boolean(), server_default=sa.true(), nullable=False)
        )
    op.create_table(
        "returnability_rule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("sku_pattern", sa.String(length=64), nullable=True),
        sa.Column("tag", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.String(length=30), nullable=False),
        sa.Column("window_days", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shop.id"], name=op.f("fk_returnability_rule_shop_id_shop")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_returnability_rule")),
    )
    with op.batch_alter_table("returnability_rule") as batch:
        batch.create_index(batch.f("ix_returnability_rule_shop_id"), ["shop_id"], unique=False)


def downgrade():
    op.drop_table("returnability_rule")
    with op.batch_alter_table("order_line") as batch:
        batch.drop_column("returnable")
        batch.drop_column("tags")
