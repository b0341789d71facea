"""How Dutch addresses the customer: "je/jouw" by default, "u/uw" where the shop asks for it.

The main catalog (``translations/``) says "je" everywhere. ``translations_formal/`` holds only
the formal variants of the customer-facing strings. Where a shop's customer is addressed
(its portal pages by ``address_customers_of``, its customer emails inside ``formal_address``)
and the shop has ``address_formally`` on, ``FormalAwareDomain`` answers from the formal
catalog first and from the main one for every other string. Staff pages never set it, and a
language without a formal catalog (English) is unaffected. See docs/ARCHITECTURE.md, decision
record 7.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

from babel import support
from flask import g, has_app_context
from flask_babel import Domain, get_locale

FORMAL_TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations_formal"
# Where the current customer context is kept, next to Flask-Babel's own (``g._flask_babel``).
FLAG = "address_formally"


class AddressedShop(Protocol):
    address_formally: bool


def wants_formal(shop: AddressedShop | None) -> bool:
    """The one rule: a shop's customers are addressed formally when the shop says so."""
    return bool(shop is not None and shop.address_formally)


def is_formal() -> bool:
    """Whether the text being rendered now speaks to a customer who is addressed formally."""
    return has_app_context() and bool(g.get(FLAG, False))


def address_customers_of(shop: AddressedShop | None) -> None:
    """The rest of this request is a page of ``shop``'s customer (the portal's pages)."""
    setattr(g, FLAG, wants_formal(shop))


@contextmanager
def formal_address(shop: AddressedShop | None) -> Iterator[None]:
    """Render for ``shop``'s customer inside (``None``: for staff, so informal), like
    ``force_locale`` for the language; the page's own form of address returns after."""
    before = g.get(FLAG, False)
    setattr(g, FLAG, wants_formal(shop))
    try:
        yield
    finally:
        setattr(g, FLAG, before)


class FormalAwareDomain(Domain):
    """Flask-Babel's message domain, answering from the formal catalog where ``is_formal()``.

    Flask-Babel loads one set of catalogs per language and caches it per (locale, domain);
    this caches the formal set per (locale, "formal"), with the informal set as its fallback.
    """

    def get_translations(self) -> support.NullTranslations:
        informal = super().get_translations()
        if not is_formal():
            return informal
        key = (str(get_locale()), "formal")
        if key not in self.cache:
            self.cache[key] = with_formal_variants(informal, key[0])
        return self.cache[key]


def with_formal_variants(
    informal: support.NullTranslations, locale: str
) -> support.NullTranslations:
    """The formal catalog of ``locale`` falling back to the informal one; without a formal
    catalog for the language, the informal one alone."""
    formal = support.Translations.load(str(FORMAL_TRANSLATIONS), [locale])
    if not isinstance(formal, support.Translations):
        return informal
    formal.add_fallback(informal)
    return formal
