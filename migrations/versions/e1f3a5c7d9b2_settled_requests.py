"""a request whose customer keeps the items is settled on the request: how, how much, when

Revision ID: e1f3a5c7d9b2
Revises: a7c3e9f1b5d2
Create Date: 2026-11-30 18:10:00

"""

import sqlalchemy as sa
from alembic import op

revision = "e1f3a5c7d9b2"
down_revision = "a7c3e9f1b5d2"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("return_request") as batch:
        batch.add_column(sa.Column("settled_resolution", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("settled_cents", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table("return_request") as batch:
        batch.drop_column("settled_at")
        batch.drop_column("settled_cents")
        batch.drop_column("settled_resolution")
