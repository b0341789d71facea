"""The platforms ReturnDesk connects to, by the name stored in ``ShopConnection.platform``,
and the one way to build a connection's connector from its decrypted credentials."""

from __future__ import annotations

import json
from collections.abc import Callable

from models import ShopConnection
from services import encryption
from services.connectors import Connector, RetryPolicy
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


# Adding a platform: its module, a builder here, and its section in the Integration admin.
PLATFORMS: dict[str, Callable[[ShopConnection, RetryPolicy | None], Connector]] = {
    "woocommerce": woocommerce,
}


# How a platform is named to people (in a return's history, say).
PLATFORM_NAMES = {"woocommerce": "WooCommerce"}


def connector_for(connection: ShopConnection, retry: RetryPolicy | None = None) -> Connector:
    """The connector of ``connection``'s platform with its credentials (``retry``: how often
    to try a call, default from the configuration)."""
    return PLATFORMS[connection.platform](connection, retry)
