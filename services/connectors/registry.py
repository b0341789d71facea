"""The platforms ReturnDesk connects to, by the name stored in ``ShopConnection.platform``,
and the one way to build a connection's connector from its decrypted credentials.

WooCommerce and Shopify are order platforms: the shop's orders come from them and a refund
goes back to the order. Mollie is a payment provider: the orders come by CSV or API, and a
refund goes back through the order's Mollie payment (``refund_reference``)."""

from __future__ import annotations

import json
from collections.abc import Callable

from models import Order, ShopConnection
from services import encryption
from services.connectors import Connector, FollowsRefunds, RetryPolicy
from services.connectors.mollie import Mollie, api_endpoint
from services.connectors.shopify import Shopify
from services.connectors.woocommerce import WooCommerce


def woocommerce(connection: ShopConnection, retry: RetryPolicy | None) -> Connector:
    credentials = json.loads(encryption.decrypt(connection.credentials or "") or "{}")
    return WooCommerce(
        base_url=connection.base_url,
        consumer_key=credentials.get("consumer_key", ""),
        consumer_secret=credentials.get("consumer_secret", ""),
        webhook_secret=encryption.decrypt(connection.webhook_secret)
        if connection.webhook_secret
        else None,
        language=connection.shop.default_language,
        retry=retry,
    )


def shopify(connection: ShopConnection, retry: RetryPolicy | None) -> Connector:
    credentials = json.loads(encryption.decrypt(connection.credentials or "") or "{}")
    return Shopify(
        base_url=connection.base_url,
        access_token=credentials.get("access_token", ""),
        app_secret=encryption.decrypt(connection.webhook_secret)
        if connection.webhook_secret
        else None,
        language=connection.shop.default_language,
        retry=retry,
    )


def mollie(connection: ShopConnection, retry: RetryPolicy | None) -> Mollie:
    credentials = json.loads(encryption.decrypt(connection.credentials or "") or "{}")
    return Mollie(api_key=credentials.get("api_key", ""), endpoint=api_endpoint(), retry=retry)


# Adding a platform: its module, a builder here, and its section in the Integration admin.
PLATFORMS: dict[str, Callable[[ShopConnection, RetryPolicy | None], Connector]] = {
    "woocommerce": woocommerce,
    "shopify": shopify,
    "mollie": mollie,
}
# The platforms the shop's orders come from (a refund goes back to the order there).
ORDER_PLATFORMS = ("woocommerce", "shopify")
MOLLIE = "mollie"


# How a platform is named to people (in a return's history, say).
PLATFORM_NAMES = {"woocommerce": "WooCommerce", "shopify": "Shopify", MOLLIE: "Mollie"}


def refund_reference(platform: str, order: Order) -> str:
    """What a platform refunds by: Mollie the order's payment, a shop platform its number."""
    return order.mollie_payment_id or "" if platform == MOLLIE else order.number


def follower_for(connection: ShopConnection) -> FollowsRefunds | None:
    """The connection's connector if it accepts refunds before paying them out (Mollie)."""
    return mollie(connection, None) if connection.platform == MOLLIE else None


def connector_for(connection: ShopConnection, retry: RetryPolicy | None = None) -> Connector:
    """The connector of ``connection``'s platform with its credentials (``retry``: how often
    to try a call, default from the configuration)."""
    return PLATFORMS[connection.platform](connection, retry)
