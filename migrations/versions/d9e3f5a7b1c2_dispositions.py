"""disposition at receipt: what becomes of each received item, and why when disposed

Revision ID: d9e3f5a7b1c2
Revises: c8d2e4f6a0b1
Create Date: 2026-11-30 17:30:00

"""

import sqlalchemy as sa
from alembic import op

revision = "d9e3f5a7b1c2"
down_revision = "c8d2e4f6a0b1"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("return_request_line") as batch:
        batch.add_column(sa.Column("disposition", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("disposition_note", sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table("return_request_line") as batch:
        batch.drop_column("disposition_note")
        batch.drop_column("disposition")
