"""Admin screens of the integration with the webshop: API keys, webhooks, order import.

Keys and webhook secrets open a shop's data to other systems, so these screens are for the
shop's admins and support only, and each admin sees only the shops they administer.
"""

from __future__ import annotations

from flask import flash, g, redirect, request, session, url_for
from flask_admin import Admin, BaseView, expose
from flask_admin.actions import action
from flask_admin.menu import MenuLink
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select, update
from wtforms import SelectMultipleField
from wtforms.validators import URL, DataRequired, ValidationError

from domain import tenancy, webhook_events
from domain.statuses import WEBHOOK_DELIVERY_STATUS_BADGES, WEBHOOK_DELIVERY_STATUS_LABELS, badge
from extensions import db
from models import ApiKey, Shop, WebhookDelivery, WebhookEndpoint, utcnow
from services import import_previews, jobs, order_import, outbound, stores, webhooks
from web.admin.base import ShopScopedView, StaffOnly, row_ids, visible_shops
from web.admin.plain_rows import ShopChoice, shop_choices
from web.admin.shop_connections import ShopConnectionsView
from web.api import http
from web.int_args import parse_int

MAX_PREVIEW_ERRORS = 200
COLUMN_HELP = {
    "order_number": _l("The shop's order number; rows with the same number form one order."),
    "ordered_at": _l("Order date, e.g. 2026-03-01 or 2026-03-01T14:30:00+01:00 (UTC if no zone)."),
    "delivered_at": _l("Delivery date, same format; may be empty."),
    "customer_name": _l("Customer's name."),
    "customer_email": _l("Customer's email address."),
    "customer_postcode": _l("Postcode; may be empty."),
    "customer_country": _l("Two-letter country code, e.g. NL."),
    "customer_language": _l("nl or en."),
    "sku": _l("Article number."),
    "product_name": _l("Product name."),
    "variant": _l("Size or colour; may be empty."),
    "quantity": _l("Number of items, at least 1."),
    "unit_price": _l("Price of one item, e.g. 19.95."),
    "discount": _l("Discount on the whole line, e.g. 5.00; may be empty."),
    "image_url": _l("Product image URL (https://…); may be empty."),
    "mollie_payment_id": _l(
        "The Mollie payment (tr_…) the order was paid with, the same on each of its rows; "
        "with Mollie connected, its refunds go back through it. May be empty."
    ),
}


class ApiKeyView(ShopScopedView):
    """Create a key (shown once), see when each was last used, revoke it."""

    read_role = "admin"
    can_edit = False
    can_delete = False
    column_list = (
        "shop",
        "name",
        "prefix",
        "created_by",
        "created_at",
        "last_used_at",
        "revoked_at",
    )
    column_details_list = column_list
    column_default_sort = ("id", True)
    form_columns = ("shop", "name")
    column_labels = {
        "shop": _l("Shop"),
        "name": _l("Name"),
        "prefix": _l("Key starts with"),
        "created_by": _l("Created by"),
        "created_at": _l("Created"),
        "last_used_at": _l("Last used"),
        "revoked_at": _l("Revoked"),
    }
    column_descriptions = {"name": _l("What the key is for, e.g. the webshop's order sync.")}

    def on_model_change(self, form, model, is_created) -> None:
        super().on_model_change(form, model, is_created)
        if is_created:
            key, model.prefix, model.key_hash = http.new_key()
            model.created_by_id = current_user.id
            g.new_api_key = key

    def after_model_change(self, form, model, is_created) -> None:
        if is_created:
            key = g.pop("new_api_key")
            flash(_("Copy this API key now, it is not shown again: %(key)s", key=key), "success")

    @action(
        "revoke",
        _l("Revoke"),
        _l("Revoke the selected keys? Programs using them stop working at once."),
    )
    def action_revoke(self, ids: list[str]) -> None:
        keys = self.scope(db.session.query(ApiKey)).filter(
            ApiKey.id.in_(row_ids(ids)), ApiKey.revoked_at.is_(None)
        )
        key_ids = [key.id for key in keys]
        db.session.execute(update(ApiKey).where(ApiKey.id.in_(key_ids)).values(revoked_at=utcnow()))
        db.session.commit()
        flash(_("%(count)s keys revoked.", count=len(key_ids)), "success")


def public_target(_form, field) -> None:
    """A webhook URL must lead to the public internet, not to us or our private network."""
    if field.data and (reason := outbound.refusal(field.data)):
        raise ValidationError(reason)


class WebhookEndpointView(ShopScopedView):
    """The shop's receivers of events; the secret signs every delivery."""

    read_role = "admin"
    column_list = ("shop", "url", "events", "active", "created_at")
    column_details_list = ("shop", "url", "events", "active", "secret", "created_at")
    form_columns = ("shop", "url", "events", "active")
    form_overrides = {"events": SelectMultipleField}
    form_args = {
        "url": {"validators": [DataRequired(), URL(require_tld=False), public_target]},
        "events": {"choices": list(webhook_events.EVENTS)},
    }
    column_formatters = {"events": lambda v, c, m, p: ", ".join(m.events or [])}
    column_labels = {
        "shop": _l("Shop"),
        "url": _l("URL"),
        "events": _l("Events"),
        "active": _l("Active"),
        "secret": _l("Signing secret"),
        "created_at": _l("Created"),
    }
    column_descriptions = {
        "url": _l("Receives a signed POST for each chosen event (http or https)."),
        "secret": _l(
            "Check X-ReturnDesk-Signature: sha256= HMAC-SHA256 of "
            "'{X-ReturnDesk-Timestamp}.{body}' with this secret."
        ),
    }

    def on_model_change(self, form, model, is_created) -> None:
        super().on_model_change(form, model, is_created)
        model.events = [
            event for event in (form.events.data or []) if event in webhook_events.EVENTS
        ]


class WebhookDeliveryView(ShopScopedView):
    """Every webhook delivery with the receiver's response code; failed ones can be retried."""

    read_role = "admin"
    shop_join = WebhookEndpoint
    can_create = False
    can_edit = False
    can_delete = False
    column_list = (
        "created_at",
        "endpoint",
        "event",
        "status",
        "attempts",
        "last_status_code",
        "last_error",
        "delivered_at",
    )
    column_details_list = (*column_list, "payload")
    column_filters = ("status", "event", "last_status_code")
    column_default_sort = ("id", True)
    column_formatters = {
        "status": lambda v, c, m, p: badge(
            m.status, WEBHOOK_DELIVERY_STATUS_LABELS, WEBHOOK_DELIVERY_STATUS_BADGES
        )
    }
    column_formatters_detail = {
        "status": column_formatters["status"],
        "payload": lambda v, c, m, p: Markup("<pre>{}</pre>").format(webhooks.body_of(m).decode()),
    }
    column_labels = {
        "created_at": _l("Created"),
        "endpoint": _l("Endpoint"),
        "event": _l("Event"),
        "status": _l("Status"),
        "attempts": _l("Attempts"),
        "last_status_code": _l("Response code"),
        "last_error": _l("Last error"),
        "delivered_at": _l("Delivered"),
        "payload": _l("Payload"),
    }

    @action("retry", _l("Retry now"))
    def action_retry(self, ids: list[str]) -> None:
        deliveries = self.scope(db.session.query(WebhookDelivery)).filter(
            WebhookDelivery.id.in_(row_ids(ids)),
            WebhookDelivery.status.in_(("failed", "pending")),
        )
        delivery_ids = [d.id for d in deliveries]
        db.session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id.in_(delivery_ids))
            .values(status="pending")
        )
        db.session.commit()
        for delivery_id in delivery_ids:
            jobs.enqueue("deliver_webhooks", [delivery_id], job_id=f"webhook-{delivery_id}")
        flash(_("%(count)s deliveries handed to the job runner.", count=len(delivery_ids)))


class OrderImportView(StaffOnly, BaseView):
    """Upload a CSV of orders, see every bad row, then import (create or update by number).

    The upload waits in the file store between preview and import (``import_previews``); the
    session remembers which file and shop the user previewed, so the import cannot be pointed
    elsewhere.
    """

    def is_accessible(self) -> bool:
        return super().is_accessible() and tenancy.shops_for(current_user, "admin") != []

    @expose("/", methods=("GET",))
    def index(self):
        return self.render(
            "admin/order_import.html",
            shops=shop_choices(visible_shops("admin")),
            columns=order_import.CSV_COLUMNS,
            optional=order_import.OPTIONAL_COLUMNS,
            help=COLUMN_HELP,
            preview=None,
        )

    @expose("/preview", methods=("POST",))
    def preview(self):
        shop = self._chosen_shop(request.form.get("shop_id"))
        upload = request.files.get("file")
        if shop is None or upload is None or not upload.filename:
            flash(_("Choose a shop and a CSV file."), "error")
            return redirect(url_for(".index"))
        data = upload.read()
        try:
            parsed = order_import.parse_csv_bytes(data)
        except UnicodeDecodeError:
            flash(_("The file is not UTF-8 text. Save it as CSV (UTF-8) and try again."), "error")
            return redirect(url_for(".index"))
        try:
            token = import_previews.keep(data)
        except stores.StoreUnavailable:
            flash(_("The file could not be kept for the import. Please try again."), "error")
            return redirect(url_for(".index"))
        session["order_import"] = {"token": token, "shop_id": shop.id}
        existing = order_import.existing_order_numbers(shop.id, (o.number for o in parsed.orders))
        return self.render(
            "admin/order_import.html",
            shops=shop_choices(visible_shops("admin")),
            columns=order_import.CSV_COLUMNS,
            optional=order_import.OPTIONAL_COLUMNS,
            help=COLUMN_HELP,
            preview=parsed,
            errors=parsed.errors[:MAX_PREVIEW_ERRORS],
            shop=ShopChoice.of(shop),
            updated=len(existing),
            created=len(parsed.orders) - len(existing),
        )

    @expose("/import", methods=("POST",))
    def run_import(self):
        pending = session.pop("order_import", None)
        shop = self._chosen_shop(str(pending["shop_id"])) if pending else None
        data = import_previews.take(pending["token"]) if pending else None
        if shop is None or data is None:
            flash(_("Upload the file again; the preview has expired."), "error")
            return redirect(url_for(".index"))
        parsed = order_import.parse_csv_bytes(data)
        result = order_import.upsert_orders(shop.id, parsed.orders)
        db.session.commit()
        import_previews.forget(pending["token"])
        flash(
            _(
                "%(created)s orders created and %(updated)s updated for %(shop)s; "
                "%(skipped)s orders skipped because of errors.",
                created=result.created,
                updated=result.updated,
                shop=shop.name,
                skipped=len(parsed.skipped_orders),
            ),
            "success",
        )
        return redirect(url_for("orders.index_view"))

    def _chosen_shop(self, shop_id: str | None) -> Shop | None:
        number = parse_int(shop_id)
        if number is None or not tenancy.may_touch(current_user, number, "admin"):
            return None
        return db.session.scalar(select(Shop).where(Shop.id == number))


def register(admin: Admin) -> None:
    """Add the integration screens to the admin, under "Integration"."""
    category = _l("Integration")
    admin.add_link(MenuLink(name=_l("API documentation"), url="/api/v1/docs", category=category))
    admin.add_view(
        OrderImportView(name=_l("Import orders"), endpoint="order_import", category=category)
    )
    admin.add_view(
        ShopConnectionsView(
            name=_l("Shop platforms"), endpoint="shop_connections", category=category
        )
    )
    admin.add_view(
        ApiKeyView(ApiKey, db, name=_l("API keys"), endpoint="api_keys", category=category)
    )
    admin.add_view(
        WebhookEndpointView(
            WebhookEndpoint, db, name=_l("Webhooks"), endpoint="webhooks", category=category
        )
    )
    admin.add_view(
        WebhookDeliveryView(
            WebhookDelivery,
            db,
            name=_l("Webhook deliveries"),
            endpoint="webhook_deliveries",
            category=category,
        )
    )
