"""Integration > Shop platforms: a shop's connection to its platform (WooCommerce or Shopify)
and to its Mollie account, per shop.

WooCommerce: the shop URL, consumer key and secret, and the webhook secret. Shopify: the
shop's myshopify.com domain, the app's Admin API access token and its secret (which signs
the webhooks). Mollie: the account's API key (``test_…`` or ``live_…``), for refunds through
the Mollie payment an order imported by CSV or API carries. The secrets are write-only
(the page says "saved", never shows them; a blank field keeps the saved one). "Test
connection" asks the platform something harmless and says exactly what failed; the page
shows the last sync. For the shop's admins and support only, like the API keys.
"""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import DataRequired, Length, Regexp, ValidationError

from domain import links, tenancy
from domain.statuses import SYNC_STATE_BADGES, SYNC_STATE_LABELS, badge
from extensions import db
from models import Shop, ShopConnection
from services.connectors import connections, mollie, orders, shopify, woocommerce
from web.admin.base import StaffOnly, visible_shops

PLATFORM = "woocommerce"
SHOPIFY = "shopify"
MOLLIE = "mollie"
PLATFORM_TITLES = {PLATFORM: "WooCommerce", SHOPIFY: "Shopify", MOLLIE: "Mollie"}


def reachable_shop_url(_form, field) -> None:
    if field.data and (problem := woocommerce.address_problem(field.data.strip())):
        raise ValidationError(problem)


def shopify_domain(_form, field) -> None:
    if field.data and (problem := shopify.scheme_problem(shopify.shop_url(field.data))):
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


class ShopifyForm(FlaskForm):
    shop_domain = StringField(
        _l("Shop domain"),
        validators=[DataRequired(), Length(max=200), shopify_domain],
        description=_l("The shop's myshopify.com domain, e.g. fenna-fashion.myshopify.com."),
    )
    access_token = PasswordField(
        _l("Admin API access token"),
        validators=[Length(max=200)],
        description=_l(
            "Shopify admin > Settings > Apps > Develop apps: an app with the scopes "
            "read_orders, write_orders and write_gift_cards; its Admin API access token."
        ),
    )
    app_secret = PasswordField(
        _l("App secret"),
        validators=[Length(max=200)],
        description=_l("The app's API secret key: Shopify signs the order webhooks with it."),
    )
    restock_on_refund = BooleanField(
        _l("Put refunded items back in stock"),
        description=_l(
            "When ReturnDesk sends a refund to Shopify, Shopify adds the refunded items to "
            "its stock again."
        ),
    )


class MollieForm(FlaskForm):
    api_key = PasswordField(
        _l("API key"),
        validators=[
            Length(max=200),
            Regexp(
                r"^\s*((live|test)_\w+)?\s*$",
                message=_l("A Mollie API key starts with test_ or live_."),
            ),
        ],
        description=_l(
            "Mollie Dashboard > Developers > API keys: the live key (test_ to try it out). "
            "Refunds go back through the Mollie payment an imported order carries "
            "(mollie_payment_id)."
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
        if (
            form.validate_on_submit()
            and self.has_both_keys(form, connection)
            and self.only_order_platform(shop, PLATFORM)
        ):
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
        return self.page(shop, form, shopify_form(shop.id))

    @expose("/<int:shop_id>/mollie", methods=["POST"])
    def edit_mollie(self, shop_id: int):
        """Save the shop's Mollie API key."""
        shop = self.shop_or_404(shop_id)
        form = MollieForm(prefix=MOLLIE)
        state = connections.state_of(connections.connection_of(shop.id, MOLLIE))
        if form.validate_on_submit() and self.has_api_key(form, state):
            connections.save_connection(
                shop.id, MOLLIE, mollie.api_endpoint(), {"api_key": form.api_key.data or ""}, ""
            )
            db.session.commit()
            flash(_("The Mollie connection of %(shop)s was saved.", shop=shop.name), "success")
            return redirect(url_for(".edit", shop_id=shop.id))
        return self.page(shop, woocommerce_form(shop.id), shopify_form(shop.id), form)

    @expose("/<int:shop_id>/shopify", methods=["POST"])
    def edit_shopify(self, shop_id: int):
        """Save the shop's Shopify connection."""
        shop = self.shop_or_404(shop_id)
        connection = connections.connection_of(shop.id, SHOPIFY)
        form = ShopifyForm(prefix=SHOPIFY)
        state = connections.state_of(connection)
        if (
            form.validate_on_submit()
            and self.has_token(form, state)
            and self.only_order_platform(shop, SHOPIFY)
        ):
            connections.save_connection(
                shop.id,
                SHOPIFY,
                shopify.shop_url(form.shop_domain.data),
                {"access_token": form.access_token.data or ""},
                form.app_secret.data or "",
                restock_on_refund=bool(form.restock_on_refund.data),
            )
            db.session.commit()
            flash(_("The Shopify connection of %(shop)s was saved.", shop=shop.name), "success")
            return redirect(url_for(".edit", shop_id=shop.id))
        return self.page(shop, woocommerce_form(shop.id), form)

    def page(
        self,
        shop: Shop,
        form: WooCommerceForm,
        shopify_form_: ShopifyForm,
        mollie_form: MollieForm | None = None,
    ):
        """The page with every platform's section."""
        return self.render(
            "admin/shop_connections.html",
            shop=plain(shop),
            titles=PLATFORM_TITLES,
            form=form,
            shopify_form=shopify_form_,
            mollie_form=mollie_form or MollieForm(prefix=MOLLIE, formdata=None),
            mollie_state=connections.state_of(connections.connection_of(shop.id, MOLLIE)),
            **section(shop, PLATFORM, ""),
            **section(shop, SHOPIFY, "shopify_"),
        )

    @expose("/<int:shop_id>/test", methods=["POST"])
    def test(self, shop_id: int):
        """Ask the platform something harmless with the saved keys; say what failed, if
        anything."""
        connection = self.connection_or_404(shop_id)
        problem = orders.check_connection(connection)
        if problem:
            flash(_("The connection does not work: %(problem)s", problem=problem), "error")
        elif connection.platform == SHOPIFY:
            flash(_("The connection works: Shopify accepted the access token."), "success")
        elif connection.platform == MOLLIE:
            flash(_("The connection works: Mollie accepted the API key."), "success")
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

    @expose("/<int:shop_id>/disconnect", methods=["POST"])
    def disconnect(self, shop_id: int):
        """Remove a platform connection and its secrets; the orders it brought stay."""
        connection = self.connection_or_404(shop_id)
        title = PLATFORM_TITLES[connection.platform]
        connections.disconnect(shop_id, connection.platform)
        db.session.commit()
        flash(
            _(
                "%(platform)s was disconnected; the orders it brought stay in ReturnDesk.",
                platform=title,
            ),
            "success",
        )
        return redirect(url_for(".edit", shop_id=shop_id))

    @staticmethod
    def only_order_platform(shop: Shop, platform: str) -> bool:
        """A shop connects to one order platform: saving a second is refused, saying which
        one is connected and how to disconnect it first."""
        other = connections.other_order_platform(shop.id, platform)
        if other is None:
            return True
        flash(
            _(
                "%(shop)s is already connected to %(other)s. A shop connects to one order "
                "platform, so ReturnDesk knows where its refunds go: disconnect %(other)s first "
                "(the Disconnect button in its section below), then connect %(platform)s.",
                shop=shop.name,
                other=PLATFORM_TITLES[other],
                platform=PLATFORM_TITLES[platform],
            ),
            "error",
        )
        return False

    def shop_or_404(self, shop_id: int) -> Shop:
        if not tenancy.may_touch(current_user, shop_id, "admin"):
            abort(404)
        shop = db.session.get(Shop, shop_id)
        if shop is None:
            abort(404)
        return shop

    def connection_or_404(self, shop_id: int) -> ShopConnection:
        self.shop_or_404(shop_id)
        platform = request.form.get("platform", PLATFORM)
        if platform not in PLATFORM_TITLES:
            abort(404)
        connection = connections.connection_of(shop_id, platform)
        if connection is None:
            abort(404)
        return connection

    @staticmethod
    def has_api_key(form: MollieForm, state: connections.ConnectionState | None) -> bool:
        """A first save needs the API key; later a blank one keeps the saved one."""
        if (form.api_key.data or "").strip() or (state and state.api_key_saved):
            return True
        form.api_key.errors = [*form.api_key.errors, _("Enter it once; it is kept encrypted.")]
        return False

    @staticmethod
    def has_token(form: ShopifyForm, state: connections.ConnectionState | None) -> bool:
        """A first save needs the access token; later a blank one keeps the saved one."""
        if (form.access_token.data or "").strip() or (state and state.access_token_saved):
            return True
        form.access_token.errors = [
            *form.access_token.errors,
            _("Enter it once; it is kept encrypted."),
        ]
        return False

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


def woocommerce_form(shop_id: int) -> WooCommerceForm:
    """The WooCommerce section's form, filled with what is saved (never a secret)."""
    connection = connections.connection_of(shop_id, PLATFORM)
    return WooCommerceForm(
        formdata=None,
        data={
            "base_url": connection.base_url if connection else "",
            "restock_on_refund": connection.restock_on_refund if connection else True,
        },
    )


def shopify_form(shop_id: int) -> ShopifyForm:
    """The Shopify section's form, filled with what is saved (never a secret)."""
    connection = connections.connection_of(shop_id, SHOPIFY)
    domain = connection.base_url.split("://", 1)[-1] if connection else ""
    return ShopifyForm(
        prefix=SHOPIFY,
        data={
            "shop_domain": domain,
            "restock_on_refund": connection.restock_on_refund if connection else True,
        },
        formdata=None,
    )


def section(shop: Shop, platform: str, prefix: str) -> dict:
    """What a platform's section shows: the saved state, the last sync and the webhook URL."""
    state = connections.state_of(connections.connection_of(shop.id, platform))
    return {
        f"{prefix}state": state,
        f"{prefix}sync_badge": badge(state.last_sync_state, SYNC_STATE_LABELS, SYNC_STATE_BADGES)
        if state and state.last_sync_state
        else None,
        f"{prefix}webhook_url": links.absolute(
            url_for("platform_webhooks.order_webhook", shop_slug=shop.slug, platform=platform)
        ),
    }
