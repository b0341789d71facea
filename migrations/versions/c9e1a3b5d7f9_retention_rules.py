"""requests anonymised, outbox bodies and webhook payloads trimmed by the daily retention job;
the shop's books and privacy statement (issue #20)

Revision ID: c9e1a3b5d7f9
Revises: c3e5a7b9d1f2
Create Date: 2026-12-01 05:40:00

"""

import sqlalchemy as sa
from alembic import op

revision = "c9e1a3b5d7f9"
down_revision = "c3e5a7b9d1f2"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("shop") as batch:
        batch.add_column(
            sa.Column("anonymise_after_months", sa.Integer(), server_default="24", nullable=False)
        )
        batch.add_column(
            sa.Column("books_retention_years", sa.Integer(), server_default="7", nullable=False)
        )
        batch.add_column(
            sa.Column(
                "books_need_customer", sa.Boolean(), server_default=sa.false(), nullable=False
            )
        )
        batch.add_column(sa.Column("privacy_url", sa.String(length=500), nullable=True))
    with op.batch_alter_table("return_request") as batch:
        batch.add_column(sa.Column("anonymised_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("outbound_email") as batch:
        batch.add_column(sa.Column("trimmed_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("webhook_delivery") as batch:
        batch.add_column(sa.Column("trimmed_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "retention_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("files_deleted", sa.Integer(), nullable=False),
        sa.Column("requests_anonymised", sa.Integer(), nullable=False),
        sa.Column("bodies_trimmed", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade():
    op.drop_table("retention_run")
    with op.batch_alter_table("webhook_delivery") as batch:
        batch.drop_column("trimmed_at")
    with op.batch_alter_table("outbound_email") as batch:
        batch.drop_column("trimmed_at")
    with op.batch_alter_table("return_request") as batch:
        batch.drop_column("anonymised_at")
    with op.batch_alter_table("shop") as batch:
        batch.drop_column("privacy_url")
        batch.drop_column("books_need_customer")
        batch.drop_column("books_retention_years")
        batch.drop_column("anonymise_after_months")
