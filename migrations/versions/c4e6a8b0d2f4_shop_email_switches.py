"""a shop may turn each customer email off: the kinds it turned off

Revision ID: c4e6a8b0d2f4
Revises: b3d5f7a9c1e2
Create Date: 2026-11-30 20:10:00

"""

import sqlalchemy as sa
from alembic import op

revision = "c4e6a8b0d2f4"
down_revision = "b3d5f7a9c1e2"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("shop") as batch:
        batch.add_column(
            sa.Column("emails_off", sa.String(length=500), nullable=False, server_default="")
        )


def downgrade():
    with op.batch_alter_table("shop") as batch:
        batch.drop_column("emails_off")
