"""The addresses of ReturnDesk's pages that leave the page they are shown on.

A customer's status link goes out in every email, in the API's answers and on the label
pages; a staff link in the shop's emails. They are built here, from ``PUBLIC_URL`` rather
than from a web request, so that a delivery job (which has none) and a page give one link,
and so that no request's Host header chooses where a password-reset link leads. Without
PUBLIC_URL (needed only behind a proxy) it is the loopback address on the port ``make run``
serves (``app.local_url``).
"""

from __future__ import annotations

from flask import current_app

from models import ReturnRequest


def public_url() -> str:
    """Where ReturnDesk is reached from outside, without a trailing slash."""
    return current_app.config["PUBLIC_URL"].rstrip("/")


def absolute(address: str) -> str:
    """An address as an email can carry it: a path on this site (a shop's logo at
    ``/static/…``) made full; a full address, or none, as it is."""
    if address.startswith("/") and not address.startswith("//"):
        return public_url() + address
    return address


def status_path(shop_slug: str, token: str) -> str:
    """The customer's status page of a request, on this site: the unguessable token is
    the only key to it."""
    return f"/returns/{shop_slug}/status/{token}"


def status_url(request: ReturnRequest) -> str:
    """The customer's status page of a request as a full address, as emails and the API
    give it."""
    return public_url() + status_path(request.shop.slug, request.public_token)


def staff_url(request_id: int) -> str:
    """A request's page in the admin, for the shop's staff."""
    return f"{public_url()}/admin/requests/{request_id}"
