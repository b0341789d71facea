"""notifications: what a staff user is told of in the app, and which kinds also by email

Revision ID: d7e9f1a3b5c7
Revises: d7e9f1a3b5c8
Create Date: 2026-12-01 02:30:00

"""

import sqlalchemy as sa
from alembic import op

revision = "d7e9f1a3b5c7"
down_revision = "d7e9f1a3b5c8"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "notification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("audit_event_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["request_id"], ["return_request.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["audit_event_id"], ["audit_event.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "audit_event_id"),
    )
    with op.batch_alter_table("notification") as batch:
        batch.create_index("ix_notification_user_read", ["user_id", "read_at"], unique=False)
        batch.create_index(batch.f("ix_notification_request_id"), ["request_id"], unique=False)
        batch.create_index(
            batch.f("ix_notification_audit_event_id"), ["audit_event_id"], unique=False
        )
    with op.batch_alter_table("user") as batch:
        batch.add_column(
            sa.Column(
                "email_notifications",
                sa.JSON(),
                nullable=False,
                server_default='["customer_reply"]',
            )
        )


def downgrade():
    with op.batch_alter_table("user") as batch:
        batch.drop_column("email_notifications")
    op.drop_table("notification")
