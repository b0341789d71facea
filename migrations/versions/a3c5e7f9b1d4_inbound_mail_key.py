"""an emailed reply names its email, so a mail delivered or polled twice is stored once

Revision ID: a3c5e7f9b1d4
Revises: e2a4c6e8f0b2
Create Date: 2026-12-01 08:20:00

"""

import sqlalchemy as sa
from alembic import op

revision = "a3c5e7f9b1d4"
down_revision = "e2a4c6e8f0b2"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("message") as batch:
        batch.add_column(sa.Column("inbound_mail_key", sa.String(length=64), nullable=True))
        batch.create_unique_constraint(
            batch.f("uq_message_request_id"), ["request_id", "inbound_mail_key"]
        )


def downgrade():
    with op.batch_alter_table("message") as batch:
        batch.drop_constraint(batch.f("uq_message_request_id"), type_="unique")
        batch.drop_column("inbound_mail_key")
