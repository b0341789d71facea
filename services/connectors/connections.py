"""A shop's platform connections: saving the credentials encrypted, reading back only whether
they are saved, and re-encrypting them all under a new key (``flask connectors rotate-key``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from extensions import db
from models import ShopConnection
from services import encryption
from services.connectors.registry import ORDER_PLATFORMS


@dataclass(frozen=True)
class ConnectionState:
    """What the Integration page shows of a connection: never a secret, only whether it is
    saved, and the last sync."""

    base_url: str
    consumer_key_saved: bool
    consumer_secret_saved: bool
    access_token_saved: bool
    api_key_saved: bool
    webhook_secret_saved: bool
    last_sync_at: datetime | None
    last_sync_state: str | None
    last_sync_error: str | None
    last_sync_count: int


def connection_of(shop_id: int, platform: str) -> ShopConnection | None:
    return db.session.scalar(
        select(ShopConnection).where(
            ShopConnection.shop_id == shop_id, ShopConnection.platform == platform
        )
    )


def credentials_of(connection: ShopConnection) -> dict[str, str]:
    """The saved credentials; none when no configured key decrypts them any more (the page
    then asks for them again)."""
    text = readable(connection.credentials)
    return json.loads(text) if text else {}


def readable(token: str | None) -> str | None:
    """The secret in ``token``, or ``None`` when there is none or no key opens it."""
    if not token:
        return None
    try:
        return encryption.decrypt(token)
    except encryption.UnreadableSecret:
        return None


def state_of(connection: ShopConnection | None) -> ConnectionState | None:
    if connection is None:
        return None
    credentials = credentials_of(connection)
    return ConnectionState(
        base_url=connection.base_url,
        consumer_key_saved=bool(credentials.get("consumer_key")),
        consumer_secret_saved=bool(credentials.get("consumer_secret")),
        access_token_saved=bool(credentials.get("access_token")),
        api_key_saved=bool(credentials.get("api_key")),
        webhook_secret_saved=readable(connection.webhook_secret) is not None,
        last_sync_at=connection.last_sync_at,
        last_sync_state=connection.last_sync_state,
        last_sync_error=connection.last_sync_error,
        last_sync_count=connection.last_sync_count,
    )


def save_connection(
    shop_id: int,
    platform: str,
    base_url: str,
    secrets: dict[str, str],
    webhook_secret: str,
    restock_on_refund: bool | None = None,
) -> ShopConnection:
    """Create or update the shop's connection; a blank secret keeps the saved one (secrets are
    write-only on the page), as does ``restock_on_refund`` left ``None``. The caller commits."""
    connection = connection_of(shop_id, platform)
    if connection is None:
        connection = ShopConnection(
            shop_id=shop_id, platform=platform, last_sync_count=0, restock_on_refund=True
        )
        db.session.add(connection)
    if restock_on_refund is not None:
        connection.restock_on_refund = restock_on_refund
    connection.base_url = base_url.strip().rstrip("/")
    credentials = credentials_of(connection)
    credentials.update({name: value.strip() for name, value in secrets.items() if value.strip()})
    connection.credentials = encryption.encrypt(json.dumps(credentials))
    if webhook_secret.strip():
        connection.webhook_secret = encryption.encrypt(webhook_secret.strip())
    return connection


def other_order_platform(shop_id: int, platform: str) -> str | None:
    """The order platform (WooCommerce or Shopify) the shop is connected to other than
    ``platform``, if any. A shop has one: its refunds go back to the order there, and with two
    ReturnDesk could not tell which of them an order came from."""
    if platform not in ORDER_PLATFORMS:
        return None
    return db.session.scalar(
        select(ShopConnection.platform)
        .where(
            ShopConnection.shop_id == shop_id,
            ShopConnection.platform.in_(ORDER_PLATFORMS),
            ShopConnection.platform != platform,
        )
        .limit(1)
    )


def disconnect(shop_id: int, platform: str) -> bool:
    """Remove the shop's connection to ``platform`` with its secrets; the orders it brought
    stay. False when there was none. The caller commits."""
    connection = connection_of(shop_id, platform)
    if connection is None:
        return False
    db.session.delete(connection)
    return True


def rotate_keys() -> int:
    """Encrypt every stored secret again under the first ``ENCRYPTION_KEY``; the caller commits.
    Returns how many connections were rewritten."""
    connections = list(db.session.scalars(select(ShopConnection)))
    for connection in connections:
        if connection.credentials:
            connection.credentials = encryption.reencrypt(connection.credentials)
        if connection.webhook_secret:
            connection.webhook_secret = encryption.reencrypt(connection.webhook_secret)
    return len(connections)
