"""When an outbox email that could not be sent is tried again

Revision ID: d4f6a8c0e2b3
Revises: b2d4f6a8c0e3
Create Date: 2026-11-30 10:00:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "d4f6a8c0e2b3"
down_revision = "b2d4f6a8c0e3"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("outbound_email", schema=None) as batch_op:
        batch_op.add_column(sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table("outbound_email", schema=None) as batch_op:
        batch_op.drop_column("next_attempt_at")
