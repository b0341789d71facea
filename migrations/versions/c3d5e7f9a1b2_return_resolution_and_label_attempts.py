"""a return's resolution, its label job's attempts and the QR payload of its label

Revision ID: c3d5e7f9a1b2
Revises: b7e1c4a9d2f0
Create Date: 2026-11-26 04:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c3d5e7f9a1b2'
down_revision = "5e1a7c0d2b41"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('return', schema=None) as batch_op:
        batch_op.add_column(sa.Column('resolution', sa.String(length=20), nullable=True))
        batch_op.add_column(
            sa.Column('label_attempts', sa.Integer(), nullable=False, server_default='0')
        )
        batch_op.add_column(sa.Column('qr_payload', sa.String(length=200), nullable=True))


def downgrade():
    with op.batch_alter_table('return', schema=None) as batch_op:
        batch_op.drop_column('qr_payload')
        batch_op.drop_column('label_attempts')
        batch_op.drop_column('resolution')
