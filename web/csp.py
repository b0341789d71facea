"""The Content-Security-Policy of every page, and the per-response nonce its scripts carry."""

from __future__ import annotations

import secrets

from flask import g


def csp_nonce() -> str:
    """This response's script nonce: our few inline scripts (and Flask-Admin's) carry it as
    ``nonce="{{ csp_nonce() }}"``, so an injected ``<script>`` without it does not run."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


def content_security_policy() -> str:
    """Scripts only from this site or with this response's nonce; no inline event handlers.

    style-src keeps 'unsafe-inline': the templates set per-row colours and widths in style
    attributes (a review stage's colour, the bulk progress bar) and Flask-Admin's select2 and
    date widgets inject elements with style attributes, which a nonce cannot allow. A style
    cannot run script, so that leaves no way to run injected code."""
    return (
        "default-src 'self'; img-src 'self' data: https:; style-src 'self' 'unsafe-inline'; "
        f"script-src 'self' 'nonce-{csp_nonce()}'; object-src 'none'; base-uri 'self'; "
        "frame-ancestors 'none'; form-action 'self'"
    )
