"""what is paid per received line, apart from what was found: full, partial or none, and a note

Revision ID: c4e8a2f6b1d3
Revises: e1f3a5c7d9b2
Create Date: 2026-11-30 20:10:00

Lines inspected before this revision keep the amounts they were told: a line found "ok" was
refunded in full, any other condition paid nothing.
"""

import sqlalchemy as sa
from alembic import op

revision = "c4e8a2f6b1d3"
down_revision = "e1f3a5c7d9b2"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("return_request_line") as batch:
        batch.add_column(sa.Column("refund_choice", sa.String(length=10), nullable=True))
        batch.add_column(sa.Column("refund_partial_cents", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("refund_note", sa.Text(), nullable=True))
    op.execute(
        "UPDATE return_request_line SET refund_choice = "
        "CASE WHEN condition = 'ok' THEN 'full' ELSE 'none' END "
        "WHERE condition IS NOT NULL"
    )


def downgrade():
    with op.batch_alter_table("return_request_line") as batch:
        batch.drop_column("refund_note")
        batch.drop_column("refund_partial_cents")
        batch.drop_column("refund_choice")
