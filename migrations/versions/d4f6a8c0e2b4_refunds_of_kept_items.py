"""a refund or store credit for a request settled with the items kept: a refund belongs to its
request, and to a return only when the items came back; the shop platform an order came from

Revision ID: d4f6a8c0e2b4
Revises: c9e1a3b5d7f9
Create Date: 2026-12-01 06:10:00

"""

import sqlalchemy as sa
from alembic import op

revision = "d4f6a8c0e2b4"
down_revision = "c9e1a3b5d7f9"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("refund") as batch:
        batch.add_column(sa.Column("request_id", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE refund SET request_id = "
        '(SELECT "return".request_id FROM "return" WHERE "return".id = refund.return_id)'
    )
    with op.batch_alter_table("refund") as batch:
        batch.alter_column("request_id", existing_type=sa.Integer(), nullable=False)
        batch.alter_column("return_id", existing_type=sa.Integer(), nullable=True)
        batch.create_foreign_key(
            "fk_refund_request_id_return_request", "return_request", ["request_id"], ["id"]
        )
        batch.create_index(batch.f("ix_refund_request_id"), ["request_id"], unique=False)
    with op.batch_alter_table("order") as batch:
        batch.add_column(sa.Column("platform", sa.String(length=20), nullable=True))


def downgrade():
    with op.batch_alter_table("order") as batch:
        batch.drop_column("platform")
    op.execute("DELETE FROM refund WHERE return_id IS NULL")
    with op.batch_alter_table("refund") as batch:
        batch.drop_index(batch.f("ix_refund_request_id"))
        batch.drop_constraint("fk_refund_request_id_return_request", type_="foreignkey")
        batch.alter_column("return_id", existing_type=sa.Integer(), nullable=False)
        batch.drop_column("request_id")
