"""an order line's variants a customer may pick in an exchange

Revision ID: d7e9f1a3b5c8
Revises: e7a1c3f5b9d2
Create Date: 2026-12-01 03:10:00

"""

import sqlalchemy as sa
from alembic import op

revision = "d7e9f1a3b5c8"
down_revision = "e7a1c3f5b9d2"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("order_line") as batch_op:
        batch_op.add_column(sa.Column("variant_options", sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table("order_line") as batch_op:
        batch_op.drop_column("variant_options")
