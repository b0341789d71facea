"""Integration > Shop platforms: a shop's connection to its platform (WooCommerce), per shop.

The shop URL, consumer key and secret, and the webhook secret; the secrets are write-only
(the page says "saved", never shows them; a blank field keeps the saved one). "Test
connection" asks the platform something harmless and says exactly what failed; the page
shows the last sync. For the shop's admins and support only, like the API keys.
"""

from __future__ import annotations

from flask import abort, flash, redirect, url_for
from flask_admin import BaseView, expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import DataRequired, Length, ValidationError

from domain import links, tenancy
from domain.statuses import SYNC_STATE_BADGES, SYNC_STATE_LABELS, badge
from extensions import db
from models import Shop, ShopConnection
from services.connectors import connections, orders, woocommerce
from web.admin.base import StaffOnly, visible_shops

PLATFORM = "woocommerce"


def reachable_shop_url(_form, field) -> None:
    if field.data and (problem := woocommerce.address_problem(field.data.strip())):
        raise ValidationError(problem)


def plain(shop: Shop) -> dict:
    return {"id": shop.id, "name": shop.name, "slug": shop.slug}


class WooCommerceForm(FlaskForm):
    base_url = StringField(
        _l("Shop URL"),
        validators=[DataRequired(), Length(max=500), reachable_shop_url],
        description=_l("The address of the shop's home page, e.g. https://shop.example.nl."),
    )
    consumer_key = PasswordField(
        _l("Consumer key"),
        validators=[Length(max=200)],
        description=_l(
            "WooCommerce > Settings > Advanced > REST API: a key with Read/Write access "
            "(Write to send refunds and store credit)."
        ),
    )
    consumer_secret = PasswordField(_l("Consumer secret"), validators=[Length(max=200)])
    webhook_secret = PasswordField(
        _l("Webhook secret"),
        validators=[Length(max=200)],
        description=_l(
            "The secret of the webhooks (Order created, Order updated) you add in "
            "WooCommerce > Settings > Advanced > Webhooks."
        ),
    )
    restock_on_refund = BooleanField(
        _l("Put refunded items back in stock"),
        description=_l(
            "When ReturnDesk sends a refund to WooCommerce, WooCommerce adds the refunded "
            "items to its stock again."
        ),
    )


class ShopConnectionsView(StaffOnly, BaseView):
    """The platform connections of the shops the user administers (support: every shop)."""

    def is_accessible(self) -> bool:
        return super().is_accessible() and tenancy.shops_for(current_user, "admin") != []

    @expose("/")
    def index(self):
        shops = visible_shops("admin")
        if len(shops) == 1:
            return redirect(url_for(".edit", shop_id=shops[0].id))
        return self.render(
            "admin/shop_connections_list.html", shops=[plain(shop) for shop in shops]
        )

    @expose("/<int:shop_id>", methods=["GET", "POST"])
    def edit(self, shop_id: int):
        shop = self.shop_or_404(shop_id)
        connection = connections.connection_of(shop.id, PLATFORM)
        form = WooCommerceForm(
            data={
                "base_url": connection.base_url if connection else "",
                "restock_on_refund": connection.restock_on_refund if connection else True,
            }
        )
        if form.validate_on_submit() and self.has_both_keys(form, connection):
            connections.save_connection(
                shop.id,
                PLATFORM,
                form.base_url.data,
                {
                    "consumer_key": form.consumer_key.data or "",
                    "consumer_secret": form.consumer_secret.data or "",
                },
                form.webhook_secret.data or "",
                restock_on_refund=bool(form.restock_on_refund.data),
            )
            db.session.commit()
            flash(_("The WooCommerce connection of %(shop)s was saved.", shop=shop.name), "success")
            return redirect(url_for(".edit", shop_id=shop.id))
        state = connections.state_of(connection)
        return self.render(
            "admin/shop_connections.html",
            shop=plain(shop),
            form=form,
            state=state,
            sync_badge=badge(state.last_sync_state, SYNC_STATE_LABELS, SYNC_STATE_BADGES)
            if state and state.last_sync_state
            else None,
            webhook_url=links.absolute(
                url_for("platform_webhooks.order_webhook", shop_slug=shop.slug, platform=PLATFORM)
            ),
        )

    @expose("/<int:shop_id>/test", methods=["POST"])
    def test(self, shop_id: int):
        """Ask the platform for one order with the saved keys; say what failed, if anything."""
        connection = self.connection_or_404(shop_id)
        problem = orders.check_connection(connection)
        if problem:
            flash(_("The connection does not work: %(problem)s", problem=problem), "error")
        else:
            flash(_("The connection works: WooCommerce accepted the keys."), "success")
        return redirect(url_for(".edit", shop_id=shop_id))

    @expose("/<int:shop_id>/sync", methods=["POST"])
    def sync(self, shop_id: int):
        """Fetch the orders changed since the last sync now (a job)."""
        connection = self.connection_or_404(shop_id)
        orders.enqueue_sync(connection.id)
        flash(_("The order sync was started; this page shows its outcome."), "success")
        return redirect(url_for(".edit", shop_id=shop_id))

    def shop_or_404(self, shop_id: int) -> Shop:
        if not tenancy.may_touch(current_user, shop_id, "admin"):
            abort(404)
        shop = db.session.get(Shop, shop_id)
        if shop is None:
            abort(404)
        return shop

    def connection_or_404(self, shop_id: int) -> ShopConnection:
        self.shop_or_404(shop_id)
        connection = connections.connection_of(shop_id, PLATFORM)
        if connection is None:
            abort(404)
        return connection

    @staticmethod
    def has_both_keys(form: WooCommerceForm, connection: ShopConnection | None) -> bool:
        """A first save needs the key and the secret; later a blank one keeps the saved one."""
        state = connections.state_of(connection)
        missing = False
        for field, saved in (
            (form.consumer_key, state and state.consumer_key_saved),
            (form.consumer_secret, state and state.consumer_secret_saved),
        ):
            if not (field.data or "").strip() and not saved:
                field.errors = [*field.errors, _("Enter it once; it is kept encrypted.")]
                missing = True
        return not missing
