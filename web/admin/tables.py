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
from web.admin.base import BoundedModelView, ShopScopedView, SupportOnly, written_in


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
                ),
                "column_labels": {
                    "sku": _l("SKU"),
                    "product_name": _l("Product"),
                    "variant": _l("Variant"),
                    "quantity": _l("Quantity"),
                    "unit_price_cents": _l("Unit price (cents)"),
                    "discount_cents": _l("Discount (cents)"),
                    "image_url": _l("Image URL"),
                },
            },
        ),
    )
    column_labels = {
        "number": _l("Order number"),
        "shop": _l("Shop"),
        "customer_name": _l("Customer"),
        "customer_email": _l("Email"),
        "customer_postcode": _l("Postcode"),
        "customer_street": _l("Street and number"),
        "customer_city": _l("City"),
        "customer_country": _l("Country code"),
        "customer_language": _l("Customer language"),
        "ordered_at": _l("Ordered"),
        "delivered_at": _l("Delivered"),
        "created_at": _l("Created"),
        "currency": _l("Currency"),
        "lines": _l("Order lines"),
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
        "name_en": written_in("en"),
        "color": lambda v, c, m, p: Markup(
            '<span class="badge" style="background:{0};color:#fff">{0}</span>'
        ).format(m.color),
    }


class ShopView(SupportOnly, BoundedModelView):
    column_list = ("slug", "name", "default_language", "return_window_days")
    # The privacy settings are checked together (https, the books' minimum) on the shop's
    # settings page alone.
    form_excluded_columns = (
        "memberships",
        "created_at",
        "privacy_url",
        "anonymise_after_months",
        "books_retention_years",
        "books_need_customer",
    )
    column_labels = {
        "slug": _l("Name in links (slug)"),
        "name": _l("Shop name"),
        "logo_url": _l("Logo URL"),
        "brand_color": _l("Brand colour"),
        "languages": _l("Languages of the portal"),
        "default_language": _l("Default language"),
        "address_formally": _l("Address customers formally (u)"),
        "return_window_days": _l("Return window (days after delivery)"),
        "withdrawal_window_days": _l("Withdrawal period (days after delivery)"),
        "offered_resolutions": _l("Resolutions offered"),
        "free_shipping_resolutions": _l("Free return shipping for"),
        "return_fee_cents": _l("Return fee (cents)"),
        "return_fee_policy": _l("Return fee policy"),
        "currency": _l("Currency"),
        "notification_email": _l("Notify new requests to"),
        "support_email": _l("Support email"),
        "return_address_name": _l("Return address: name"),
        "return_address_street": _l("Street and number"),
        "return_address_postcode": _l("Postcode"),
        "return_address_city": _l("City"),
        "return_address_country": _l("Country code"),
        "hold_stale_hours": _l("Hold stale after (working hours)"),
        "time_zone": _l("Time zone"),
        "admins_edit_form": _l("Shop admins edit the return form"),
    }
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
    column_labels = {
        "email": _l("Email"),
        "name": _l("Name"),
        "is_support": _l("Platform support"),
        "active": _l("Active"),
        "created_at": _l("Created"),
        "language": _l("Language"),
    }

    def on_model_change(self, form, model, is_created) -> None:
        """(De)activating a user or changing whether they are support logs them out everywhere."""
        attrs = inspect(model).attrs
        if not is_created and any(attrs[n].history.has_changes() for n in ("active", "is_support")):
            model.end_sessions()
