"""The shops' platforms post their order webhooks here (``/connectors/<shop>/<platform>/orders``).

No session and no CSRF token: the platform signs each delivery with the shop's webhook
secret, and ``services.connectors.orders.receive_webhook`` checks that signature against the
raw body before it reads or writes anything.
"""

from __future__ import annotations

from flask import Blueprint, abort, request

from extensions import csrf
from services.connectors import orders, registry

bp = Blueprint("platform_webhooks", __name__, url_prefix="/connectors")
csrf.exempt(bp)


@bp.post("/<shop_slug>/<platform>/orders")
def order_webhook(shop_slug: str, platform: str):
    """An order was created or changed on the shop's platform."""
    if platform not in registry.PLATFORMS:
        abort(404)
    if request.mimetype == "application/x-www-form-urlencoded" and list(request.form) == [
        "webhook_id"
    ]:
        return "", 200  # WooCommerce pings the URL, unsigned, when a webhook is saved
    status = orders.receive_webhook(
        shop_slug, platform, request.headers, request.get_data(cache=False)
    )
    if status != 200:
        abort(status)
    return "", 200
