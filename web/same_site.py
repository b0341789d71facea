"""Where a redirect or a back link may lead: a path on this site, nowhere else.

Every target that comes with a request (a form's ``next``, the bulk progress page's ``back``,
the language switch's referrer) goes through ``safe_next`` before it becomes a ``Location``
header or an ``href``, so no link of ours sends someone to another site (an open redirect)
or runs script (``javascript:``).
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from flask import request


def safe_next(target: str | None, fallback: str) -> str:
    """``target`` as a path on this site, else ``fallback``.

    Refused: anything with a scheme or host of another site (``https://evil.example``,
    ``//evil.example``, ``javascript:``), backslashes (browsers read ``/\\evil.example`` as
    ``//evil.example``), and whitespace or control characters (browsers drop them, so
    ``/\\t/evil.example`` becomes ``//evil.example``). A full URL of this very host, such as the
    Referer header, is reduced to its path."""
    if not target or "\\" in target or any(ord(c) <= 32 or ord(c) == 127 for c in target):
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        if parts.scheme not in ("http", "https") or parts.netloc != request.host:
            return fallback
        target = urlunsplit(("", "", parts.path or "/", parts.query, parts.fragment))
    if not target.startswith("/") or target.startswith("//"):
        return fallback
    return target
