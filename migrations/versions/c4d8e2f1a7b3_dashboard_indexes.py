"""indexes for the dashboard: audit events per action and period, orders per period, SKUs

Revision ID: c4d8e2f1a7b3
Revises: b7e1c4a9d2f0
Create Date: 2026-11-26 04:00:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = "c4d8e2f1a7b3"
down_revision = "a7e3c91b2d40"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.create_index(
            "ix_audit_shop_action_created", ["shop_id", "action", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_audit_request_action_created", ["request_id", "action", "created_at"], unique=False
        )
    with op.batch_alter_table("order", schema=None) as batch_op:
        batch_op.create_index("ix_order_shop_ordered", ["shop_id", "ordered_at"], unique=False)
    with op.batch_alter_table("order_line", schema=None) as batch_op:
        batch_op.create_index(
            "ix_order_line_order_sku", ["order_id", "sku", "quantity", "id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("order_line", schema=None) as batch_op:
        batch_op.drop_index("ix_order_line_order_sku")
    with op.batch_alter_table("order", schema=None) as batch_op:
        batch_op.drop_index("ix_order_shop_ordered")
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_request_action_created")
        batch_op.drop_index("ix_audit_shop_action_created")
