"""Orders from a shop's platform, the three ways they arrive, all through the CSV import's
upsert (``order_import.upsert_orders``) and all idempotent:

- ``receive_webhook``: the platform's order webhook, its signature checked before anything;
- ``sync_orders``: the incremental sync job, page by page from the saved cursor, which it saves
  after every page so a crash resumes where it stopped; the workers run it for every connection
  every ``CONNECTOR_SYNC_EVERY`` seconds (``sync_every_connection``, services/schedule.py);
- ``fetch_missing_order``: the portal's lookup of an order not imported yet.

An order is written only when the platform changed it after the version stored
(``Order.platform_modified_at``), so a replayed or late webhook never undoes a newer change.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select, update

from domain.submission_rules import aware
from extensions import db
from models import Order, Shop, ShopConnection, utcnow
from services import jobs, order_import
from services.connectors import ONE_ATTEMPT, QUICK, ConnectorError, PlatformOrder
from services.connectors.connections import connection_of
from services.connectors.registry import ORDER_PLATFORMS, connector_for
from services.encryption import UnreadableSecret

log = logging.getLogger(__name__)

# A sync stops after this many pages and goes on from its cursor next time; RQ stops a sync
# job after SYNC_JOB_TIMEOUT seconds (its cursor is saved after every page, so that is safe).
MAX_PAGES_PER_SYNC = 2000
SYNC_JOB_TIMEOUT = 3600


def save_platform_orders(shop_id: int, platform: str, orders: list[PlatformOrder]) -> int:
    """Upsert the orders ``platform`` changed after the versions stored, recording that they
    came from it; the caller commits. Returns how many were written."""
    newest: dict[str, PlatformOrder] = {}
    for platform_order in orders:
        kept = newest.get(platform_order.order.number)
        if kept is None or platform_order.modified_at > kept.modified_at:
            newest[platform_order.order.number] = platform_order
    rows = db.session.execute(
        select(Order.number, Order.platform_modified_at).where(
            Order.shop_id == shop_id, Order.number.in_(list(newest))
        )
    )
    stored = {number: modified_at for number, modified_at in rows}
    fresh = [
        platform_order
        for number, platform_order in newest.items()
        if is_newer(platform_order.modified_at, stored.get(number))
    ]
    if not fresh:
        return 0
    order_import.upsert_orders(shop_id, [platform_order.order for platform_order in fresh])
    for platform_order in fresh:
        db.session.execute(
            update(Order)
            .where(Order.shop_id == shop_id, Order.number == platform_order.order.number)
            .values(platform_modified_at=platform_order.modified_at, platform=platform)
        )
    return len(fresh)


def is_newer(modified_at: datetime, stored: datetime | None) -> bool:
    """Whether the platform's version is newer than the stored one (none stored: yes)."""
    return stored is None or modified_at > aware(stored)


def receive_webhook(
    shop_slug: str, platform: str, headers: Mapping[str, str], raw_body: bytes
) -> int:
    """Handle one order webhook; returns the HTTP status to answer (403: not signed by the
    platform with the shop's secret, and nothing was written)."""
    shop = db.session.scalar(select(Shop).where(Shop.slug == shop_slug))
    connection = connection_of(shop.id, platform) if shop else None
    if connection is None:
        return 404
    try:
        connector = connector_for(connection, ONE_ATTEMPT)
    except UnreadableSecret:
        log.exception("webhook for %s/%s: the saved secrets cannot be read", shop_slug, platform)
        return 503
    if not connector.verify_webhook(headers, raw_body):
        return 403
    try:
        platform_order = connector.parse_webhook_order(raw_body)
    except ConnectorError as error:
        log.warning("webhook for %s/%s not imported: %s", shop_slug, platform, error)
        return 200  # answering an error would only make the platform send it again
    if platform_order is not None:
        save_platform_orders(connection.shop_id, connection.platform, [platform_order])
        db.session.commit()
    return 200


def enqueue_sync(connection_id: int) -> None:
    """Hand the connection's order sync to the job runner, as a job named after it."""
    jobs.enqueue(
        "sync_orders",
        connection_id,
        job_id=f"sync-orders-{connection_id}",
        job_timeout=SYNC_JOB_TIMEOUT,
    )


def sync_every_connection() -> int:
    """Hand every platform connection's sync to the job runner: the scheduled catch-up of
    what a webhook missed. How many were handed over."""
    ids = db.session.scalars(
        select(ShopConnection.id)
        .where(ShopConnection.platform.in_(ORDER_PLATFORMS))
        .order_by(ShopConnection.id)
    ).all()
    for connection_id in ids:
        enqueue_sync(connection_id)
    return len(ids)


def sync_orders(connection_id: int) -> None:
    """Fetch the orders changed since the connection's cursor, page by page, committing each
    page with the cursor after it; the outcome (how many orders were new or changed, or what
    failed) is recorded on the connection for its Integration page."""
    connection = db.session.get(ShopConnection, connection_id)
    if connection is None:
        return
    connection.last_sync_at = utcnow()
    connection.last_sync_state = "running"
    connection.last_sync_error = None
    connection.last_sync_count = 0
    db.session.commit()
    try:
        skipped = walk_pages(connection)
    except (ConnectorError, UnreadableSecret) as error:
        db.session.rollback()
        record_outcome(connection, "failed", str(error))
        return
    record_outcome(connection, "ok", "\n".join(skipped) or None)


def walk_pages(connection: ShopConnection) -> list[str]:
    """Import page after page from the cursor; the orders that could not be read, with why."""
    connector = connector_for(connection)
    skipped: list[str] = []
    for _page in range(MAX_PAGES_PER_SYNC):
        page = connector.fetch_orders_since(connection.sync_cursor)
        written = save_platform_orders(connection.shop_id, connection.platform, page.orders)
        connection.sync_cursor = page.next_cursor
        connection.last_sync_count += written
        skipped.extend(page.skipped)
        db.session.commit()
        if not page.more:
            break
    return skipped


def record_outcome(connection: ShopConnection, state: str, error: str | None) -> None:
    connection.last_sync_at = utcnow()
    connection.last_sync_state = state
    connection.last_sync_error = error
    db.session.commit()


def fetch_missing_order(shop: Shop, number: str) -> bool:
    """Fetch an order the shop does not have yet from its platform and import it; whether
    that happened. A platform that is down or refuses is logged, never raised: the customer
    then gets the usual "not found"."""
    number = number.strip().lstrip("#").strip()
    spellings = {number, number.upper(), number.lower()}
    if not number or order_import.existing_order_numbers(shop.id, spellings):
        return False
    connection = db.session.scalar(
        select(ShopConnection)
        .where(
            ShopConnection.shop_id == shop.id,
            ShopConnection.platform.in_(ORDER_PLATFORMS),  # not Mollie: it has no orders
        )
        .order_by(ShopConnection.id)
        .limit(1)
    )
    if connection is None:
        return False
    try:
        platform_order = connector_for(connection, QUICK).fetch_order(number)
    except (ConnectorError, UnreadableSecret) as error:
        log.warning(
            "order %s of %s not fetched from %s: %s", number, shop.slug, connection.platform, error
        )
        return False
    if platform_order is None:
        return False
    save_platform_orders(shop.id, connection.platform, [platform_order])
    db.session.commit()
    return True


def check_connection(connection: ShopConnection) -> str | None:
    """What fails when ReturnDesk asks the platform something harmless, or ``None``."""
    try:
        connector_for(connection, ONE_ATTEMPT).test_connection()
    except ConnectorError as error:
        return str(error)
    except UnreadableSecret:
        return _(
            "The saved keys cannot be decrypted (was ENCRYPTION_KEY changed?). Enter them again."
        )
    return None
