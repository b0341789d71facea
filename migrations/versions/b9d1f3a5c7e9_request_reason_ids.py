"""the reasons a request's lines give, kept on the request (reason_ids) for the list's reason
filter; filled from the lines there are

Revision ID: b9d1f3a5c7e9
Revises: a8c0e2f4b6d8
Create Date: 2026-12-01 20:10:00

"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "b9d1f3a5c7e9"
down_revision = "a8c0e2f4b6d8"
branch_labels = None
depends_on = None

ID_LIST = sa.JSON().with_variant(postgresql.ARRAY(sa.Integer()), "postgresql")

# A request without a line that gives a reason keeps NULL: no reasons, as an empty list says.
FILL = {
    "postgresql": (
        "UPDATE return_request r SET reason_ids = given.ids FROM (SELECT request_id,"
        " array_agg(DISTINCT reason_id ORDER BY reason_id) AS ids FROM return_request_line"
        " WHERE reason_id IS NOT NULL GROUP BY request_id) given WHERE r.id = given.request_id"
    ),
    "sqlite": (
        "UPDATE return_request SET reason_ids = (SELECT json_group_array(DISTINCT l.reason_id)"
        " FROM return_request_line l WHERE l.request_id = return_request.id"
        " AND l.reason_id IS NOT NULL) WHERE id IN (SELECT request_id FROM return_request_line"
        " WHERE reason_id IS NOT NULL)"
    ),
}


def upgrade():
    op.add_column("return_request", sa.Column("reason_ids", ID_LIST, nullable=True))
    op.execute(FILL[op.get_bind().dialect.name])


def downgrade():
    with op.batch_alter_table("return_request") as batch:
        batch.drop_column("reason_ids")
