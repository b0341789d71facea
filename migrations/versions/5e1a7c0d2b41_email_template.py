"""email templates per shop and language

Revision ID: 5e1a7c0d2b41
Revises: b7e1c4a9d2f0
Create Date: 2026-11-26 03:40:00

"""

import sqlalchemy as sa
from alembic import op

revision = "5e1a7c0d2b41"
down_revision = "b7e1c4a9d2f0"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "email_template",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("language", sa.String(length=5), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body_text", sa.Text(), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shop.id"], name=op.f("fk_email_template_shop_id_shop")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_template")),
        sa.UniqueConstraint(
            "shop_id", "name", "language", name=op.f("uq_email_template_shop_id")
        ),
    )
    with op.batch_alter_table("email_template", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_email_template_shop_id"), ["shop_id"], unique=False)


def downgrade():
    with op.batch_alter_table("email_template", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_email_template_shop_id"))
    op.drop_table("email_template")
