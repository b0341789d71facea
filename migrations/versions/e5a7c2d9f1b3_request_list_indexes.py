"""Indexes for the Requests list at scale: search, open requests, deep pages (PostgreSQL)

Trigram (pg_trgm) GIN indexes serve name and email search by any piece (prefixes too); a
btree index on lower(customer_email) serves the exact email address; partial indexes on the open requests serve the list's
default view, newest first, per shop and over all shops; (created_at, id) serves deep pages
of all requests. SQLite (the embedded default) needs none of these: the migration is a no-op
there.

Revision ID: e5a7c2d9f1b3
Revises: b7e1c4a9d2f0
Create Date: 2026-11-26 04:10:00
"""

from alembic import op

revision = "e5a7c2d9f1b3"
down_revision = "c4d8e2f1a7b3"
branch_labels = None
depends_on = None

OPEN = "status IN ('new', 'concept', 'on_hold')"
INDEXES = {
    "ix_request_name_trgm": "USING gin (customer_name gin_trgm_ops)",
    "ix_request_email_trgm": "USING gin (customer_email gin_trgm_ops)",
    "ix_request_email_lower": "(lower(customer_email))",
    "ix_request_created_id": "(created_at, id)",
    "ix_request_open_created": f"(created_at, id) WHERE {OPEN}",
    "ix_request_open_shop_created": f"(shop_id, created_at, id) WHERE {OPEN}",
}


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, definition in INDEXES.items():
        op.execute(f"CREATE INDEX IF NOT EXISTS {name} ON return_request {definition}")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
