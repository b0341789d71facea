"""customers to erase once their returns have settled (issue #20)

Revision ID: a7c9e1b3d5f7
Revises: d7e9f1a3b5c7
Create Date: 2026-12-01 02:40:00

"""

import sqlalchemy as sa
from alembic import op

revision = "a7c9e1b3d5f7"
down_revision = "d7e9f1a3b5c7"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "scheduled_erasure",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=True),
        sa.Column("requested_by_label", sa.String(length=200), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["shop_id"], ["shop.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["requested_by_id"], ["user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("scheduled_erasure") as batch:
        batch.create_index(batch.f("ix_scheduled_erasure_shop_id"), ["shop_id"], unique=False)
        batch.create_index(batch.f("ix_scheduled_erasure_done_at"), ["done_at"], unique=False)


def downgrade():
    with op.batch_alter_table("scheduled_erasure") as batch:
        batch.drop_index(batch.f("ix_scheduled_erasure_done_at"))
        batch.drop_index(batch.f("ix_scheduled_erasure_shop_id"))
    op.drop_table("scheduled_erasure")
