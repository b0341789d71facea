"""Integration > Shop platforms: a shop admin connects the shop's Mollie account. The API key
is kept encrypted and never shown again; "Test connection" asks Mollie (its stand-in) and says
exactly what failed: a key that is no Mollie key, a key Mollie refuses, an address that is
not public."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask_babel import force_locale
from sqlalchemy import select, update

from domain import statuses
from extensions import db
from models import ShopConnection, User
from mollie_standin import API_KEY, running_mollie
from services.connectors import orders as connector_orders


@pytest.fixture
def mollie(app) -> Iterator[dict]:
    with running_mollie() as (url, state):
        app.config.update(MOLLIE_API_ENDPOINT=url, OUTBOUND_ALLOW_PRIVATE=True)
        yield state


def page_url(shop) -> str:
    return f"/admin/shop_connections/{shop.id}"


def save(client, shop, key: str):
    return client.post(f"{page_url(shop)}/mollie", data={"mollie-api_key": key})


def press_test_connection(client, shop) -> str:
    response = client.post(
        f"{page_url(shop)}/test", data={"platform": "mollie"}, follow_redirects=True
    )
    return response.get_data(as_text=True)


def stored_credentials() -> str:
    db.session.expire_all()
    return db.session.scalar(
        select(ShopConnection.credentials).where(ShopConnection.platform == "mollie")
    )


def test_admin_saves_the_key_encrypted_and_the_connection_works(client, auth, shop_staff, mollie):
    auth.login("admin@example.com")

    saved = save(client, shop_staff.shop, API_KEY)
    page = client.get(page_url(shop_staff.shop)).get_data(as_text=True)
    tested = press_test_connection(client, shop_staff.shop)

    assert saved.status_code == 302
    assert API_KEY not in stored_credentials() and API_KEY not in page
    assert "The Mollie connection of" in page and "was saved" in page
    assert "The connection works: Mollie accepted the API key." in tested
    assert ("GET", "/v2/payments", None) in mollie["calls"]
    # Mollie has no orders to sync: its section has no sync button
    assert tested.count("Sync orders now") == 0


def test_a_blank_key_keeps_the_saved_one_and_the_first_save_needs_one(
    client, auth, shop_staff, mollie
):
    auth.login("admin@example.com")

    first = save(client, shop_staff.shop, "")
    assert first.status_code == 200 and "Enter it once" in first.get_data(as_text=True)
    save(client, shop_staff.shop, API_KEY)
    assert save(client, shop_staff.shop, "").status_code == 302

    assert "The connection works" in press_test_connection(client, shop_staff.shop)


def test_a_key_that_is_no_mollie_key_is_refused_at_save(client, auth, shop_staff, mollie):
    auth.login("admin@example.com")

    response = save(client, shop_staff.shop, "sk_live_123")

    assert "A Mollie API key starts with test_ or live_." in response.get_data(as_text=True)
    assert db.session.scalar(select(ShopConnection)) is None


def test_test_connection_names_a_key_mollie_refuses(client, auth, shop_staff, mollie):
    auth.login("admin@example.com")
    save(client, shop_staff.shop, "test_wrongKeyAbCdEfGhIjKlMnOpQrStUvWx")

    page = press_test_connection(client, shop_staff.shop)

    assert (
        "The connection does not work: Mollie refused the API key (HTTP 401): "
        "Missing authentication, or failed to authenticate"
    ) in page


def test_test_connection_names_mollie_down_and_a_private_address(
    app, client, auth, shop_staff, mollie
):
    auth.login("admin@example.com")
    save(client, shop_staff.shop, API_KEY)
    mollie["answers"].append((503, "Service unavailable"))

    down = press_test_connection(client, shop_staff.shop)
    app.config["OUTBOUND_ALLOW_PRIVATE"] = False
    calls = len(mollie["calls"])
    private = press_test_connection(client, shop_staff.shop)

    assert "Mollie answered HTTP 503: Service unavailable" in down
    assert "The Mollie API address is refused" in private
    assert "127.0.0.1 is not a public address" in private
    assert len(mollie["calls"]) == calls  # never asked


def test_the_mollie_section_speaks_dutch(client, auth, shop_staff, mollie):
    db.session.execute(update(User).where(User.email == "admin@example.com").values(language="nl"))
    db.session.commit()
    auth.login("admin@example.com")
    save(client, shop_staff.shop, "test_wrongKeyAbCdEfGhIjKlMnOpQrStUvWx")

    page = press_test_connection(client, shop_staff.shop)

    assert "Mollie-koppeling" in page and "API-sleutel" in page
    assert "Mollie weigerde de API-sleutel (HTTP 401)" in page


@pytest.mark.parametrize("state", list(statuses.PROVIDER_REFUND_STATUS_LABELS))
def test_every_mollie_refund_status_has_dutch_words(app, state):
    english = str(statuses.PROVIDER_REFUND_STATUS_LABELS[state])
    with force_locale("nl"):
        dutch = str(statuses.PROVIDER_REFUND_STATUS_LABELS[state])
    assert dutch != english


def test_the_import_page_explains_the_mollie_payment_column(client, auth, shop_staff):
    auth.login("admin@example.com")

    page = client.get("/admin/order_import/").get_data(as_text=True)

    assert "<code>mollie_payment_id</code>" in page
    assert "The Mollie payment (tr_…) the order was paid with" in page


def test_mollie_has_no_orders_to_sync_or_look_up(app, client, auth, shop_staff, mollie):
    auth.login("admin@example.com")
    save(client, shop_staff.shop, API_KEY)
    calls = len(mollie["calls"])

    synced = app.test_cli_runner().invoke(args=["connectors", "sync"])
    found = connector_orders.fetch_missing_order(shop_staff.shop, "9999")

    assert "0 connections handed to the order sync" in synced.output
    assert found is False and len(mollie["calls"]) == calls
