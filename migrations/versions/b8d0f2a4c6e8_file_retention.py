"""how many months a shop keeps a closed request's photos and message files (issue #20)

Revision ID: b8d0f2a4c6e8
Revises: a7c9e1b3d5f7
Create Date: 2026-12-01 03:05:00

"""

import sqlalchemy as sa
from alembic import op

revision = "b8d0f2a4c6e8"
down_revision = "a7c9e1b3d5f7"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("shop") as batch:
        batch.add_column(
            sa.Column("file_retention_months", sa.Integer(), server_default="6", nullable=False)
        )


def downgrade():
    with op.batch_alter_table("shop") as batch:
        batch.drop_column("file_retention_months")
