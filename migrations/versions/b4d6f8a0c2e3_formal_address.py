"""a shop may address its customers formally ("u") in Dutch

Revision ID: b4d6f8a0c2e3
Revises: c4e6a8b0d2f4
Create Date: 2026-11-30 20:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "b4d6f8a0c2e3"
down_revision = "c4e6a8b0d2f4"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("shop") as batch:
        batch.add_column(
            sa.Column("address_formally", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade():
    with op.batch_alter_table("shop") as batch:
        batch.drop_column("address_formally")
