"""A shop's time zone: times are shown and working hours counted there

Revision ID: a3c5e7b9d1f2
Revises: f2b8d4a6c0e1
Create Date: 2026-11-26 07:00:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "a3c5e7b9d1f2"
down_revision = "f2b8d4a6c0e1"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("shop", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "time_zone", sa.String(length=64), server_default="Europe/Amsterdam", nullable=False
            )
        )


def downgrade():
    with op.batch_alter_table("shop", schema=None) as batch_op:
        batch_op.drop_column("time_zone")
