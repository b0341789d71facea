"""List filters whose URLs and options suit a multi-shop, bilingual admin.

Flask-Admin names a filter's URL argument after its translated label and computes its
options once at start-up. Here every filter has a fixed key (``flt0_status=open``, the same
in Dutch and English) and options computed per request for whoever is looking, so a shop
chooser never lists another tenant's shops.
"""

from __future__ import annotations

from flask import has_request_context
from flask_admin.contrib.sqla.filters import BaseSQLAFilter, DateTimeBetweenFilter
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from domain import tenancy
from web.int_args import parse_int


class KeyedFilter(BaseSQLAFilter):
    """A filter with a fixed URL key and per-user options (``options_for_user``)."""

    key = ""

    def __init__(self, name, column, options=None):
        super().__init__(column, name, options)

    def operation(self):
        return _l("is")

    def get_options(self, view):
        if not has_request_context() or not current_user.is_authenticated:
            return []
        return self.options_for_user()

    def options_for_user(self) -> list[tuple[str, str]]:
        return []


class ShopFilter(KeyedFilter):
    """One of the shops the user may see; pass the model's ``shop_id`` column."""

    key = "shop"

    def options_for_user(self):
        user = current_user._get_current_object()
        return [(str(i), name) for i, name in tenancy.shop_names(tenancy.shops_for(user, "agent"))]

    def apply(self, query, value, alias=None):
        shop_id = parse_int(value)
        return query if shop_id is None else query.filter(self.column == shop_id)


class CreatedFilter(DateTimeBetweenFilter):
    key = "created"


class KeyedFilterMenu:
    """Mixin for a ModelView whose filters are all keyed filters."""

    def get_filter_arg(self, index, flt):
        return flt.key

    def _get_filter_groups(self):
        """The filter menu, with options computed for the person looking (never cached)."""
        groups: dict[str, list[dict]] = {}
        for index, flt in enumerate(self._filters):
            options = flt.get_options(self) or None
            groups.setdefault(str(flt.name), []).append(
                {
                    "index": index,
                    "arg": self.get_filter_arg(index, flt),
                    "operation": str(flt.operation()),
                    "options": [(key, str(label)) for key, label in options] if options else None,
                    "type": flt.data_type,
                }
            )
        return groups
