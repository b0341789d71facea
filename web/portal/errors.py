"""The error pages a customer meets under /returns/…: in the shop's name, colours and
language, with the way on, never a bare framework page (``web.errors`` asks)."""

from __future__ import annotations

import re

from flask import Response, g, request
from flask_babel import refresh
from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from domain import formal_address
from domain.portal_page import LANGUAGES, portal_shop
from extensions import db
from models import Shop
from web.portal.request_form import portal_language, render_page

CUSTOMER_PATH = re.compile(r"^/returns/(?P<slug>[^/]+)(/|$)")


def customer_error_page(error: HTTPException) -> Response | None:
    """The branded page for an error on a customer's path; ``None`` elsewhere."""
    match = CUSTOMER_PATH.match(request.path)
    if match is None:
        return None
    db.session.rollback()  # a failed transaction must not keep the shop from being read
    shop = db.session.scalar(select(Shop).where(Shop.slug == match["slug"]))
    g.locale = portal_language(shop) if shop else customer_language()
    formal_address.address_customers_of(shop)
    refresh()  # the page may have fixed another language before the error
    page = render_page(
        "portal/error.html", code=error.code or 500, brand=portal_shop(shop) if shop else None
    )
    return Response(page, status=error.code or 500, headers=_kept_headers(error))


def customer_language() -> str:
    """Without a shop: the page's ``?lang=``, else what the browser asks."""
    chosen = request.args.get("lang")
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(LANGUAGES) or "nl"


def _kept_headers(error: HTTPException) -> dict:
    """The error's own headers (``Allow`` of a 405, ``Retry-After``), not its content type."""
    return {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
