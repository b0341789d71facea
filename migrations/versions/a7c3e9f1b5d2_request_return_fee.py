"""A request records the shop's return fee when it is approved

The customer is told the fee at approval; a later change of the shop's fee no longer changes
what an approved request's label costs. Requests approved before this revision get the shop's
fee of today, the best that is known.

Revision ID: a7c3e9f1b5d2
Revises: d9e3f5a7b1c2
Create Date: 2026-11-30 17:00:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "a7c3e9f1b5d2"
down_revision = "d9e3f5a7b1c2"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("return_request", schema=None) as batch_op:
        batch_op.add_column(sa.Column("return_fee_cents", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE return_request SET return_fee_cents = "
        "(SELECT shop.return_fee_cents FROM shop WHERE shop.id = return_request.shop_id) "
        "WHERE status IN ('approved', 'label_created', 'completed')"
    )


def downgrade():
    with op.batch_alter_table("return_request", schema=None) as batch_op:
        batch_op.drop_column("return_fee_cents")
