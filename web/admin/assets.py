"""The addresses of the staff pages' scripts and style sheets, built once.

A list page links some thirty of them (Flask-Admin's and ours), each through ``url_for``,
which builds the same address from the URL map every time (~30 µs). An address depends only
on the app, where it is mounted (``script_root``) and the file, so it is kept per app.
"""

from __future__ import annotations

from flask import current_app, request, url_for

_KEY = "returndesk_asset_urls"


def asset_url(endpoint: str, filename: str, v: str | None = None) -> str:
    """``url_for(endpoint, filename=filename, v=v)`` for a static file, remembered."""
    built: dict[tuple, str] = current_app.extensions.setdefault(_KEY, {})
    key = (request.script_root, endpoint, filename, v)
    url = built.get(key)
    if url is None:
        url = built[key] = url_for(endpoint, filename=filename, v=v)
    return url
