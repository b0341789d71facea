"""Who may touch which shop: the one tenancy rule, and the one way to scope a query by it.

A staff user touches the shops where one of their memberships has the asked role or a
stronger one (``ROLES`` runs from strongest to weakest); support touches every shop, which
``shops_for`` answers with ``None``. An API key touches its own shop only. Every admin view,
export, the dashboard, the API, the file routes and bulk work ask ``shops_for`` and narrow
their queries with ``in_shops`` or ``of_shops``.
"""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import ColumnElement, select, true

from extensions import db
from models import ROLES, ApiKey, Shop, User

SUPPORT = "support"

Query = TypeVar("Query")


def shops_for(who: User | ApiKey, min_role: str = "agent") -> list[int] | None:
    """The ids of the shops ``who`` may touch with ``min_role`` or a stronger role; ``None``
    means every shop (support)."""
    if isinstance(who, ApiKey):
        return [who.shop_id]
    if who.is_support:
        return None
    needed = ROLES.index(min_role)
    return [m.shop_id for m in who.memberships if ROLES.index(m.role) <= needed]


def may_touch(who: User | ApiKey, shop_id: int | None, min_role: str = "agent") -> bool:
    """Whether ``who`` has ``min_role`` (or a stronger one) in the shop."""
    return is_among(shop_id, shops_for(who, min_role))


def is_among(shop_id: int | None, shop_ids: list[int] | None) -> bool:
    """Whether the shop is one of ``shop_ids`` (``None``: every shop)."""
    return shop_ids is None or shop_id in shop_ids


def is_admin_of(user: User, shop_id: int | None) -> bool:
    return may_touch(user, shop_id, "admin")


def role_in(user: User, shop_id: int) -> str | None:
    """The user's role in the shop (``support`` for support), ``None`` if they have none."""
    if user.is_support:
        return SUPPORT
    return next((m.role for m in user.memberships if m.shop_id == shop_id), None)


def of_shops(column, shop_ids: list[int] | None) -> ColumnElement[bool]:
    """A condition keeping the rows whose ``column`` (a shop id) is among ``shop_ids``;
    ``None`` keeps every row."""
    if shop_ids is None:
        return true()
    return column.in_(shop_ids)


def in_shops(query: Query, column, shop_ids: list[int] | None) -> Query:
    """``query`` (a ``select`` or an ORM ``Query``) narrowed to the rows of these shops."""
    if shop_ids is None:
        return query
    return query.where(column.in_(shop_ids))  # type: ignore[attr-defined]


def shop_names(shop_ids: list[int] | None) -> list[tuple[int, str]]:
    """The ids and names of these shops, by name (``None`` means every shop): what a shop
    chooser lists, without loading whole shops."""
    if shop_ids == []:
        return []
    query = select(Shop.id, Shop.name).order_by(Shop.name)
    return [
        (shop_id, name) for shop_id, name in db.session.execute(in_shops(query, Shop.id, shop_ids))
    ]


def shops_named(shop_ids: list[int] | None) -> list[Shop]:
    """These shops by name; ``None`` means every shop."""
    if shop_ids == []:
        return []  # no query for a user without a shop at this role (every menu check asks)
    return list(db.session.scalars(in_shops(select(Shop).order_by(Shop.name), Shop.id, shop_ids)))
