"""How amounts and dates read in the reader's language."""

from __future__ import annotations

from flask_babel import get_locale

from refunds import format_money


def language() -> str:
    """The two-letter language of the current page ("nl" or "en")."""
    return str(get_locale() or "en")[:2]


def money(cents: int | None, currency: str = "EUR") -> str:
    """An amount in cents as the reader's language writes money (€ 5,95 or €5.95)."""
    return format_money(cents or 0, currency, language())
