"""the status index only where a sweep asks it (approved requests with a ship-by date) and
for the open statuses by status and date, so PostgreSQL no longer ANDs every "new" request
with a filtered list's month

Revision ID: c1d3e5f7a9b1
Revises: b9d1f3a5c7e9
Create Date: 2026-12-01 20:30:00

"""

import sqlalchemy as sa
from alembic import op

revision = "c1d3e5f7a9b1"
down_revision = "b9d1f3a5c7e9"
branch_labels = None
depends_on = None

WITH_SHIP_BY = sa.text("ship_by_at IS NOT NULL")
OPEN = sa.text("status IN ('new', 'concept', 'on_hold')")


def partial(where: sa.TextClause) -> dict:
    return {"postgresql_where": where, "sqlite_where": where}


def upgrade():
    op.drop_index("ix_request_status_ship_by", table_name="return_request")
    op.create_index(
        "ix_request_status_ship_by",
        "return_request",
        ["status", "ship_by_at"],
        **partial(WITH_SHIP_BY),
    )
    op.create_index(
        "ix_request_open_status_created",
        "return_request",
        ["status", "created_at"],
        **partial(OPEN),
    )


def downgrade():
    op.drop_index("ix_request_open_status_created", table_name="return_request")
    op.drop_index("ix_request_status_ship_by", table_name="return_request")
    op.create_index("ix_request_status_ship_by", "return_request", ["status", "ship_by_at"])
