"""the ship-by deadline: the shop's days, the request's date and its reminder

Revision ID: b3d5f7a9c1e2
Revises: c4e8a2f6b1d3
Create Date: 2026-11-30 20:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "b3d5f7a9c1e2"
down_revision = "c4e8a2f6b1d3"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("shop") as batch:
        batch.add_column(
            sa.Column("ship_by_days", sa.Integer(), nullable=True, server_default="14")
        )
    with op.batch_alter_table("return_request") as batch:
        batch.add_column(sa.Column("ship_by_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column("ship_by_reminded_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch.create_index("ix_request_status_ship_by", ["status", "ship_by_at"])


def downgrade():
    with op.batch_alter_table("return_request") as batch:
        batch.drop_index("ix_request_status_ship_by")
        batch.drop_column("ship_by_reminded_at")
        batch.drop_column("ship_by_at")
    with op.batch_alter_table("shop") as batch:
        batch.drop_column("ship_by_days")
