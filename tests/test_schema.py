"""The Alembic migration history builds exactly the schema models.py describes."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from extensions import db
from models import include_in_schema_comparison


def schema_differences() -> list:
    """What ``flask db migrate`` would put in a new migration for the migrated test database."""
    with db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={
                "compare_type": True,
                "render_as_batch": True,
                "include_object": include_in_schema_comparison,
            },
        )
        return compare_metadata(context, db.metadata)


def test_migrations_create_the_schema_of_the_models(app):
    differences = schema_differences()
    assert differences == [], (
        "models.py and migrations/ disagree; write a migration for:\n"
        + "\n".join(repr(d) for d in differences)
    )
