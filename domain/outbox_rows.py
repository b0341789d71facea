"""The outbox rows a transaction wrote, kept until it commits.

Rows added through the session are noted by ``services.outbox`` at each flush; rows written
with a set-based INSERT (the bulk path), which no flush sees, are noted by the code that wrote
them. Once the transaction commits, ``services.outbox`` hands every noted row to the job runner.
"""

from __future__ import annotations

from sqlalchemy.orm import Session, scoped_session

_KEY = "returndesk_outbox"


def note_written(session: Session | scoped_session, rows: list[tuple[type, int]]) -> None:
    """Remember outbox rows ``(model, id)`` written in the session's current transaction."""
    session.info.setdefault(_KEY, []).extend(rows)


def take_written(session: Session) -> list[tuple[type, int]]:
    """The rows noted since the last commit or rollback, forgotten as they are handed out."""
    return session.info.pop(_KEY, [])
