"""the retention job counts the bell entries it deleted

Revision ID: b5d7f9a1c3e6
Revises: a3c5e7f9b1d4
Create Date: 2026-12-01 12:40:00

"""

import sqlalchemy as sa
from alembic import op

revision = "b5d7f9a1c3e6"
down_revision = "a3c5e7f9b1d4"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("retention_run") as batch:
        batch.add_column(
            sa.Column("notifications_deleted", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade():
    with op.batch_alter_table("retention_run") as batch:
        batch.drop_column("notifications_deleted")
