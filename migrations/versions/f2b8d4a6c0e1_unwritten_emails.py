"""Outbox emails a bulk action leaves for the delivery job to write

Revision ID: f2b8d4a6c0e1
Revises: e5a7c2d9f1b3
Create Date: 2026-11-26 07:00:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "f2b8d4a6c0e1"
down_revision = "e5a7c2d9f1b3"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("outbound_email", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("written", sa.Boolean(), server_default=sa.true(), nullable=False)
        )


def downgrade():
    with op.batch_alter_table("outbound_email", schema=None) as batch_op:
        batch_op.drop_column("written")
