"""How amounts, dates and times read in the reader's language and the shop's time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import lru_cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, available_timezones

from flask import g
from flask_babel import format_date, get_locale

from domain.refunds import format_money
from models import DEFAULT_TIME_ZONE, Shop

if TYPE_CHECKING:
    from domain.email_context import EmailShop

# The zones a shop can choose: the IANA "Region/City" names, and UTC.
TIME_ZONES = [*sorted(name for name in available_timezones() if "/" in name), "UTC"]


def language() -> str:
    """The two-letter language of the current page ("nl" or "en")."""
    return str(get_locale() or "en")[:2]


def money(cents: int | None, currency: str = "EUR", locale: str | None = None) -> str:
    """An amount in cents as the reader's language (or ``locale``) writes money (€ 5,95 or
    €5.95)."""
    return _money(cents or 0, currency, locale or language())


@lru_cache(maxsize=4096)
def _money(cents: int, currency: str, locale: str) -> str:
    """Babel's formatting, remembered: a list page writes 50 amounts, many of them the same,
    and Babel parses the locale's pattern for each (a third of a list row's time)."""
    return format_money(cents, currency, locale)


def in_zone(moment: datetime, shop: Shop | EmailShop | None) -> datetime:
    """A stored moment (UTC; SQLite hands it back naive) in the shop's zone, else in UTC.

    ``shop`` is a ``Shop`` or the plain shop an email sees: both name their zone.
    """
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    zone = ZoneInfo(shop.time_zone or DEFAULT_TIME_ZONE) if shop is not None else UTC
    return aware.astimezone(zone)


def shop_time(moment: datetime | None, shop: Shop, pattern: str = "%Y-%m-%d %H:%M") -> str:
    """A moment as the clock on the shop's wall shows it, for the shop's staff."""
    return "" if moment is None else in_zone(moment, shop).strftime(pattern)


def moment(value: datetime, shop: Shop | EmailShop | None = None) -> str:
    """Date and time stated explicitly, with the zone, as an acknowledgement states them:
    "26-11-2026 14:30 CET" in the zone of ``shop`` (in the portal: its shop), else UTC."""
    shop = shop or g.get("shop")
    return in_zone(value, shop).strftime("%d-%m-%Y %H:%M %Z")


def moment_date(value: datetime | date, shop: Shop | EmailShop | None = None) -> str:
    """The day of a moment in the shop's zone, written out in the reader's language
    ("15 december 2026", "December 15, 2026")."""
    if isinstance(value, datetime):
        value = in_zone(value, shop or g.get("shop")).date()
    return format_date(value, "long")
