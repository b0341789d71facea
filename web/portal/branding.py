"""The shop's look on every customer page: its name, logo, colour and languages.

The portal, the label pages and the error pages all draw ``portal/base.html`` (or, for an
error that comes before any portal view, ``portal/error.html``) from this one plain dict.
"""

from __future__ import annotations

import re

from models import Shop

HEX_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
# Bootstrap's blue, for a shop that has not chosen a colour (or saved one that is not a colour).
DEFAULT_COLOUR = "#0d6efd"
LANGUAGES = ("nl", "en")


def brand(shop: Shop) -> dict:
    """What a customer page shows of the shop, as plain data."""
    return {
        "name": shop.name,
        "slug": shop.slug,
        "logo_url": shop.logo_url,
        "color": brand_colour(shop),
        "languages": list(shop.language_list or LANGUAGES),
    }


def brand_colour(shop: Shop) -> str:
    colour = shop.brand_color or ""
    return colour if HEX_COLOUR.fullmatch(colour) else DEFAULT_COLOUR
