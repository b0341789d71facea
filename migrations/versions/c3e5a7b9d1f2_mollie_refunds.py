"""an order's Mollie payment, and a refund's status at the payment provider

Revision ID: c3e5a7b9d1f2
Revises: b8d0f2a4c6e8
Create Date: 2026-12-01 05:40:00

"""

import sqlalchemy as sa
from alembic import op

revision = "c3e5a7b9d1f2"
down_revision = "b8d0f2a4c6e8"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("order") as batch_op:
        batch_op.add_column(sa.Column("mollie_payment_id", sa.String(length=64), nullable=True))
    with op.batch_alter_table("refund") as batch_op:
        batch_op.add_column(sa.Column("provider_status", sa.String(length=20), nullable=True))


def downgrade():
    with op.batch_alter_table("refund") as batch_op:
        batch_op.drop_column("provider_status")
    with op.batch_alter_table("order") as batch_op:
        batch_op.drop_column("mollie_payment_id")
