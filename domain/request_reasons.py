"""The return reasons a request's lines give, kept on the request (``ReturnRequest.reason_ids``).

The Requests list filters by reason. Asked of the lines, PostgreSQL joined every line with
that reason in every shop before it met the page's candidates, which grew with the data (2.3
million lines at 10,000,000 requests); on the request itself it is a check of the row the
list reads anyway. The ids are written in the flush that adds, changes or removes a line,
from the lines as the database then holds them (set-based: a line added by its request's id
alone counts too), so no writer of lines has to remember them. ``listen`` is registered by
``create_app``; every line is written through the ORM (a set-based write of lines would have
to call ``refresh_reason_ids`` itself).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from typing import Any

from sqlalchemy import event, inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import History
from sqlalchemy.orm.state import InstanceState
from sqlalchemy.orm.util import identity_key

from models import ReturnRequest, ReturnRequestLine

# Per dialect: every listed request's reasons, distinct, from its lines.
REFRESH = {
    "postgresql": (
        "UPDATE return_request r SET reason_ids = ARRAY(SELECT DISTINCT l.reason_id"
        " FROM return_request_line l WHERE l.request_id = r.id AND l.reason_id IS NOT NULL"
        " ORDER BY 1) WHERE r.id = ANY(:ids)"
    ),
    "sqlite": (
        "UPDATE return_request SET reason_ids = (SELECT json_group_array(DISTINCT l.reason_id)"
        " FROM return_request_line l WHERE l.request_id = return_request.id"
        " AND l.reason_id IS NOT NULL) WHERE id IN (SELECT value FROM json_each(:ids))"
    ),
}
# Where a session keeps the requests its flush refreshed until their loaded copies expire.
REFRESHED = "refreshed_reason_ids"


def refresh_reason_ids(connection: Connection, request_ids: Collection[int]) -> None:
    """Write the reasons of these requests' lines onto the requests."""
    if not request_ids:
        return
    ids: list[int] | str = sorted(request_ids)
    if connection.dialect.name == "sqlite":
        ids = json.dumps(ids)
    connection.execute(text(REFRESH[connection.dialect.name]), {"ids": ids})


def _requests_of(line: ReturnRequestLine) -> Iterable[int]:
    """The request a line belongs to, and the one it left if it moved."""
    history: History = inspect(line).attrs.request_id.history
    return (i for i in (*history.unchanged, *history.added, *history.deleted) if i is not None)


def _reasons_may_change(session: Session, line: ReturnRequestLine) -> bool:
    if line in session.new or line in session.deleted:
        return True
    state: InstanceState = inspect(line)
    return any(state.attrs[name].history.has_changes() for name in ("reason_id", "request_id"))


def _after_flush(session: Session, flush_context: Any) -> None:
    lines = (
        obj
        for obj in (*session.new, *session.dirty, *session.deleted)
        if isinstance(obj, ReturnRequestLine) and _reasons_may_change(session, obj)
    )
    request_ids = {request_id for line in lines for request_id in _requests_of(line)}
    if request_ids:
        refresh_reason_ids(session.connection(), request_ids)
        session.info.setdefault(REFRESHED, set()).update(request_ids)


def _expire_refreshed(session: Session, flush_context: Any) -> None:
    """A request loaded in the session reads its new reasons from the database when asked."""
    for request_id in session.info.pop(REFRESHED, ()):
        request = session.identity_map.get(identity_key(ReturnRequest, request_id))
        if request is not None:
            session.expire(request, ["reason_ids"])


def listen() -> None:
    """Keep the reasons of every ORM flush (once per process; ``create_app`` calls it)."""
    if event.contains(Session, "after_flush", _after_flush):
        return
    event.listen(Session, "after_flush", _after_flush)
    event.listen(Session, "after_flush_postexec", _expire_refreshed)
