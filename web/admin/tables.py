"""Plain Flask-Admin tables: orders and review stages (per shop), shops and users (support)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import inspect

from domain import notices
from domain.formatting import TIME_ZONES
from extensions import db
from models import (
    OrderLine,
)
from web.admin.base import BoundedModelView, ShopScopedView, SupportOnly


class OrderView(ShopScopedView):
    column_list = (
        "number",
        "shop",
        "customer_name",
        "customer_email",
        "ordered_at",
        "delivered_at",
    )
    column_searchable_list = ("number", "customer_email", "customer_name")
    column_filters = ("delivered_at", "ordered_at")
    column_default_sort = ("ordered_at", True)
    form_excluded_columns = ("created_at",)
    inline_models = (
        (
            OrderLine,
            {
                "form_columns": (
                    "id",
                    "sku",
                    "product_name",
                    "variant",
                    "quantity",
                    "unit_price_cents",
                    "discount_cents",
                    "image_url",
                )
            },
        ),
    )
    column_labels = {
        "number": _l("Order number"),
        "shop": _l("Shop"),
        "customer_name": _l("Customer"),
        "customer_email": _l("Email"),
        "ordered_at": _l("Ordered"),
        "delivered_at": _l("Delivered"),
    }


class ReviewStageView(ShopScopedView):
    """The shop's own review stages: named steps inside the open statuses."""

    column_list = ("shop", "position", "name_nl", "name_en", "color")
    column_default_sort = "position"
    form_columns = ("shop", "name_nl", "name_en", "color", "position")
    column_labels = {
        "shop": _l("Shop"),
        "position": _l("Order"),
        "name_nl": _l("Name (Dutch)"),
        "name_en": _l("Name (English)"),
        "color": _l("Colour"),
    }
    column_formatters = {
        "color": lambda v, c, m, p: Markup(
            '<span class="badge" style="background:{0};color:#fff">{0}</span>'
        ).format(m.color)
    }


class ShopView(SupportOnly, BoundedModelView):
    column_list = ("slug", "name", "default_language", "return_window_days")
    form_excluded_columns = ("memberships", "created_at")
    form_choices = {"time_zone": [(zone, zone) for zone in TIME_ZONES]}

    def after_model_change(self, form, model, is_created) -> None:
        """A new shop starts with the founding document's example notice rule."""
        if is_created:
            notices.seed_default_rules(model)
            db.session.commit()


class UserView(SupportOnly, BoundedModelView):
    column_list = ("email", "name", "is_support", "active", "created_at")
    column_searchable_list = ("email", "name")
    form_columns = ("email", "name", "is_support", "active", "language")

    def on_model_change(self, form, model, is_created) -> None:
        """(De)activating a user or changing whether they are support logs them out everywhere."""
        attrs = inspect(model).attrs
        if not is_created and any(attrs[n].history.has_changes() for n in ("active", "is_support")):
            model.end_sessions()
