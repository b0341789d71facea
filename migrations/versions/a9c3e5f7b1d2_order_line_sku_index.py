"""index order lines by SKU: the dashboard names its most returned products and their reasons

Without it PostgreSQL read the whole order_line table (a sequential scan) twice per dashboard
to find the lines of the 20 most returned SKUs.

Revision ID: a9c3e5f7b1d2
Revises: a3c5e7b9d1f2
Create Date: 2026-11-26 08:00:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = "a9c3e5f7b1d2"
down_revision = "a3c5e7b9d1f2"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("order_line", schema=None) as batch_op:
        batch_op.create_index("ix_order_line_sku", ["sku"], unique=False)


def downgrade():
    with op.batch_alter_table("order_line", schema=None) as batch_op:
        batch_op.drop_index("ix_order_line_sku")
