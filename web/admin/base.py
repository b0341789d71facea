"""What every staff view shares. Tenancy is one mechanism here: ``ShopScopedView``.

Every list, count, detail, edit, delete and export of a shop's data goes through
``ShopScopedView.scope()``, which keeps only the shops where the user has the view's
``read_role`` (support sees all); every edit, delete and list action is checked per row
against the shops where the user has its ``change_role``. Both ask ``tenancy.shops_for``, the
one tenancy rule. Row and bulk actions that change a status call workflow.py.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from functools import wraps
from urllib.parse import urlencode

from flask import abort, g, redirect, request, url_for
from flask_admin.actions import action
from flask_admin.babel import lazy_gettext as admin_lazy_gettext
from flask_admin.contrib.sqla import ModelView
from flask_admin.contrib.sqla.filters import FilterConverter
from flask_admin.contrib.sqla.typefmt import DEFAULT_FORMATTERS
from flask_admin.model.filters import BaseIntFilter, BaseIntListFilter
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import inspect, select
from werkzeug.datastructures import iter_multi_items
from werkzeug.exceptions import HTTPException

from domain import tenancy
from domain.formatting import language
from extensions import db
from models import (
    ReturnReason,
    Shop,
)
from web.int_args import MAX_INT, parse_ids, parse_int, query_int

log = logging.getLogger(__name__)


def visible_shops(min_role: str = "agent") -> list[Shop]:
    """The shops where the current user has ``min_role`` or a stronger one, by name.

    Looked up once per request and set of shops: the menu's checks and the list's shop filter
    ask for the same shops on every staff page, and support's every shop, whatever the role.
    ``tenancy.shops_for`` is asked afresh, so a membership changed earlier in the request
    counts."""
    user = current_user._get_current_object()
    shop_ids = tenancy.shops_for(user, min_role)
    seen = g.setdefault("visible_shops", {})
    key = (user.get_id(), None if shop_ids is None else tuple(shop_ids))
    if key not in seen:
        seen[key] = tenancy.shops_named(shop_ids)
    return seen[key]


def reason_choices(shop_ids: list[int] | None) -> list[tuple[str, str]]:
    """The return reasons of these shops (``None``: every shop) as ``(code, words)`` in the
    reader's language, one per code (filters and rules go by code), ordered by their words."""
    label = ReturnReason.label_column(language())
    query = select(ReturnReason.code, label).order_by(ReturnReason.id)
    return one_per_code(db.session.execute(tenancy.in_shops(query, ReturnReason.shop_id, shop_ids)))


def one_per_code(reasons: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """``(code, words)`` of reasons, oldest first, as ``reason_choices`` gives them: the first
    words of each code, ordered by their words."""
    words: dict[str, str] = {}
    for code, label in reasons:
        words.setdefault(code, label)
    return sorted(words.items(), key=lambda choice: choice[1].lower())


def query_string(args: dict) -> str:
    """``args`` as Werkzeug's ``url_for`` writes a URL's query: in order, without the ones
    that are ``None``, with the same characters left unescaped."""
    return urlencode(
        [(key, value) for key, value in iter_multi_items(args) if value is not None],
        safe="!$'()*,/:;?@",
    )


def row_ids(ids) -> list[int]:
    """Row ids from a form (``rowid`` of a bulk action) as integers; anything else is dropped."""
    return parse_ids(ids)


class StaffOnly:
    """Mixin: only logged-in, active staff; others are sent to the login page."""

    def is_accessible(self) -> bool:
        user = current_user._get_current_object()  # the menu asks this of every view
        return user.is_authenticated and user.is_active

    def inaccessible_callback(self, name, **kwargs):
        if current_user.is_authenticated:
            abort(403)
        return redirect(url_for("auth.login", next=request.url))


class SupportOnly(StaffOnly):
    def is_accessible(self) -> bool:
        return super().is_accessible() and current_user.is_support


def bounded(filter_class: type) -> type:
    """Flask-Admin's integer filter ``filter_class``, refusing a value out of the columns'
    range as it refuses one that is not a number (the filter is dropped with a message)."""

    def clean(self, value: str):
        parts = [part.strip() for part in value.split(",") if part.strip()]
        if not all(parse_int(part, -MAX_INT) is not None for part in parts):
            raise ValueError(value)
        return filter_class.clean(self, value)

    return type(filter_class.__name__, (filter_class,), {"clean": clean})


class BoundedFilterConverter(FilterConverter):
    int_filters = tuple(
        bounded(f) if issubclass(f, BaseIntFilter | BaseIntListFilter) else f
        for f in FilterConverter.int_filters
    )


def labelled_bool(view: ModelView, value: object, name: str) -> Markup:
    """Flask-Admin's tick or dash, titled with the column's label and "yes"/"no" in the
    reader's language (Flask-Admin's own titles it with the code, "requires_photo: false")."""
    label = view.column_labels.get(name, name) if view.column_labels else name
    icon = "fa-check-circle" if value else "fa-minus-circle"
    title = f"{label}: {_('yes') if value else _('no')}"
    return Markup('<span class="fa {}" title="{}"></span>').format(icon, title)


def written_in(language: str):
    """A column formatter for a text a shop keeps in ``language`` (a label's English): the
    cell says which language it is in, for screen readers and on a page in another one."""

    def cell(view: ModelView, context: object, model: object, name: str) -> Markup:
        return Markup('<span lang="{}">{}</span>').format(language, getattr(model, name) or "")

    return cell


class BoundedModelView(ModelView):
    """A model view whose row ids, page numbers and integer filters are read with
    ``int_args``: a number the database cannot hold is a 404 or a 400, never a 500.
    ``scope()`` narrows every query (``ShopScopedView`` to the user's shops)."""

    filter_converter = BoundedFilterConverter()
    column_type_formatters = {**DEFAULT_FORMATTERS, bool: labelled_bool}

    def scope(self, query):
        return query

    def _get_list_extra_args(self):
        args = super()._get_list_extra_args()
        args.page = query_int("page", 0)
        return args

    def get_url(self, endpoint: str, **kwargs) -> str:
        """The list's own links (its sort columns, pages and page sizes: some twenty a page)
        are the list's address, built once a request, and their arguments, as ``url_for``
        writes them; ``url_for`` would build the address from the URL map for each."""
        if endpoint != ".index_view":
            return super().get_url(endpoint, **kwargs)
        addresses = g.setdefault("list_addresses", {})
        address = addresses.get(self.endpoint)
        if address is None:
            address = addresses[self.endpoint] = url_for(".index_view")
        query = query_string(kwargs)
        return f"{address}?{query}" if query else address

    @action(
        "delete",
        admin_lazy_gettext("Delete"),
        admin_lazy_gettext("Are you sure you want to delete selected records?"),
    )
    def action_delete(self, ids):
        """Flask-Admin's bulk delete, given integer ids: psycopg 3 won't compare text to them."""
        return super().action_delete(row_ids(ids))

    def get_one(self, id):
        """A row outside ``scope()``, or an id no row can have, is simply not found."""
        row_id = parse_int(id, minimum=1)
        if row_id is None:
            abort(404)
        obj = self.scope(db.session.query(self.model)).filter(self.model.id == row_id).one_or_none()
        if obj is None:
            abort(404)
        return obj


class ShopScopedView(StaffOnly, BoundedModelView):
    """A model view that only ever shows or changes rows of shops where the user has the role.

    ``read_role`` may list and read a shop's rows here, ``change_role`` may create, edit and
    delete them and run the list's actions on them; both are checked per shop and per row
    (``tenancy.shops_for``). ``shop_column`` names how to reach the owning shop: the model's own
    ``shop_id`` by default; views of child rows set ``shop_join`` to the parent to join through.
    """

    shop_join = None
    page_size = 50
    can_view_details = True
    named_filter_urls = True
    read_role = "agent"
    change_role = "admin"

    def is_accessible(self) -> bool:
        return super().is_accessible() and self.readable_shop_ids() != []

    def readable_shop_ids(self) -> list[int] | None:
        """The shops whose rows the user reads here; ``None`` is every shop."""
        return tenancy.shops_for(current_user._get_current_object(), self.read_role)

    def changeable_shop_ids(self) -> list[int] | None:
        """The shops whose rows the user creates, edits, deletes and acts on here."""
        return tenancy.shops_for(current_user._get_current_object(), self.change_role)

    def may_change(self, shop_id: int | None) -> bool:
        return tenancy.is_among(shop_id, self.changeable_shop_ids())

    def shop_column(self):
        return (self.shop_join or self.model).shop_id

    def in_shops(self, query, shop_ids: list[int] | None):
        if self.shop_join is not None:
            query = query.join(self.shop_join)
        return tenancy.in_shops(query, self.shop_column(), shop_ids)

    def scope(self, query):
        """Only the rows the user may read."""
        return self.in_shops(query, self.readable_shop_ids())

    def changeable(self, query):
        """Only the rows the user may change."""
        return self.in_shops(query, self.changeable_shop_ids())

    def get_query(self):
        return self.scope(super().get_query())

    def get_count_query(self):
        return self.scope(super().get_count_query())

    def init_actions(self) -> None:
        """Every list action (delete included) runs on the ticked rows the user may change;
        the others are left out, whatever the form posted. (Flask-Admin keeps each action's
        handler in ``_actions_data``; each is wrapped once, here.)"""
        super().init_actions()
        self._actions_data = {
            name: (self.on_changeable_rows(handler), text, confirmation)
            for name, (handler, text, confirmation) in self._actions_data.items()
        }

    def on_changeable_rows(self, handler):
        @wraps(handler)
        def run(ids):
            return handler(self.changeable_ids(ids))

        return run

    def changeable_ids(self, ids) -> list[str]:
        query = self.changeable(db.session.query(self.model.id))
        return [str(row_id) for (row_id,) in query.filter(self.model.id.in_(row_ids(ids)))]

    def get_one(self, id):
        """A row of another shop is simply not found, whatever the URL says (``scope``); a row
        fetched to be changed (the edit page, any POST) must be of a shop where the user may
        change it."""
        obj = super().get_one(id)
        being_changed = request.method == "POST" or request.endpoint == f"{self.endpoint}.edit_view"
        if being_changed and not self.may_change(self.owning_shop_id(obj)):
            abort(403)
        return obj

    def may_edit(self) -> bool:
        """Whether to offer creating, editing and deleting at all; each row is checked too."""
        return self.changeable_shop_ids() != []

    @property
    def can_create(self) -> bool:
        return self.may_edit()

    @property
    def can_edit(self) -> bool:
        return self.may_edit()

    @property
    def can_delete(self) -> bool:
        return self.may_edit()

    def on_model_change(self, form, model, is_created) -> None:
        """Refuse to save a row into a shop where the user may not change rows."""
        if not self.may_change(self.owning_shop_id(model)):
            abort(403)

    def owning_shop_id(self, model) -> int | None:
        """The row's shop, as its form may just have set it: a newly chosen ``shop`` (not yet
        flushed into ``shop_id``), else ``shop_id``."""
        if self.shop_join is not None:
            parent = getattr(model, self.shop_join.__name__.lower(), None)
            return parent.shop_id if parent else None
        state = inspect(model)
        chosen = state.attrs.shop.history.added if "shop" in state.attrs else ()
        if chosen:
            return chosen[0].id if chosen[0] is not None else None
        return model.shop_id

    def scoped_shops(self) -> list[Shop]:
        """The shops a row may be put in: where the user may change rows."""
        return tenancy.shops_named(self.changeable_shop_ids())

    def create_form(self, obj=None):
        return self._limit_shop_choices(super().create_form(obj))

    def edit_form(self, obj=None):
        return self._limit_shop_choices(super().edit_form(obj))

    def _limit_shop_choices(self, form):
        if hasattr(form, "shop"):
            form.shop.query_factory = self.scoped_shops
        return form

    def handle_view_exception(self, exc: Exception) -> bool:
        """A refusal is an HTTP error, not a "failed to save" flash."""
        if isinstance(exc, HTTPException):
            raise exc
        return super().handle_view_exception(exc)
