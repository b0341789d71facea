"""The workers catch what a platform's webhooks missed: a schedule hands every connected shop's
order sync to the job runner, so an order created while no webhook arrived still shows up."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from extensions import db
from models import Order
from services import schedule
from services.connectors import connections
from woocommerce_standin import CONSUMER_KEY, CONSUMER_SECRET, WEBHOOK_SECRET, woo_order

pytestmark = pytest.mark.shop(default_language="en")


def scheduled(name: str) -> schedule.Schedule:
    return next(s for s in schedule.schedules() if s.name == name)


def test_the_order_sync_is_scheduled_every_configured_period(app):
    app.config["CONNECTOR_SYNC_EVERY"] = 600
    assert scheduled("connector-sync").every == 600


def test_a_scheduled_run_imports_the_orders_no_webhook_brought(app, shop, woocommerce):
    url, state = woocommerce
    connections.save_connection(
        shop.id,
        "woocommerce",
        url,
        {"consumer_key": CONSUMER_KEY, "consumer_secret": CONSUMER_SECRET},
        WEBHOOK_SECRET,
    )
    db.session.commit()
    state["orders"] = [woo_order(n) for n in (2001, 2002)]

    assert scheduled("connector-sync").work() == 1

    db.session.expire_all()
    numbers = db.session.scalars(select(Order.number).order_by(Order.number)).all()
    assert numbers == ["2001", "2002"]
    assert connections.connection_of(shop.id, "woocommerce").last_sync_state == "ok"
