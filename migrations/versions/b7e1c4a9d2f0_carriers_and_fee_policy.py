"""carrier accounts, the carrier's reference on a return, the shop's return-fee policy

Revision ID: b7e1c4a9d2f0
Revises: 1d27907c25d7
Create Date: 2026-11-26 03:45:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b7e1c4a9d2f0'
down_revision = "84edd6c64ca1"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('carrier_account',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('shop_id', sa.Integer(), nullable=False),
    sa.Column('carrier', sa.String(length=40), nullable=False),
    sa.Column('public_key', sa.String(length=200), nullable=True),
    sa.Column('secret_key', sa.String(length=200), nullable=True),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('settings', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['shop_id'], ['shop.id'], name=op.f('fk_carrier_account_shop_id_shop'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_carrier_account')),
    sa.UniqueConstraint('shop_id', 'carrier', name=op.f('uq_carrier_account_shop_id'))
    )
    with op.batch_alter_table('carrier_account', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_carrier_account_shop_id'), ['shop_id'], unique=False)

    with op.batch_alter_table('return', schema=None) as batch_op:
        batch_op.add_column(sa.Column('carrier_reference', sa.String(length=64), nullable=True))

    with op.batch_alter_table('shop', schema=None) as batch_op:
        batch_op.add_column(sa.Column('return_fee_policy', sa.String(length=20), nullable=False, server_default='deduct_from_refund'))


def downgrade():
    with op.batch_alter_table('shop', schema=None) as batch_op:
        batch_op.drop_column('return_fee_policy')

    with op.batch_alter_table('return', schema=None) as batch_op:
        batch_op.drop_column('carrier_reference')

    with op.batch_alter_table('carrier_account', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_carrier_account_shop_id'))

    op.drop_table('carrier_account')
