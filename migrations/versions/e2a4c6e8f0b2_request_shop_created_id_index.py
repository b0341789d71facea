"""a shop's requests indexed newest first with their id: a deep page of the Requests list
finds its rows on the index alone

Revision ID: e2a4c6e8f0b2
Revises: d4f6a8c0e2b4
Create Date: 2026-12-01 08:20:00

"""

from alembic import op

revision = "e2a4c6e8f0b2"
down_revision = "d4f6a8c0e2b4"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("return_request") as batch:
        batch.drop_index("ix_request_shop_created")
        batch.create_index("ix_request_shop_created", ["shop_id", "created_at", "id"])


def downgrade():
    with op.batch_alter_table("return_request") as batch:
        batch.drop_index("ix_request_shop_created")
        batch.create_index("ix_request_shop_created", ["shop_id", "created_at"])
