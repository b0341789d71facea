"""A previewed order file waits in the file store between its preview and its import.

In the store rather than on the web instance's own disk: with several instances behind a
load balancer, the import may reach another instance than the preview did. The session
remembers the file's random token and shop (``web/admin/integration.py``), so an import
cannot be pointed at another file or shop; a preview left unimported is deleted after a day
by the workers' sweep, as it holds customers' names and addresses.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta

from models import utcnow
from services import stores

PREFIX = "order-import-"
KEPT_FOR = timedelta(days=1)
_TOKEN = re.compile(r"[0-9a-f]{32}")


def _key(token: str) -> str:
    if not _TOKEN.fullmatch(token):
        raise ValueError("not an import token")
    return f"{PREFIX}{token}.csv"


def keep(data: bytes) -> str:
    """Store a previewed file; its token. Raises ``stores.StoreUnavailable``."""
    token = secrets.token_hex(16)
    stores.current().put(_key(token), data, "text/csv")
    return token


def take(token: str) -> bytes | None:
    """The file previewed under ``token``, or ``None`` once it is gone."""
    try:
        return stores.current().get(_key(token))
    except stores.MissingFile:
        return None


def forget(token: str) -> None:
    stores.current().delete(_key(token))


def sweep_abandoned(now: datetime | None = None) -> int:
    """Delete the previews kept longer than ``KEPT_FOR``; returns how many."""
    store = stores.current()
    abandoned = store.keys_older_than(PREFIX, (now or utcnow()) - KEPT_FOR)
    for key in abandoned:
        store.delete(key)
    return len(abandoned)
