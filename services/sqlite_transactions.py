"""SQLite write transactions that hold the database's write lock from their first statement.

PostgreSQL makes a check-then-write atomic with a row lock (``SELECT … FOR UPDATE``) or a
conditional UPDATE. SQLite ignores ``FOR UPDATE``, and pysqlite's own transaction handling
begins a transaction only at the first INSERT/UPDATE/DELETE, so two requests could both
check "one unit left" and then both write. Here SQLAlchemy's documented pysqlite recipe takes
over (``isolation_level = None``: pysqlite emits no BEGIN of its own) with one change: the
BEGIN is ``BEGIN IMMEDIATE`` and is emitted lazily, right before the first statement that
writes or locks (``with_for_update()``). From there until COMMIT or ROLLBACK no other
connection can write, so every check after the lock sees the latest data and stays true
until the write commits; a second writer waits (``busy_timeout``) instead of failing.

Plain reads before that point run outside a transaction, as they did under pysqlite, so
readers never queue behind each other or behind a writer's lock: beginning ``IMMEDIATE`` at
every SQLAlchemy begin would make every request and every test session that only reads take
the single write lock and hold it until the session ends.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

# How long a writer waits for another writer's transaction before giving up.
BUSY_TIMEOUT_MS = 30_000
# Statements that only read; anything else (DML, DDL, SAVEPOINT) must run in a transaction.
_READ_ONLY = re.compile(r"\s*(SELECT|PRAGMA|EXPLAIN)\b", re.IGNORECASE)


def install(engine: Engine) -> None:
    """Make ``engine``'s write transactions atomic if it is a SQLite engine; else nothing."""
    if engine.dialect.name != "sqlite":
        return
    event.listen(engine, "connect", _take_over_transactions)
    event.listen(engine, "before_cursor_execute", _begin_before_writing)


def _take_over_transactions(dbapi_connection: Any, connection_record: Any) -> None:
    """Stop pysqlite from emitting BEGIN/COMMIT itself; SQLAlchemy and this module do it."""
    dbapi_connection.isolation_level = None
    dbapi_connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")


def _begin_before_writing(
    conn: Connection,
    cursor: Any,
    statement: str,
    parameters: Any,
    context: Any,
    executemany: bool,
) -> None:
    """Emit ``BEGIN IMMEDIATE`` before the transaction's first write or row lock."""
    sqlite_connection = conn.connection.dbapi_connection
    if sqlite_connection is None or sqlite_connection.in_transaction:
        return
    if conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
        return
    if _READ_ONLY.match(statement) and not _locks_rows(context):
        return
    cursor.execute("BEGIN IMMEDIATE")


def _locks_rows(context: Any) -> bool:
    """Whether the statement is a ``SELECT … FOR UPDATE`` (which SQLite renders without it)."""
    statement = getattr(getattr(context, "compiled", None), "statement", None)
    return getattr(statement, "_for_update_arg", None) is not None
