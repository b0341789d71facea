"""The shop's look on every customer page: its name, logo, colour and languages.

The portal, the label pages and the error pages all draw ``portal/base.html`` (or, for an
error that comes before any portal view, ``portal/error.html``) from this one plain dict.
"""

from __future__ import annotations

from domain.colours import brand_colour, readable_colour
from models import Shop

LANGUAGES = ("nl", "en")


def brand(shop: Shop) -> dict:
    """What a customer page shows of the shop, as plain data."""
    return {
        "name": shop.name,
        "slug": shop.slug,
        "logo_url": shop.logo_url,
        "color": brand_colour(shop),
        "safe_color": readable_colour(brand_colour(shop)),
        "languages": list(shop.language_list or LANGUAGES),
        "privacy_url": shop.privacy_url,
    }
