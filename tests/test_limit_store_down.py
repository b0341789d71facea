"""The rate-limit store (Redis) is down: customers and staff are still served, and the limits
still hold, counted in the process's memory meanwhile.

The same over HTTP against gunicorn, with a real Redis stopped and started again, is
``test_faults.test_portal_and_login_keep_working_while_redis_is_down``.
"""

from __future__ import annotations

import logging

import pytest

from app import create_app
from extensions import db, limiter
from factories import make_order, make_request, make_shop, make_user
from harness import FreshContextClient, app_config, empty_all_tables, free_port

FALLBACK_LOGGED = "falling back to in-memory storage"


@pytest.fixture
def app_without_limit_store(migrated, smtp_sink, tmp_path):
    """The app with its limits kept in a Redis nobody listens to."""
    config = app_config(migrated, smtp_sink, tmp_path / "storage")
    config["RATELIMIT_STORAGE_URI"] = f"redis://127.0.0.1:{free_port()}/0"
    app = create_app(config)
    app.test_client_class = FreshContextClient
    with app.app_context():
        yield app
        db.session.remove()
        empty_all_tables()
        db.engine.dispose()
    # Every app shares the one limiter and its "store is down" flag: the next test's app
    # starts on its own, live store.
    limiter._storage_dead = False


@pytest.fixture
def client(app_without_limit_store):
    return app_without_limit_store.test_client()


def lookup(client, number: str, secret: str):
    return client.post("/returns/demo/", data={"order_number": number, "email_or_postcode": secret})


def test_order_lookup_answers_and_still_limits_while_the_limit_store_is_down(client, caplog):
    shop = make_shop()
    order = make_order(shop, customer_email="sanne@example.nl")
    db.session.commit()

    with caplog.at_level(logging.WARNING, logger="flask-limiter"):
        found = lookup(client, order.number, "sanne@example.nl")
        wrong = [lookup(client, order.number, "raden@example.nl").status_code for _ in range(6)]

    assert found.status_code == 302
    assert wrong == [200] * 5 + [429]
    assert FALLBACK_LOGGED in caplog.text


def test_staff_login_and_customer_reply_work_while_the_limit_store_is_down(client):
    shop = make_shop()
    make_user("anna@example.com", shop)
    request = make_request(shop, language="en")
    db.session.commit()

    login = client.post("/login", data={"email": "anna@example.com", "password": "secret-pw"})
    assert login.status_code == 302
    assert client.get("/admin/").status_code == 200

    reply = client.post(
        f"/returns/demo/status/{request.public_token}/reply", data={"body": "Hier is de foto"}
    )
    assert reply.status_code == 302
    assert "Hier is de foto" in client.get(reply.location).get_data(as_text=True)
