"""Idempotency keys remember a fingerprint of the request they answered

A key stored before this revision gets an empty fingerprint, which no request matches: a
retry of such a request is refused with 422 instead of being done a second time.

Revision ID: e89b826e5632
Revises: d6f1a3b5c7e9
Create Date: 2026-12-01 09:00:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "e89b826e5632"
down_revision = "d6f1a3b5c7e9"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("idempotency_key", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("fingerprint", sa.String(length=64), server_default="", nullable=False)
        )
    with op.batch_alter_table("idempotency_key", schema=None) as batch_op:
        batch_op.alter_column("fingerprint", server_default=None)


def downgrade():
    with op.batch_alter_table("idempotency_key", schema=None) as batch_op:
        batch_op.drop_column("fingerprint")
